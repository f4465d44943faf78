"""Image-level binary classification from one score per image (e.g. the max pixel probability).

The maths lives in :mod:`mmchest.evaluation.threshold_analysis`; this module keeps the
names the SIIM metric and the tools import.

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

from .threshold_analysis import binary_stats, roc_auc

__all__ = ['binary_stats', 'roc_auc']
