"""The SIIM-ACR competition score and image-level pneumothorax detection stats."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmseg.registry import METRICS

from mmchest.engine.bad_files import skipped_note
from mmchest.evaluation.dice import dice_score, iou_score
from mmchest.evaluation.image_level import binary_stats
from mmchest.evaluation.threshold_analysis import auc_recall_metrics


def foreground_probability(seg_logits: torch.Tensor) -> torch.Tensor:
    """Per-pixel foreground probability from mmseg's ``seg_logits`` of one image.

    mmseg stores sigmoid probabilities for a one-channel (binary) head and raw logits for a
    softmax head; this returns ``(H, W)`` probabilities in both cases.
    """
    if seg_logits.shape[0] == 1:
        return seg_logits[0]
    return seg_logits.softmax(dim=0)[1]


@METRICS.register_module()
class SIIMDiceMetric(BaseMetric):
    """Mean per-image Dice (the SIIM-ACR score) plus image-level detection stats.

    For each image: Dice of the predicted vs ground-truth mask, where empty-vs-empty scores
    1 and empty-vs-non-empty 0; the image's pneumothorax score is its maximum foreground
    probability. ``compute_metrics`` reports:

    - ``siim/dice``: mean of per-image Dice (the competition metric);
    - ``siim/iou``: mean of per-image IoU (same empty convention);
    - ``siim/precision``, ``siim/recall``, ``siim/f1`` of "has pneumothorax": by default an
      image is called positive when its predicted mask is non-empty, i.e. the decision the
      model's post-processing (e.g. triplet thresholding) really made; with
      ``score_threshold`` set, when its max probability exceeds that threshold instead;
    - ``siim/auc``: ROC-AUC of the max probability (NaN when one class is absent);
    - ``siim/recall@<t>`` for each ``t`` of ``recall_thrs``: recall when an image is called
      positive because its max probability is ``> t`` (the same keys as ``cls/`` and ``rsna/``).

    Pixels equal to ``ignore_index`` in the ground truth are ignored. mmseg's dataset-wide
    ``IoUMetric`` can be listed beside it in ``val_evaluator``.

    Args:
        score_threshold (float, optional): Threshold on the max probability for the
            image-level stats; None uses "predicted mask is non-empty". Defaults to None.
        ignore_index (int): Ground-truth value to ignore. Defaults to 255.
        recall_thrs (Sequence[float]): Thresholds of ``siim/recall@<t>``. Defaults to (0.5,).
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'siim'``.
    """

    default_prefix: Optional[str] = 'siim'

    def __init__(self, score_threshold: Optional[float] = None, ignore_index: int = 255,
                 recall_thrs: Sequence[float] = (0.5, ), collect_device: str = 'cpu',
                 prefix: Optional[str] = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        self.score_threshold = score_threshold
        self.ignore_index = ignore_index
        self.recall_thrs = tuple(float(t) for t in recall_thrs)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0)
            gt = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
            valid = gt != self.ignore_index
            pred_np = ((pred > 0) & valid).cpu().numpy()
            gt_np = ((gt > 0) & valid).cpu().numpy()
            if 'seg_logits' in sample:
                prob = foreground_probability(sample['seg_logits']['data'].float())
                score = float((prob * valid).max()) if valid.any() else 0.0
            else:  # no probabilities: the predicted mask is the score
                score = float(pred_np.any())
            self.results.append((dice_score(pred_np, gt_np), iou_score(pred_np, gt_np),
                                 score, bool(gt_np.any()), bool(pred_np.any())))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        dice, iou, scores, has_gt, has_pred = (np.asarray(col) for col in zip(*results))
        if self.score_threshold is None:
            stats = binary_stats(has_pred.astype(float), has_gt, 0.5)
        else:
            stats = binary_stats(scores, has_gt, self.score_threshold)
        metrics = dict(dice=float(dice.mean()), iou=float(iou.mean()),
                       precision=stats['precision'], recall=stats['recall'], f1=stats['f1'])
        metrics.update(auc_recall_metrics(scores.astype(float), has_gt, self.recall_thrs))
        MMLogger.get_current_instance().info(
            f'SIIM: {len(dice)} images, {int(has_gt.sum())} with pneumothorax; '
            f'dice on positives {dice[has_gt].mean() if has_gt.any() else float("nan"):.4f}, '
            f'on negatives {dice[~has_gt].mean() if (~has_gt).any() else float("nan"):.4f}'
            f'{skipped_note(self.dataset_meta)}')
        return metrics
