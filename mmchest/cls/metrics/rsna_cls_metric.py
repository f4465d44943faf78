"""Image-level pneumonia metrics of a classifier: accuracy, ROC AUC and recall at thresholds.

The maths is :mod:`mmchest.evaluation.threshold_analysis` (numpy); this class only collects
each image's class probabilities and label.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS

from ...engine.bad_files import skipped_note
from ...evaluation.threshold_analysis import auc_recall_metrics, binary_stats
from ..datasets.rsna_cls import POSITIVE_CLASS

__all__ = ['RSNAClsMetric', 'POSITIVE_CLASSES']

#: Class names taken as the positive (pneumonia) class when ``positive_class`` is None.
POSITIVE_CLASSES = tuple(POSITIVE_CLASS.values())


@METRICS.register_module()
class RSNAClsMetric(BaseMetric):
    """Accuracy over all classes, plus pneumonia-vs-rest AUC and recall.

    The image's pneumonia score is the predicted probability of the positive class
    (``positive_class``, else whichever of :data:`POSITIVE_CLASSES` the dataset's classes
    hold: 'pneumonia' for ``target='binary'``, 'Lung Opacity' for ``target='detailed'``;
    else the second of two classes); the image is positive when
    its label is that class. Keys (prefix ``cls``): ``accuracy`` (arg-max class = label, in
    %, like mmpretrain's ``Accuracy``), ``auc`` (ROC AUC, Mann-Whitney; NaN with one class)
    and per threshold ``recall@<thr>`` and ``precision@<thr>`` (positive when the score is
    strictly above ``thr``).

    Args:
        recall_thrs (Sequence[float]): Thresholds of the recall/precision. Defaults to (0.5,).
        positive_class (str, optional): The pneumonia class name. Defaults to None (from
            the dataset).
        collect_device (str): See :class:`mmengine.evaluator.BaseMetric`. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None ('cls').
    """

    default_prefix: Optional[str] = 'cls'

    def __init__(self,
                 recall_thrs: Sequence[float] = (0.5, ),
                 positive_class: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.recall_thrs = tuple(float(t) for t in recall_thrs)
        self.positive_class = positive_class

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each image's class probabilities and label."""
        for sample in data_samples:
            score = sample['pred_score']
            label = sample['gt_label']
            self.results.append((np.asarray(score.detach().cpu(), dtype=np.float64).reshape(-1),
                                 int(np.asarray(label.cpu()).reshape(-1)[0])))

    def _positive_index(self, num_classes: int) -> int:
        meta = self.dataset_meta or {}
        classes = list(meta.get('classes') or [])
        name = self.positive_class or next(
            (c for c in POSITIVE_CLASSES if c in classes), None)
        if name is None:
            if num_classes == 2:
                return 1
            raise ValueError('RSNAClsMetric: set positive_class (the dataset names none)')
        if name not in classes:
            raise ValueError(f'RSNAClsMetric: positive_class {name!r} is not one of the '
                             f'classes {classes}')
        return classes.index(name)

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Reduce the kept scores to the metrics (see the class docstring)."""
        if not results:
            return dict(accuracy=float('nan'), auc=float('nan'))
        scores = np.stack([s for s, _ in results])
        labels = np.array([y for _, y in results], dtype=np.int64)
        pos = self._positive_index(scores.shape[1])
        score = scores[:, pos]
        is_pos = labels == pos
        out = dict(accuracy=float(100.0 * np.mean(scores.argmax(1) == labels)))
        out.update(auc_recall_metrics(score, is_pos, self.recall_thrs))
        for thr in self.recall_thrs:
            out[f'precision@{thr:g}'] = float(binary_stats(score, is_pos, thr)['precision'])
        print_log(f'RSNAClsMetric: {len(labels)} images, {int(is_pos.sum())} positive'
                  + skipped_note(self.dataset_meta), logger=MMLogger.get_current_instance())
        return out
