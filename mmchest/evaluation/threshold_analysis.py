"""Image-level threshold analysis from one score per image (numpy only).

One image-level analysis for every model of mmchest: a classifier's class probability, a
detector's highest box score or a segmentor's highest pixel probability is the image's score,
and an image is called positive at threshold ``t`` when its score is **strictly greater**
than ``t`` (as mmdet's ``score_thr`` and :func:`mmchest.postprocessing.triplet_threshold`).

Conventions:
    * A ratio whose denominator is zero is 0.0 (precision with no positive predictions,
      recall with no positive labels, specificity with no negative labels, F1 when
      precision + recall = 0, accuracy of no image).
    * ROC AUC is the Mann-Whitney U statistic with average ranks for ties (= the trapezoid
      area under :func:`roc_curve`, ties counting half), NaN when only one class (or no
      image) is present.
    * PR AUC is the *average precision* (AP): ``sum_n (R_n - R_{n-1}) P_n`` over the distinct
      scores, highest first, without interpolation (as scikit-learn's
      ``average_precision_score``); NaN without positive labels.
    * Curves step at the distinct scores: point ``i`` of :func:`roc_curve` /
      :func:`pr_curve` counts the images with ``score >= thresholds[i]`` as positive, which
      is ``score > t`` for any ``t`` just below ``thresholds[i]``.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ['DEFAULT_THRESHOLDS', 'check_scores_labels', 'confusion_counts', 'confusion_matrix',
           'binary_stats', 'threshold_table', 'roc_curve', 'roc_auc', 'pr_curve',
           'average_precision', 'highest_threshold_meeting', 'threshold_for_recall',
           'threshold_analysis', 'auc_recall_metrics', 'recall_key']

Number = Union[int, float]

#: Default sweep: 0.00, 0.01, ..., 1.00.
DEFAULT_THRESHOLDS: Tuple[float, ...] = tuple(round(i / 100, 2) for i in range(101))


def check_scores_labels(scores: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Validate one score and one binary label per image.

    Args:
        scores (np.ndarray): Shape (N,); NaN is rejected, +-inf allowed (use -inf or 0.0 for
            "no detection").
        labels (np.ndarray): Shape (N,), bool or 0/1 numbers.

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 scores and bool labels.

    Raises:
        ValueError: Not 1-D, different lengths, a NaN score or a label other than 0/1
            (naming the index).
        TypeError: Labels neither bool nor numbers.
    """
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


def _ratio(num: Number, den: Number) -> float:
    return float(num / den) if den else 0.0


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if np.isnan(threshold):
        raise ValueError('threshold is NaN')
    return threshold


def confusion_counts(scores: np.ndarray, labels: np.ndarray,
                     threshold: float) -> Dict[str, int]:
    """True/false positives/negatives when ``score > threshold`` is called positive.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        threshold (float): The decision threshold (not NaN).

    Returns:
        dict[str, int]: ``tp``, ``fp``, ``fn``, ``tn``.
    """
    s, y = check_scores_labels(scores, labels)
    pred = s > _check_threshold(threshold)
    return dict(tp=int(np.count_nonzero(pred & y)), fp=int(np.count_nonzero(pred & ~y)),
                fn=int(np.count_nonzero(~pred & y)), tn=int(np.count_nonzero(~pred & ~y)))


