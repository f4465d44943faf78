"""Hand-computed image-level threshold analysis (mmchest.evaluation.threshold_analysis)."""
import json

import numpy as np
import pytest

from mmchest.evaluation import image_level
from mmchest.evaluation.threshold_analysis import (DEFAULT_THRESHOLDS, auc_recall_metrics,
                                                   average_precision, binary_stats,
                                                   confusion_matrix, highest_threshold_meeting,
                                                   pr_curve, recall_key, roc_auc, roc_curve,
                                                   threshold_analysis, threshold_for_recall,
                                                   threshold_table)

# sorted by score: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg)
SCORES = np.array([0.1, 0.4, 0.35, 0.8])
LABELS = np.array([0, 0, 1, 1])
# three tied scores, two of them positive
TIED = np.array([0.5, 0.5, 0.5, 0.2])
TIED_LABELS = np.array([1, 0, 1, 0])


def test_roc_curve_and_auc_hand_computed():
    fpr, tpr, thr = roc_curve(SCORES, LABELS)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert roc_auc(SCORES, LABELS) == pytest.approx(0.75)
    # the rank formula equals the trapezoid under the curve
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)


def test_pr_curve_and_average_precision_hand_computed():
    precision, recall, thr = pr_curve(SCORES, LABELS)
    np.testing.assert_allclose(precision, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thr, [0.8, 0.4, 0.35, 0.1])
    # AP = 0.5 * 1 + 0 * 0.5 + 0.5 * 2/3
    assert average_precision(SCORES, LABELS) == pytest.approx(0.5 + 1 / 3)


def test_ties_count_half_and_form_one_curve_point():
    # pairs (pos, neg): (0.5, 0.5) tie = 0.5 twice, (0.5, 0.2) = 1 twice -> 3 / 4
    assert roc_auc(TIED, TIED_LABELS) == pytest.approx(0.75)
    fpr, tpr, thr = roc_curve(TIED, TIED_LABELS)
    np.testing.assert_allclose(fpr, [0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 1, 1])
    np.testing.assert_allclose(thr, [np.inf, 0.5, 0.2])
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    # the tied group enters at once: precision 2/3 at recall 1
    assert average_precision(TIED, TIED_LABELS) == pytest.approx(2 / 3)


def test_threshold_table_hand_computed_strictly_greater():
    rows = threshold_table(TIED, TIED_LABELS, thresholds=[0.2, 0.5])
    assert rows[0] == dict(threshold=0.2, tp=2, fp=1, fn=0, tn=1, precision=pytest.approx(2 / 3),
                           recall=1.0, f1=pytest.approx(0.8), specificity=0.5, accuracy=0.75)
    # score 0.5 is not > 0.5: nothing is called positive
    assert rows[1] == dict(threshold=0.5, tp=0, fp=0, fn=2, tn=2, precision=0.0, recall=0.0,
                           f1=0.0, specificity=1.0, accuracy=0.5)


def test_confusion_matrix_layout():
    # at 0.3: called positive 0.4 (neg), 0.35 (pos), 0.8 (pos)
    np.testing.assert_array_equal(confusion_matrix(SCORES, LABELS, 0.3), [[1, 1], [0, 2]])
    np.testing.assert_array_equal(confusion_matrix(SCORES, LABELS, 0.9), [[2, 0], [2, 0]])


def test_highest_threshold_meeting_a_recall():
    # recall stays 1 while 0.35 is above the threshold: 0.34 on the default grid
    assert threshold_for_recall(SCORES, LABELS, 0.9) == pytest.approx(0.34)
    assert threshold_for_recall(SCORES, LABELS, 0.5) == pytest.approx(0.79)
    assert threshold_for_recall(TIED, TIED_LABELS, 1.0, thresholds=[0.1, 0.3, 0.5]) == 0.3
    rows = [dict(threshold=0.2, recall=0.95), dict(threshold=0.6, recall=float('nan')),
            dict(threshold=0.4, recall=0.9), dict(threshold=0.5, recall=0.8)]
    assert highest_threshold_meeting(rows, 0.9)['threshold'] == 0.4
    assert highest_threshold_meeting(rows, 0.99) is None


def test_all_positive_and_all_negative():
    pos = np.array([0.3, 0.7])
    assert np.isnan(roc_auc(pos, [1, 1]))
    assert average_precision(pos, [1, 1]) == 1.0
    fpr, tpr, _ = roc_curve(pos, [1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0])  # no negatives: rate 0.0 by convention
    np.testing.assert_allclose(tpr, [0, 0.5, 1])
    row = threshold_table(pos, [1, 1], [0.5])[0]
    assert (row['recall'], row['precision'], row['specificity'], row['accuracy']) == \
        (0.5, 1.0, 0.0, 0.5)

    assert np.isnan(roc_auc(pos, [0, 0]))
    assert np.isnan(average_precision(pos, [0, 0]))
    assert threshold_for_recall(pos, [0, 0], 0.9) is None
    row = threshold_table(pos, [0, 0], [0.5])[0]
    assert (row['recall'], row['precision'], row['specificity']) == (0.0, 0.0, 0.5)

    empty = threshold_analysis(np.array([]), np.array([]), thresholds=[0.5])
    assert empty['n'] == 0 and np.isnan(empty['roc_auc'])
    assert empty['chosen']['confusion_matrix'] == [[0, 0], [0, 0]]


def test_binary_stats_is_the_one_image_level_uses():
    assert image_level.binary_stats is binary_stats
    assert image_level.roc_auc is roc_auc
    assert set(binary_stats(SCORES, LABELS, 0.5)) == {
        'precision', 'recall', 'f1', 'specificity', 'tp', 'fp', 'fn', 'tn'}


def test_threshold_analysis_chooses_and_is_json_ready():
    out = threshold_analysis(SCORES, LABELS, recall_target=0.9)
    assert out['n'] == 4 and out['n_positive'] == 2 and out['n_negative'] == 2
    assert out['recall_target_threshold'] == pytest.approx(0.34)
    chosen = out['chosen']
    assert chosen['threshold'] == pytest.approx(0.34) and 'recall >= 0.9' in chosen['how']
    assert chosen['confusion_matrix'] == [[1, 1], [0, 2]]
    assert chosen['recall'] == 1.0 and chosen['precision'] == pytest.approx(2 / 3)
    assert len(out['table']) == len(DEFAULT_THRESHOLDS)
    json.dumps(out)  # plain values only

    fixed = threshold_analysis(SCORES, LABELS, threshold=0.5)
    assert fixed['chosen']['threshold'] == 0.5 and fixed['chosen']['how'].startswith('given')
    assert fixed['recall_target_threshold'] == pytest.approx(0.34)
    unmet = threshold_analysis(SCORES, LABELS, thresholds=[0.9], recall_target=0.9)
    assert unmet['recall_target_threshold'] is None and unmet['chosen']['threshold'] == 0.5


def test_auc_recall_metrics_keys():
    out = auc_recall_metrics(SCORES, LABELS, recall_thrs=(0.5, 0.3))
    assert list(out) == ['auc', 'recall@0.5', 'recall@0.3']
    assert out == {'auc': pytest.approx(0.75), 'recall@0.5': 0.5, 'recall@0.3': 1.0}
    assert recall_key(0.25) == 'recall@0.25'


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='index 1 is NaN'):
        roc_curve(np.array([0.1, np.nan]), np.array([0, 1]))
    with pytest.raises(ValueError, match='label at index 2'):
        threshold_table(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2]), [0.5])
    with pytest.raises(ValueError, match='threshold is NaN'):
        confusion_matrix(SCORES, LABELS, float('nan'))
