"""Segmentation inference (MMSegmentation configs of this project). Imports mmseg lazily."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .base_inferencer import ChestInferencer, ConfigLike
from .prediction import Prediction

__all__ = ['ChestSegInferencer', 'load_segmentor', 'probability_map']


def probability_map(sample: Any) -> np.ndarray:
    """Foreground probability ``(H, W)`` float32 of one predicted ``SegDataSample``.

    mmseg keeps sigmoid probabilities for a one-channel head and logits for a softmax head;
    both give the probability of class 1.
    """
    from mmchest.seg.metrics.siim_dice_metric import foreground_probability
    return foreground_probability(sample.seg_logits.data.float()).cpu().numpy()


class ChestSegInferencer(ChestInferencer):
    """Segmentation inferencer: masks (after the config's post-processing, e.g. SIIM triplet
    thresholding), probability maps and contour overlays.

    Arguments and errors as in :class:`~mmchest.apis.base_inferencer.ChestInferencer`
    (``model`` an mmseg config of this project), plus:

    Args:
        triplet (bool): Keep the config's triplet thresholding (``model.test_cfg.triplet``);
            False removes it, e.g. to search thresholds on raw probabilities.
            Defaults to True.
    """

    task = 'seg'
    default_scope = 'mmseg'

    def __init__(self, model: ConfigLike, weights: Optional[str] = None,
                 device: Optional[str] = None, cfg_options: Optional[dict] = None,
                 triplet: bool = True, **kwargs) -> None:
        self.triplet = triplet
        super().__init__(model, weights, device=device, cfg_options=cfg_options, **kwargs)

    def _prepare_cfg(self, cfg) -> None:
        if not self.triplet and cfg.model.get('test_cfg'):
            cfg.model.test_cfg.pop('triplet', None)

    def _build_model(self, cfg, weights: Optional[str], device: str):
        from mmseg.apis import init_model
        return init_model(cfg, weights, device=device)

    def _dataset_registry(self):
        from mmseg.registry import DATASETS
        return DATASETS

    def _to_prediction(self, source: str, image: np.ndarray, sample: Any) -> Prediction:
        prob = probability_map(sample)
        mask = (sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) > 0).astype(np.uint8)
        gt = (sample.gt_sem_seg.data[0].cpu().numpy() if 'gt_sem_seg' in sample else None)
        return Prediction(source=source, image=image,
                          probability=float(prob.max()) if prob.size else 0.0,
                          has_finding=bool(mask.any()), mask=mask, probability_map=prob,
                          gt_mask=gt)


def load_segmentor(config: ConfigLike, checkpoint: Optional[str] = None,
                   device: Optional[str] = None, cfg_options: Optional[dict] = None,
                   triplet: bool = True):
    """Build an mmseg model from a config and load its checkpoint (safe, must fit).

    Args:
        config (str | PathLike | Config): Config file.
        checkpoint (str, optional): Checkpoint; None keeps the initial weights.
        device (str, optional): ``'cuda:0'``, ``'cpu'``...; None picks CUDA when available.
        cfg_options (dict, optional): Overrides merged into the config.
        triplet (bool): Keep the config's triplet thresholding. Defaults to True.

    Returns:
        torch.nn.Module: The model in eval mode, with ``cfg`` and ``dataset_meta`` set.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the model; nothing is loaded.
    """
    return ChestSegInferencer(config, checkpoint, device=device, cfg_options=cfg_options,
                              triplet=triplet).model
