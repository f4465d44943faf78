"""Score-threshold sweep of the RSNA detector outputs, against hand-computed cases."""
import math

import numpy as np
import pytest

from mmchest.arg_types import float_range
from mmchest.evaluation.rsna_map import count_greedy_matches
from mmchest.evaluation.rsna_thresholds import (box_recall, highest_threshold_reaching,
                                                score_threshold_sweep)

GT_A = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)


def _results():
    # image A: two GT boxes; a 0.9 box on the first, a 0.3 box on the second, a 0.6 FP
    a = (np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], dtype=float),
         np.array([0.9, 0.3, 0.6]), GT_A)
    # image B: one GT box, found only by a 0.2 box
    b = (np.array([[5, 5, 15, 15]], dtype=float), np.array([0.2]),
         np.array([[5, 5, 15, 15]], dtype=float))
    # image C: negative, a 0.4 false positive
    c = (np.array([[0, 0, 5, 5]], dtype=float), np.array([0.4]), np.zeros((0, 4)))
    # image D: negative, nothing predicted
    d = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4)))
    return [a, b, c, d]


def test_sweep_matches_hand_computed_values():
    rows = {r['score_thr']: r for r in score_threshold_sweep(_results(), [0.1, 0.5, 0.95])}
    low = rows[0.1]
    # A: TP 2, FP 1 -> 2/3 at every IoU; B: 1; C: 0 (FP on a negative); D left out
    assert low['rsna_mAP'] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert (low['img_precision'], low['img_recall']) == (pytest.approx(2 / 3), 1.0)
    assert low['box_recall'] == 1.0 and low['positives'] == 3 and low['boxes'] == 5
    mid = rows[0.5]
    # A keeps 0.9 (TP) and 0.6 (FP), misses one GT: 1/3; B: all FN -> 0; C, D left out
    assert mid['rsna_mAP'] == pytest.approx((1 / 3 + 0) / 2)
    assert mid['img_recall'] == 0.5 and mid['img_precision'] == 1.0
    assert mid['box_recall'] == pytest.approx(1 / 3) and mid['boxes'] == 2
    high = rows[0.95]
    assert high['rsna_mAP'] == 0.0 and high['img_recall'] == 0.0 and high['box_recall'] == 0.0
    assert high['img_f1'] == 0.0 and high['positives'] == 0


def test_highest_threshold_reaching_recall():
    sweep = score_threshold_sweep(_results(), float_range('0.05:0.95:0.05'))
    row = highest_threshold_reaching(sweep, 1.0)
    assert row['score_thr'] == 0.15  # B's only box has score 0.2: "> 0.2" loses it
    assert highest_threshold_reaching(sweep, 0.5)['score_thr'] == 0.85
    assert highest_threshold_reaching(sweep, 1.01) is None


def test_box_recall_needs_iou_above_threshold_and_one_box_per_gt():
    # a prediction at IoU exactly 0.4 does not match; one prediction matches one GT only
    gt = np.array([[0, 0, 10, 10]], dtype=float)
    iou_04 = np.array([[0, 0, 10, 4]], dtype=float)  # IoU 40/100
    assert box_recall([(iou_04, np.array([0.9]), gt)], 0.0) == 0.0
    two_gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    assert box_recall([(gt, np.array([0.9]), two_gt)], 0.0) == 0.5
    assert math.isnan(box_recall([(gt, np.array([0.9]), np.zeros((0, 4)))], 0.0))


def test_count_greedy_matches_in_row_order():
    ious = np.array([[0.9, 0.5], [0.8, 0.0]])
    assert count_greedy_matches(ious, 0.4) == 1  # row 0 takes GT 0; row 1 has nothing left
    assert count_greedy_matches(np.zeros((2, 0)), 0.4) == 0

