"""Detection inference (MMDetection configs of this project). Imports mmdet lazily."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .base_inferencer import ChestInferencer, ConfigLike
from .prediction import Prediction

__all__ = ['ChestDetInferencer', 'load_detector']


class ChestDetInferencer(ChestInferencer):
    """Detection inferencer: boxes and scores in original-image pixels, box overlays.

    Arguments and errors as in :class:`~mmchest.apis.base_inferencer.ChestInferencer`,
    ``model`` being an mmdet config of this project; ``Prediction.boxes`` holds the boxes
    with ``score > score_thr`` (default 0.5; ``all_boxes`` all of them), and ``has_finding``
    is set when there is one.
    """

    task = 'det'
    default_scope = 'mmdet'

    def _build_model(self, cfg, weights: Optional[str], device: str):
        from mmdet.apis import init_detector
        return init_detector(cfg, weights, device=device)

    def _dataset_registry(self):
        from mmdet.registry import DATASETS
        return DATASETS

    def _to_prediction(self, source: str, image: np.ndarray, sample: Any) -> Prediction:
        pred = sample.pred_instances
        boxes = pred.bboxes.cpu().numpy().reshape(-1, 4)
        scores = pred.scores.cpu().numpy().reshape(-1)
        order = np.argsort(-scores, kind='stable')
        boxes, scores = boxes[order], scores[order]
        keep = scores > self.score_thr
        gt_instances = sample.get('gt_instances', None)
        gt = (gt_instances.bboxes.cpu().numpy().reshape(-1, 4)
              if gt_instances is not None and 'bboxes' in gt_instances else None)
        return Prediction(source=source, image=image,
                          probability=float(scores.max()) if len(scores) else 0.0,
                          has_finding=bool(keep.any()), boxes=boxes[keep], scores=scores[keep],
                          all_boxes=boxes, all_scores=scores, gt_boxes=gt)


def load_detector(config: ConfigLike, checkpoint: Optional[str] = None, device: str = 'cpu',
                  cfg_options: Optional[dict] = None):
    """Build the detector of ``config`` with the weights of ``checkpoint`` (safe, must fit).

    Args:
        config (str | PathLike | Config): mmdet config file.
        checkpoint (str, optional): Checkpoint file; None keeps the initial weights.
        device (str): e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config, as
            ``--cfg-options`` does. Defaults to None.

    Returns:
        The model in eval mode; its config is ``model.cfg``. mmdet's default scope is set.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the model; nothing is loaded.
    """
    return ChestDetInferencer(config, checkpoint, device=device, cfg_options=cfg_options).model
