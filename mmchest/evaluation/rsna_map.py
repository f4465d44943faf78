"""RSNA Pneumonia Detection competition metric, and image-level detection stats.

Boxes are ``(x1, y1, x2, y2)`` floats in pixels, continuous coordinates:
``area = (x2 - x1) * (y2 - y1)`` with no ``+1``.

Per image and per IoU threshold ``t`` (0.40, 0.45, ..., 0.75): predictions are visited in
descending score order (ties keep input order) and each is matched to the still-unmatched
ground-truth box with the highest IoU, provided that IoU is *strictly greater* than ``t``
(the competition's wording: "a hit if its IoU with a ground-truth object is greater than the
threshold"). Then ``precision(t) = TP / (TP + FP + FN)`` and the image scores the mean over the
thresholds. An image with neither ground truth nor predictions is left out of the mean; one
with ground truth and no predictions scores 0 (all FN); one with predictions and no ground
truth scores 0 (all FP). The dataset score is the mean over the images that count.

Note: a widely copied Kaggle kernel loops over ground-truth boxes instead and uses
``iou >= t``; results can differ when an IoU lands exactly on a threshold.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .image_level import binary_stats

__all__ = [
    'RSNA_IOU_THRESHOLDS', 'box_iou', 'rsna_image_precision', 'count_greedy_matches',
    'rsna_per_image_precisions', 'rsna_map', 'image_level_detection_stats'
]

#: IoU thresholds of the RSNA metric, written as literals so that 0.5 and 0.75 are exact.
RSNA_IOU_THRESHOLDS: Tuple[float, ...] = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)

ImageResult = Tuple[np.ndarray, np.ndarray, np.ndarray]


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    """Return ``boxes`` as a float64 (N, 4) array of valid xyxy boxes, or raise."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        return b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f'{name}: expected shape (N, 4) xyxy, got {b.shape}')
    bad = np.flatnonzero(~np.isfinite(b).all(axis=1))
    if bad.size:
        raise ValueError(f'{name}: box {int(bad[0])} has a non-finite coordinate: {b[bad[0]]}')
    bad = np.flatnonzero((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1]))
    if bad.size:
        raise ValueError(f'{name}: box {int(bad[0])} has x2 < x1 or y2 < y1 (need xyxy): '
                         f'{b[bad[0]]}')
    return b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of xyxy boxes.

    Args:
        a (np.ndarray): Shape (N, 4), xyxy pixels.
        b (np.ndarray): Shape (M, 4), xyxy pixels.

    Returns:
        np.ndarray: Shape (N, M) float64. A pair whose union is zero (two degenerate boxes)
        has IoU 0.
    """
    a = _as_boxes(a, 'a')
    b = _as_boxes(b, 'b')
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _check_thresholds(thresholds: Sequence[float]) -> Tuple[float, ...]:
    ts = tuple(float(t) for t in thresholds)
    if not ts:
        raise ValueError('thresholds is empty')
    for t in ts:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f'IoU threshold {t!r} is outside [0, 1]')
    return ts


def rsna_image_precision(pred_boxes: np.ndarray,
                         pred_scores: np.ndarray,
                         gt_boxes: np.ndarray,
                         thresholds: Sequence[float] = RSNA_IOU_THRESHOLDS) -> Optional[float]:
    """RSNA score of one image: mean over IoU thresholds of TP / (TP + FP + FN).

    Args:
        pred_boxes (np.ndarray): Shape (N, 4) xyxy predicted boxes (N may be 0).
        pred_scores (np.ndarray): Shape (N,) confidences; higher is matched first.
        gt_boxes (np.ndarray): Shape (M, 4) xyxy ground-truth boxes (M may be 0).
        thresholds (Sequence[float]): IoU thresholds; a match needs ``iou > t``.
            Defaults to :data:`RSNA_IOU_THRESHOLDS`.

    Returns:
        float | None: The image score in [0, 1], or None when the image has neither
        ground truth nor predictions (it is left out of the dataset mean).
    """
    ts = _check_thresholds(thresholds)
    pb = _as_boxes(pred_boxes, 'pred_boxes')
    gb = _as_boxes(gt_boxes, 'gt_boxes')
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(pb):
        raise ValueError(f'got {len(pb)} pred_boxes but {len(scores)} pred_scores')
    if np.isnan(scores).any():
        raise ValueError(f'pred_scores[{int(np.flatnonzero(np.isnan(scores))[0])}] is NaN')
    n_pred, n_gt = len(pb), len(gb)
    if n_pred == 0 and n_gt == 0:
        return None
    if n_pred == 0 or n_gt == 0:
        return 0.0
    order = np.argsort(-scores, kind='stable')
    ious = box_iou(pb[order], gb)  # rows in matching order
    total = 0.0
    for t in ts:
        tp = count_greedy_matches(ious, t)
        fp = n_pred - tp
        fn = n_gt - tp
        total += tp / (tp + fp + fn)
    return total / len(ts)


def count_greedy_matches(ious: np.ndarray, iou_thr: float) -> int:
    """Number of true positives when predictions are matched greedily, in row order.

    Args:
        ious (np.ndarray): Shape (N, M) IoU of N predictions (rows, already in descending
            score order) with M ground-truth boxes.
        iou_thr (float): A prediction matches the still-unmatched ground-truth box with the
            highest IoU, if that IoU is strictly greater than ``iou_thr``.

    Returns:
        int: How many ground-truth boxes were matched.
    """
    matched = np.zeros(ious.shape[1], dtype=bool)
    tp = 0
    for row in ious:
        cand = np.where(~matched & (row > iou_thr), row, -1.0)
        if cand.size == 0:
            break
        j = int(np.argmax(cand))
        if cand[j] > iou_thr:
            matched[j] = True
            tp += 1
    return tp


def rsna_per_image_precisions(
        results: Iterable[ImageResult],
        thresholds: Sequence[float] = RSNA_IOU_THRESHOLDS) -> List[Optional[float]]:
    """:func:`rsna_image_precision` of each ``(pred_boxes, pred_scores, gt_boxes)`` tuple.

    Args:
        results (Iterable[tuple]): Per image ``(pred_boxes (N,4), pred_scores (N,),
            gt_boxes (M,4))``.
        thresholds (Sequence[float]): IoU thresholds. Defaults to :data:`RSNA_IOU_THRESHOLDS`.

    Returns:
        list[float | None]: One entry per image; None for images that do not count.
    """
    out = []
    for i, item in enumerate(results):
        if len(item) != 3:
            raise ValueError(f'image {i}: expected (pred_boxes, pred_scores, gt_boxes), '
                             f'got a {len(item)}-tuple')
        try:
            out.append(rsna_image_precision(*item, thresholds=thresholds))
        except (ValueError, TypeError) as err:
            raise type(err)(f'image {i}: {err}') from None
    return out


def rsna_map(results: Iterable[ImageResult],
             thresholds: Sequence[float] = RSNA_IOU_THRESHOLDS) -> float:
    """RSNA Pneumonia competition score: mean per-image precision over the images that count.

    Args:
        results (Iterable[tuple]): Per image ``(pred_boxes (N,4), pred_scores (N,),
            gt_boxes (M,4))``, xyxy pixels.
        thresholds (Sequence[float]): IoU thresholds. Defaults to :data:`RSNA_IOU_THRESHOLDS`.

    Returns:
        float: The score in [0, 1], or NaN when no image counts (every image has neither
        ground truth nor predictions, or there are no images).
    """
    vals = [v for v in rsna_per_image_precisions(results, thresholds) if v is not None]
    return float(np.mean(vals)) if vals else float('nan')


def image_level_detection_stats(
        per_image_max_scores: np.ndarray,
        has_gt: np.ndarray,
        thresholds: Sequence[float] = (0.2, 0.5)) -> Dict[float, Dict[str, float]]:
    """Image-level "is there pneumonia" stats from each image's highest box score.

    Args:
        per_image_max_scores (np.ndarray): Shape (N,), the highest predicted box score of each
            image; pass 0.0 (or -inf) for images without predictions.
        has_gt (np.ndarray): Shape (N,), bool or 0/1: whether the image has a GT box.
        thresholds (Sequence[float]): Score thresholds; positive iff ``score > threshold``.
            Defaults to (0.2, 0.5).

    Returns:
        dict[float, dict]: ``{threshold: binary_stats(...)}`` (see
        :func:`mmchest.evaluation.image_level.binary_stats`).
    """
    return {
        float(t): binary_stats(per_image_max_scores, has_gt, float(t))
        for t in thresholds
    }
