"""EncoderDecoder whose binary prediction is post-processed by triplet thresholding."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList

from mmchest.postprocessing.triplet_threshold import triplet_threshold
from mmchest.seg.metrics.siim_dice_metric import foreground_probability


@MODELS.register_module()
class TripletEncoderDecoder(EncoderDecoder):
    """mmseg ``EncoderDecoder`` with SIIM triplet thresholding at test time.

    With ``test_cfg=dict(..., triplet=dict(top_score_threshold=0.75, min_area=2000,
    bottom_threshold=0.4))`` the foreground probability map of each image (sigmoid of a
    one-channel head, or softmax class 1) at its original size is turned into the mask:
    empty unless at least ``min_area`` pixels exceed ``top_score_threshold``, else the pixels
    above ``bottom_threshold``. ``min_area`` counts original-resolution pixels. Without
    ``triplet`` it behaves exactly like ``EncoderDecoder`` (for a one-channel head that means
    ``decode_head.threshold``; set it explicitly, mmseg silently defaults it to 0.3).
    """

    def postprocess_result(self, seg_logits: torch.Tensor,
                           data_samples: OptSampleList = None) -> SampleList:
        data_samples = super().postprocess_result(seg_logits, data_samples)
        triplet: Optional[dict] = (self.test_cfg or {}).get('triplet')
        if not triplet:
            return data_samples
        for sample in data_samples:
            prob = foreground_probability(sample.seg_logits.data.float())
            sample.set_data({'pred_sem_seg': PixelData(data=triplet_mask(prob, triplet))})
        return data_samples


def triplet_mask(prob: torch.Tensor, triplet: dict) -> torch.Tensor:
    """The ``(1, H, W)`` int64 mask :func:`triplet_threshold` gives for an ``(H, W)``
    foreground probability map, on the map's device (``TripletEncoderDecoder`` and
    ``TripletSegTTAModel`` both post-process through it)."""
    mask = triplet_threshold(prob.detach().cpu().numpy(), **triplet)
    return torch.from_numpy(mask)[None].to(prob.device, torch.int64)
