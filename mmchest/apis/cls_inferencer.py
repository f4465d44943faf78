"""Classification inference (MMPretrain configs of this project). Imports mmpretrain lazily."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .base_inferencer import ChestInferencer
from .prediction import Prediction

__all__ = ['ChestClsInferencer']


class ChestClsInferencer(ChestInferencer):
    """Image-level classifier: class probabilities and the pneumonia probability.

    ``Prediction.probability`` is the probability of the positive class ('pneumonia' for
    ``target='binary'``, 'Lung Opacity' for ``target='detailed'``, else the second of two
    classes), ``has_finding`` is ``probability > score_thr`` and ``class_scores`` holds all
    class probabilities; in dataset mode ``extra['gt_label']`` is the image's label.

    Arguments and errors as in :class:`~mmchest.apis.base_inferencer.ChestInferencer`,
    ``model`` being an mmpretrain config of this project and ``score_thr`` (default 0.5) the
    decision threshold on the probability.
    """

    task = 'cls'
    default_scope = 'mmpretrain'

    def _prepare_cfg(self, cfg) -> None:
        from mmchest.cls.datasets.rsna_cls import POSITIVE_CLASS, RSNA_CLS_CLASSES
        ds = cfg.test_dataloader.dataset
        target = ds.get('target', 'binary') if ds.get('type') == 'RSNAClassificationDataset' \
            else None
        self.classes: Optional[Tuple[str, ...]] = RSNA_CLS_CLASSES.get(target)
        self.positive_index = (self.classes.index(POSITIVE_CLASS[target]) if self.classes
                               else 1)

    def _build_model(self, cfg, weights: Optional[str], device: str):
        from mmpretrain.apis import get_model

        import mmchest.cls  # noqa: F401  (registers the dataset and metric)
        model = get_model(cfg, pretrained=weights or False, device=device)
        model.cfg = cfg
        return model.eval()

    def _dataset_registry(self):
        from mmpretrain.registry import DATASETS
        return DATASETS

    def _to_prediction(self, source: str, image: np.ndarray, sample: Any) -> Prediction:
        scores = sample.pred_score.detach().float().cpu().numpy().reshape(-1)
        prob = float(scores[self.positive_index]) if scores.size > self.positive_index else 0.0
        extra = {}
        if 'gt_label' in sample:
            extra['gt_label'] = int(sample.gt_label.reshape(-1)[0])
        return Prediction(source=source, image=image, probability=prob,
                          has_finding=prob > self.score_thr, class_scores=scores, extra=extra)