def confusion_matrix(scores: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """The 2x2 confusion matrix at one threshold.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        threshold (float): ``score > threshold`` is called positive.

    Returns:
        np.ndarray: int64 ``[[tn, fp], [fn, tp]]`` (rows: true negative/positive, columns:
        predicted negative/positive).
    """
    c = confusion_counts(scores, labels, threshold)
    return np.array([[c['tn'], c['fp']], [c['fn'], c['tp']]], dtype=np.int64)


def _rates(tp: int, fp: int, fn: int, tn: int) -> Dict[str, float]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return dict(precision=precision, recall=recall, f1=f1, specificity=_ratio(tn, tn + fp),
                accuracy=_ratio(tp + tn, tp + fp + fn + tn))


def binary_stats(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Dict[str, Number]:
    """Confusion counts and precision/recall/F1/specificity at one score threshold.

    Args:
        scores (np.ndarray): Shape (N,), one score per image; NaN is rejected, +-inf allowed.
        labels (np.ndarray): Shape (N,), bool or 0/1: whether the image is positive.
        threshold (float): An image is predicted positive iff ``score > threshold``.

    Returns:
        dict: ``precision``, ``recall``, ``f1``, ``specificity`` (floats; 0.0 when the
        denominator is zero) and ``tp``, ``fp``, ``fn``, ``tn`` (ints).
    """
    c = confusion_counts(scores, labels, threshold)
    rates = _rates(**c)
    return dict(precision=rates['precision'], recall=rates['recall'], f1=rates['f1'],
                specificity=rates['specificity'], **c)


def threshold_table(scores: np.ndarray, labels: np.ndarray,
                    thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> List[Dict[str, Number]]:
    """Per-threshold precision, recall, specificity, F1 and accuracy.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        thresholds (Sequence[float]): Thresholds, reported in the given order.
            Defaults to :data:`DEFAULT_THRESHOLDS` (0.00 to 1.00 in steps of 0.01).

    Returns:
        list[dict]: Per threshold ``threshold``, ``tp``, ``fp``, ``fn``, ``tn``,
        ``precision``, ``recall``, ``specificity``, ``f1``, ``accuracy``.
    """
    s, y = check_scores_labels(scores, labels)
    rows = []
    for thr in thresholds:
        c = confusion_counts(s, y, thr)
        rows.append(dict(threshold=float(thr), **c, **_rates(**c)))
    return rows


def _distinct_counts(s: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (descending) with cumulative TP and FP counts at ``score >= each``."""
    order = np.argsort(-s, kind='mergesort')
    ss, ys = s[order], y[order]
    last = np.r_[ss[1:] != ss[:-1], True] if len(ss) else np.zeros(0, dtype=bool)
    tps = np.cumsum(ys)[last]
    fps = np.cumsum(~ys)[last]
    return ss[last], tps.astype(np.int64), fps.astype(np.int64)


def roc_curve(scores: np.ndarray,
              labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve: false positive rate and true positive rate at each distinct score.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``fpr``, ``tpr``, ``thresholds``; the
        first point is (0, 0) at threshold +inf, then one point per distinct score
        (descending), the last being (1, 1). A rate with a zero denominator is 0.0.
    """
    s, y = check_scores_labels(scores, labels)
    thr, tps, fps = _distinct_counts(s, y)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tpr = np.r_[0.0, tps / n_pos if n_pos else np.zeros(len(tps))]
    fpr = np.r_[0.0, fps / n_neg if n_neg else np.zeros(len(fps))]
    return fpr, tpr, np.r_[np.inf, thr]


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind='mergesort')
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    run_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (rank formula).

    AUC = P(score of a random positive > score of a random negative) + 0.5 * P(tie), which
    equals the trapezoid area under :func:`roc_curve`.

    Args:
        scores (np.ndarray): Shape (N,), one score per image (NaN rejected).
        labels (np.ndarray): Shape (N,), bool or 0/1.

    Returns:
        float: AUC in [0, 1], or NaN when only one class (or no image) is present.
    """
    s, y = check_scores_labels(scores, labels)
    n_pos = int(np.count_nonzero(y))
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def pr_curve(scores: np.ndarray,
             labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve at each distinct score, highest first; arguments as in
    :func:`roc_curve`.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``precision``, ``recall``, ``thresholds``
        (one point per distinct score, descending; recall 0.0 without positive labels).
    """
    s, y = check_scores_labels(scores, labels)
    thr, tps, fps = _distinct_counts(s, y)
    n_pos = int(y.sum())
    precision = tps / np.maximum(tps + fps, 1)
    recall = tps / n_pos if n_pos else np.zeros(len(tps))
    return precision.astype(np.float64), recall.astype(np.float64), thr


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the PR curve as average precision, ``sum_n (R_n - R_{n-1}) P_n``.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.

    Returns:
        float: AP in [0, 1], or NaN without positive labels.
    """
    precision, recall, _ = pr_curve(scores, labels)
    if not len(recall) or recall[-1] == 0:
        return float('nan')
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def highest_threshold_meeting(rows: Sequence[Mapping[str, Number]], target: float,
                              key: str = 'recall',
                              threshold_key: str = 'threshold') -> Optional[Mapping[str, Number]]:
    """The row with the highest threshold whose ``key`` is at least ``target``.

    Args:
        rows (Sequence[Mapping]): Rows of a sweep, e.g. :func:`threshold_table`.
        target (float): The value to reach, e.g. a recall of 0.9.
        key (str): Which column must reach it (NaN never does). Defaults to 'recall'.
        threshold_key (str): The threshold column. Defaults to 'threshold'.

    Returns:
        Mapping | None: That row, or None when no row reaches ``target``.
    """
    ok = [row for row in rows if not np.isnan(row[key]) and row[key] >= target]
    return max(ok, key=lambda row: row[threshold_key]) if ok else None


def threshold_for_recall(scores: np.ndarray, labels: np.ndarray, target: float,
                         thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> Optional[float]:
    """The highest of ``thresholds`` whose recall is at least ``target``.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        target (float): Recall to reach, in [0, 1].
        thresholds (Sequence[float]): Candidates. Defaults to :data:`DEFAULT_THRESHOLDS`.

    Returns:
        float | None: The threshold, or None when none reaches ``target`` (or there are no
        positive labels, whose recall is 0.0 by convention, and ``target`` > 0).
    """
    row = highest_threshold_meeting(threshold_table(scores, labels, thresholds), target)
    return None if row is None else float(row['threshold'])


def threshold_analysis(scores: np.ndarray, labels: np.ndarray,
                       thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                       threshold: Optional[float] = None,
                       recall_target: Optional[float] = 0.9) -> Dict[str, object]:
    """Everything the report shows, as plain Python values (JSON-ready, NaN as float).

    The chosen threshold is ``threshold`` when given, else the highest of ``thresholds``
    meeting ``recall_target``, else 0.5.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        thresholds (Sequence[float]): The sweep. Defaults to :data:`DEFAULT_THRESHOLDS`.
        threshold (float, optional): A fixed decision threshold. Defaults to None.
        recall_target (float, optional): Recall to meet when choosing. Defaults to 0.9.

    Returns:
        dict: ``n``, ``n_positive``, ``n_negative``, ``roc_auc``, ``average_precision``,
        ``table`` (:func:`threshold_table`), ``roc`` / ``pr`` (curve lists),
        ``recall_target``, ``recall_target_threshold`` (None if not met), ``chosen``
        (``threshold``, ``how``, ``confusion_matrix`` ``[[tn, fp], [fn, tp]]`` and the rates).
    """
    s, y = check_scores_labels(scores, labels)
    table = threshold_table(s, y, thresholds)
    met = (highest_threshold_meeting(table, recall_target) if recall_target is not None
           else None)
    if threshold is not None:
        chosen, how = _check_threshold(threshold), 'given (--threshold)'
    elif met is not None:
        chosen = float(met['threshold'])
        how = f'highest threshold of the sweep with recall >= {recall_target:g}'
    else:
        chosen = 0.5
        how = (f'0.5 (no threshold of the sweep reaches recall {recall_target:g})'
               if recall_target is not None else '0.5 (default)')
    c = confusion_counts(s, y, chosen)
    fpr, tpr, roc_thr = roc_curve(s, y)
    precision, recall, pr_thr = pr_curve(s, y)
    return dict(
        n=int(len(y)), n_positive=int(y.sum()), n_negative=int((~y).sum()),
        roc_auc=roc_auc(s, y), average_precision=average_precision(s, y),
        table=table,
        roc=dict(fpr=fpr.tolist(), tpr=tpr.tolist(), thresholds=roc_thr.tolist()),
        pr=dict(precision=precision.tolist(), recall=recall.tolist(),
                thresholds=pr_thr.tolist()),
        recall_target=recall_target,
        recall_target_threshold=None if met is None else float(met['threshold']),
        chosen=dict(threshold=chosen, how=how,
                    confusion_matrix=[[c['tn'], c['fp']], [c['fn'], c['tp']]], **c,
                    **_rates(**c)))


def recall_key(threshold: float) -> str:
    """The metric name of the recall at ``threshold``, e.g. ``'recall@0.5'``."""
    return f'recall@{float(threshold):g}'


def auc_recall_metrics(scores: np.ndarray, labels: np.ndarray,
                       recall_thrs: Sequence[float] = (0.5, )) -> Dict[str, float]:
    """The image-level metrics validation reports: ``auc`` and ``recall@<thr>``.

    Registered metrics prefix them (``cls/auc``, ``rsna/recall@0.5``, ...).

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        recall_thrs (Sequence[float]): Thresholds of the recalls. Defaults to (0.5,).

    Returns:
        dict[str, float]: ``{'auc': ..., 'recall@0.5': ...}`` (AUC NaN with one class).
    """
    s, y = check_scores_labels(scores, labels)
    out = {'auc': roc_auc(s, y)}
    for thr in recall_thrs:
        out[recall_key(thr)] = float(binary_stats(s, y, thr)['recall'])
    return out
