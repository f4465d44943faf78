"""Choosing the RSNA box score threshold: the competition score and recall at each threshold.

A detector's boxes are kept when ``score > thr``, as in a submission. For each threshold
this module reports the RSNA competition score, the image-level "is there pneumonia"
precision/recall/F1 (an image is called positive when a kept box exists) and the box-level
recall (the share of ground-truth boxes that a kept box matches, greedily in score order,
with IoU above ``box_iou_thr``). Missed pneumonia is the costly error, so
:func:`highest_threshold_reaching` finds the highest threshold that still reaches a recall.
Framework-free: numpy arrays in, dicts out.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from .rsna_map import RSNA_IOU_THRESHOLDS, ImageResult, box_iou, count_greedy_matches, rsna_map
from .threshold_analysis import binary_stats, highest_threshold_meeting

__all__ = ['keep_above', 'image_max_scores', 'rsna_map_above', 'box_recall',
           'score_threshold_sweep', 'highest_threshold_reaching']


def keep_above(item: ImageResult, score_thr: float) -> ImageResult:
    """One image's ``(pred_boxes, pred_scores, gt_boxes)`` with only ``score > score_thr``."""
    boxes, scores, gt = item
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    keep = scores > score_thr
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[keep], scores[keep], gt


def image_max_scores(results: Sequence[ImageResult]) -> np.ndarray:
    """Each image's highest box score (0.0 without boxes): its "has pneumonia" score."""
    return np.array([np.max(s) if np.size(s) else 0.0 for _, s, _ in results],
                    dtype=np.float64)


def rsna_map_above(results: Sequence[ImageResult], score_thr: float,
                   iou_thrs: Sequence[float] = RSNA_IOU_THRESHOLDS) -> float:
    """The RSNA score when only boxes with ``score > score_thr`` are submitted.

    Args:
        results (Sequence[tuple]): Per image ``(pred_boxes (N,4), pred_scores (N,),
            gt_boxes (M,4))``, xyxy pixels.
        score_thr (float): Boxes with ``score > score_thr`` count.
        iou_thrs (Sequence[float]): IoU thresholds. Defaults to :data:`RSNA_IOU_THRESHOLDS`.

    Returns:
        float: See :func:`mmchest.evaluation.rsna_map.rsna_map` (NaN when no image counts).
    """
    return rsna_map([keep_above(item, score_thr) for item in results], thresholds=iou_thrs)


def box_recall(results: Sequence[ImageResult], score_thr: float,
               iou_thr: float = 0.4) -> float:
    """Share of ground-truth boxes matched by a prediction with ``score > score_thr``.

    Args:
        results (Sequence[tuple]): Per image ``(pred_boxes (N,4), pred_scores (N,),
            gt_boxes (M,4))``, xyxy pixels.
        score_thr (float): Predictions with ``score > score_thr`` are kept.
        iou_thr (float): A match needs IoU strictly above this (0.4: the lowest IoU of the
            competition metric). Defaults to 0.4.

    Returns:
        float: Matched / all ground-truth boxes, or NaN when there is no ground-truth box.
    """
    n_gt = n_tp = 0
    for item in results:
        boxes, scores, gt = keep_above(item, score_thr)
        gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
        n_gt += len(gt)
        if len(boxes) and len(gt):
            order = np.argsort(-scores, kind='stable')
            n_tp += count_greedy_matches(box_iou(boxes[order], gt), iou_thr)
    return n_tp / n_gt if n_gt else float('nan')


def score_threshold_sweep(results: Sequence[ImageResult],
                          score_thrs: Sequence[float],
                          iou_thrs: Sequence[float] = RSNA_IOU_THRESHOLDS,
                          box_iou_thr: float = 0.4) -> List[Dict[str, float]]:
    """The RSNA score, image-level and box-level stats at each box score threshold.

    Args:
        results (Sequence[tuple]): Per image ``(pred_boxes (N,4), pred_scores (N,),
            gt_boxes (M,4))``, xyxy pixels; images without ground truth have M = 0.
        score_thrs (Sequence[float]): Thresholds to try; boxes with ``score > thr`` count.
        iou_thrs (Sequence[float]): IoU thresholds of the RSNA score.
            Defaults to :data:`RSNA_IOU_THRESHOLDS`.
        box_iou_thr (float): IoU a box must exceed to count in ``box_recall``.
            Defaults to 0.4.

    Returns:
        list[dict]: One dict per threshold, in the given order, with ``score_thr``,
        ``rsna_mAP``, ``img_precision``, ``img_recall``, ``img_f1``, ``box_recall``,
        ``positives`` (images called positive) and ``boxes`` (kept boxes).
    """
    results = list(results)
    has_gt = np.array([len(np.asarray(gt).reshape(-1, 4)) > 0 for _, _, gt in results],
                      dtype=bool)
    max_scores = image_max_scores(results)
    rows = []
    for thr in (float(t) for t in score_thrs):
        kept = [keep_above(item, thr) for item in results]
        stats = binary_stats(max_scores, has_gt, thr)
        rows.append(dict(
            score_thr=thr,
            rsna_mAP=rsna_map(kept, thresholds=iou_thrs),
            img_precision=float(stats['precision']),
            img_recall=float(stats['recall']),
            img_f1=float(stats['f1']),
            box_recall=box_recall(kept, -np.inf, box_iou_thr),
            positives=int((max_scores > thr).sum()),
            boxes=int(sum(len(s) for _, s, _ in kept))))
    return rows


def highest_threshold_reaching(sweep: Sequence[Dict[str, float]], target: float,
                               key: str = 'img_recall') -> Optional[Dict[str, float]]:
    """The sweep row with the highest ``score_thr`` whose ``key`` is at least ``target``.

    Args:
        sweep (Sequence[dict]): Output of :func:`score_threshold_sweep`.
        target (float): The recall (or other ``key``) to reach, e.g. 0.9.
        key (str): Which column must reach it. Defaults to 'img_recall'.

    Returns:
        dict | None: That row, or None when no threshold reaches ``target``.
    """
    return highest_threshold_meeting(sweep, target, key=key, threshold_key='score_thr')
