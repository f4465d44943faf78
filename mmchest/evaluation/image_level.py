"""Image-level binary classification from one score per image (e.g. the max pixel probability).

Conventions:
    * An image is predicted positive when its score is *strictly greater* than the threshold
      (as mmdet's ``score_thr`` and :func:`mmchest.postprocessing.triplet_threshold`).
    * A ratio whose denominator is zero is reported as 0.0 (precision with no positive
      predictions, recall with no positive labels, F1 when precision + recall = 0, specificity
      with no negative labels).
    * ROC AUC is the Mann-Whitney U statistic with average ranks for ties, and NaN when only one
      class (or no image) is present, where it is undefined.
"""
from __future__ import annotations

from typing import Dict, Tuple, Union

import numpy as np

__all__ = ['binary_stats', 'roc_auc']

Number = Union[int, float]


def _check_scores_labels(scores: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Return (float64 scores, bool labels), both 1-D and the same length, or raise."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 1 or y.ndim != 1:
        raise ValueError(f'scores and labels must be 1-D, got shapes {s.shape} and {y.shape}')
    if len(s) != len(y):
        raise ValueError(f'got {len(s)} scores but {len(y)} labels')
    bad = np.flatnonzero(np.isnan(s))
    if bad.size:
        raise ValueError(f'score at index {int(bad[0])} is NaN')
    if y.dtype != bool:
        if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            raise TypeError(f'labels must be bool or 0/1 numbers, got dtype {y.dtype}')
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            raise ValueError(
                f'label at index {int(bad[0])} is {y[bad[0]].item()!r}; expected 0 or 1')
        y = y == 1
    return s, y


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def binary_stats(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Dict[str, Number]:
    """Confusion counts and precision/recall/F1 at one score threshold.

    Args:
        scores (np.ndarray): Shape (N,), one score per image; NaN is rejected, +-inf allowed
            (use -inf or 0.0 for "no detection").
        labels (np.ndarray): Shape (N,), bool or 0/1: whether the image is positive.
        threshold (float): An image is predicted positive iff ``score > threshold``.

    Returns:
        dict: ``precision``, ``recall``, ``f1``, ``specificity`` (floats; 0.0 when the
        denominator is zero) and ``tp``, ``fp``, ``fn``, ``tn`` (ints).
    """
    s, y = _check_scores_labels(scores, labels)
    if np.isnan(threshold):
        raise ValueError('threshold is NaN')
    pred = s > threshold
    tp = int(np.count_nonzero(pred & y))
    fp = int(np.count_nonzero(pred & ~y))
    fn = int(np.count_nonzero(~pred & y))
    tn = int(np.count_nonzero(~pred & ~y))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return dict(precision=precision, recall=recall, f1=f1, specificity=_ratio(tn, tn + fp),
                tp=tp, fp=fp, fn=fn, tn=tn)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind='mergesort')
    xs = x[order]
    # Start index of each run of equal values in the sorted array.
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    run_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks_sorted = np.repeat(run_rank, ends - starts)
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = ranks_sorted
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (no sklearn).

    AUC = P(score of a random positive > score of a random negative) + 0.5 * P(tie).

    Args:
        scores (np.ndarray): Shape (N,), one score per image (NaN rejected).
        labels (np.ndarray): Shape (N,), bool or 0/1.

    Returns:
        float: AUC in [0, 1], or NaN when only one class (or no image) is present.
    """
    s, y = _check_scores_labels(scores, labels)
    n_pos = int(np.count_nonzero(y))
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
