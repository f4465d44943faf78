"""Test-time augmentation for the segmentation models: average probabilities, then decide."""
from __future__ import annotations

from typing import List, Optional

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList

from .triplet_encoder_decoder import triplet_mask

__all__ = ['TripletSegTTAModel']


def class_probabilities(seg_logits: torch.Tensor) -> torch.Tensor:
    """``(C, H, W)`` class probabilities from mmseg's ``seg_logits`` of one image.

    mmseg's ``postprocess_result`` stores sigmoid probabilities for a one-channel head
    (``(1, H, W)``, returned as they are) and raw logits for a softmax head (softmaxed here).
    """
    if seg_logits.shape[0] == 1:
        return seg_logits
    return seg_logits.softmax(dim=0)


@MODELS.register_module()
class TripletSegTTAModel(BaseTTAModel):
    """Merge the views of ``tta_pipeline`` by averaging probabilities, then post-process.

    Each view's prediction comes back from the wrapped model (``EncoderDecoder``'s
    ``postprocess_result``) flipped back and resized to the original image, so the views
    line up pixel by pixel. Their class probabilities (the sigmoid of a one-channel head, the
    softmax of a multi-class one) are averaged, and the average is turned into the mask the
    way the model itself would: SIIM triplet thresholding when ``model.test_cfg.triplet``
    is set (:func:`mmchest.seg.models.triplet_encoder_decoder.triplet_mask`, the function
    ``TripletEncoderDecoder`` uses), otherwise ``decode_head.threshold`` (one channel) or the
    arg-max (several). The merged sample keeps the first view's meta (paths, original
    shape, dataset keys such as ``expert_mask_paths``) and ground truth, marked unflipped;
    its ``seg_logits`` follow mmseg's convention (probabilities for one channel, log
    probabilities otherwise), so ``SIIMDiceMetric`` reads the averaged probability.

    mmseg's ``SegTTAModel`` is not used: for a one-channel head it applies the sigmoid a
    second time to the probabilities mmseg stores (everything ends above 0.5) and it knows
    nothing of the triplet.

    Args:
        module (dict | nn.Module): The segmentor (``mim test --tta`` sets it to ``model``).
        data_preprocessor (dict, optional): Unused by the views (each goes through the
            wrapped model's own preprocessor). Defaults to None.
    """

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merge each image's views into one prediction.

        Args:
            data_samples_list (list[list[SegDataSample]]): Per image, its views.

        Returns:
            list[SegDataSample]: One merged prediction per image.
        """
        return [self._merge(samples) for samples in data_samples_list]

    def _merge(self, samples: SampleList) -> SegDataSample:
        probs = torch.stack([class_probabilities(s.seg_logits.data.float()) for s in samples])
        mean = probs.mean(dim=0)
        triplet: Optional[dict] = (getattr(self.module, 'test_cfg', None) or {}).get('triplet')
        if mean.shape[0] == 1:
            foreground, seg_logits = mean[0], mean
        else:
            foreground, seg_logits = mean[1], mean.clamp_min(1e-12).log()
        if triplet:
            pred = triplet_mask(foreground, triplet)
        elif mean.shape[0] == 1:
            pred = (mean > self.module.decode_head.threshold).to(torch.int64)
        else:
            pred = mean.argmax(dim=0, keepdim=True)
        merged = SegDataSample(metainfo=dict(samples[0].metainfo, flip=False,
                                             flip_direction=None))
        merged.set_data({'seg_logits': PixelData(data=seg_logits),
                         'pred_sem_seg': PixelData(data=pred)})
        if 'gt_sem_seg' in samples[0]:
            merged.gt_sem_seg = samples[0].gt_sem_seg
        return merged
