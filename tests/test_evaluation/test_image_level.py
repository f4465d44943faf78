import math
from itertools import product

import numpy as np
import pytest

from mmchest.evaluation.image_level import binary_stats, roc_auc

SCORES = np.array([0.9, 0.8, 0.3, 0.5, 0.1])
LABELS = np.array([1, 1, 1, 0, 0])


def test_binary_stats_strictly_greater_than_threshold():
    # positive iff score > 0.5: 0.9, 0.8 (0.5 itself is negative)
    s = binary_stats(SCORES, LABELS, 0.5)
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (2, 0, 1, 2)
    assert s['precision'] == 1.0
    assert s['recall'] == pytest.approx(2 / 3)
    assert s['f1'] == pytest.approx(0.8)  # 2 * 1 * 2/3 / (5/3)
    assert s['specificity'] == 1.0


def test_binary_stats_lower_threshold():
    s = binary_stats(SCORES, LABELS.astype(bool), 0.4)
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (2, 1, 1, 1)
    assert s['precision'] == pytest.approx(2 / 3)
    assert s['recall'] == pytest.approx(2 / 3)
    assert s['f1'] == pytest.approx(2 / 3)
    assert s['specificity'] == 0.5


def test_binary_stats_zero_denominators_are_zero():
    s = binary_stats(SCORES, LABELS, 0.95)  # nothing predicted positive
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (0, 0, 3, 2)
    assert (s['precision'], s['recall'], s['f1']) == (0.0, 0.0, 0.0)
    s = binary_stats(np.array([0.9, 0.1]), np.array([0, 0]), 0.5)  # no positive labels
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (0, 1, 0, 1)
    assert (s['precision'], s['recall'], s['f1']) == (0.0, 0.0, 0.0)
    s = binary_stats(np.array([0.9]), np.array([1]), 0.5)  # no negative labels
    assert s['specificity'] == 0.0 and s['f1'] == 1.0
    s = binary_stats(np.array([]), np.array([]), 0.5)  # no images
    assert (s['tp'], s['fp'], s['fn'], s['tn'], s['f1']) == (0, 0, 0, 0, 0.0)


def test_binary_stats_accepts_minus_inf_for_no_detection():
    s = binary_stats(np.array([-np.inf, 0.7]), np.array([1, 1]), 0.2)
    assert (s['tp'], s['fn']) == (1, 1)


def test_bad_input_raises():
    with pytest.raises(ValueError, match='index 2 is 2'):
        binary_stats(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2]), 0.5)
    with pytest.raises(ValueError, match='index 1 is NaN'):
        roc_auc(np.array([0.1, np.nan]), np.array([0, 1]))
    with pytest.raises(ValueError, match='3 scores but 2 labels'):
        roc_auc(np.array([0.1, 0.2, 0.3]), np.array([0, 1]))
    with pytest.raises(ValueError, match='1-D'):
        binary_stats(np.zeros((2, 2)), np.zeros((2, 2)), 0.5)
    with pytest.raises(ValueError, match='threshold is NaN'):
        binary_stats(SCORES, LABELS, float('nan'))


def test_roc_auc_hand_computed():
    # positives 0.9, 0.8, 0.3 vs negatives 0.5, 0.1: 5 of 6 pairs ordered correctly
    assert roc_auc(SCORES, LABELS) == pytest.approx(5 / 6)


def test_roc_auc_ties_count_half():
    # pos {0.5, 0.7} vs neg {0.5, 0.2}: pairs 0.5 (tie), 1, 1, 1 -> 3.5 / 4
    assert roc_auc(np.array([0.5, 0.7, 0.5, 0.2]), np.array([1, 1, 0, 0])) == pytest.approx(0.875)
    assert roc_auc(np.full(4, 0.3), np.array([1, 0, 1, 0])) == pytest.approx(0.5)


def test_roc_auc_perfect_inverted_and_single_class():
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0])) == 0.0
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([1, 1])))
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([0, 0])))
    assert math.isnan(roc_auc(np.array([]), np.array([])))


def test_roc_auc_matches_pairwise_brute_force():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=40) / 4.0  # many ties
    labels = rng.integers(0, 2, size=40)
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(pos, neg))
    assert roc_auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)))
