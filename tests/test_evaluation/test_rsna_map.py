import math

import numpy as np
import pytest

from mmchest.evaluation.rsna_map import (RSNA_IOU_THRESHOLDS, box_iou, image_level_detection_stats,
                                         rsna_image_precision, rsna_map, rsna_per_image_precisions)

GT1 = [0.0, 0.0, 10.0, 10.0]
NO_BOXES = np.zeros((0, 4))
NO_SCORES = np.zeros((0,))


def boxes(*rows):
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def test_thresholds_constant():
    assert RSNA_IOU_THRESHOLDS == (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def test_box_iou_hand_computed():
    a = boxes(GT1, [0, 0, 10, 5])
    b = boxes([5, 0, 15, 10], [20, 20, 30, 30], GT1)
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    # GT1 vs [5,0,15,10]: inter 50, union 150; vs far box 0; vs itself 1
    # [0,0,10,5] vs [5,0,15,10]: inter 25, union 50+100-25; vs far 0; vs GT1: 50/100
    np.testing.assert_allclose(iou, [[1 / 3, 0, 1], [25 / 125, 0, 0.5]])


def test_box_iou_empty_and_degenerate():
    assert box_iou(NO_BOXES, boxes(GT1)).shape == (0, 1)
    assert box_iou(boxes(GT1), []).shape == (1, 0)
    # two zero-area boxes: union 0 -> IoU 0, not NaN
    assert box_iou(boxes([1, 1, 1, 1]), boxes([1, 1, 1, 1]))[0, 0] == 0.0


def test_box_iou_rejects_bad_boxes():
    with pytest.raises(ValueError, match='box 1 has x2 < x1'):
        box_iou(boxes(GT1, [5, 0, 2, 10]), boxes(GT1))
    with pytest.raises(ValueError, match=r'shape \(N, 4\)'):
        box_iou(np.zeros((2, 3)), boxes(GT1))
    with pytest.raises(ValueError, match='box 0 has a non-finite'):
        box_iou(boxes(GT1), boxes([0, 0, np.nan, 1]))


def test_empty_image_is_left_out():
    assert rsna_image_precision(NO_BOXES, NO_SCORES, NO_BOXES) is None
    assert rsna_image_precision([], [], []) is None


def test_gt_without_predictions_and_fp_on_negative_image_score_zero():
    assert rsna_image_precision(NO_BOXES, NO_SCORES, boxes(GT1)) == 0.0
    assert rsna_image_precision(boxes(GT1), [0.9], NO_BOXES) == 0.0


def test_perfect_match_scores_one():
    assert rsna_image_precision(boxes(GT1), [0.3], boxes(GT1)) == 1.0


def test_iou_exactly_on_threshold_is_not_a_hit():
    # IoU exactly 0.5: hit only for t in {0.40, 0.45} (iou > t); otherwise TP0 FP1 FN1 -> 0
    assert rsna_image_precision(boxes([0, 0, 10, 5]), [0.9], boxes(GT1)) == pytest.approx(2 / 8)
    # IoU exactly 0.75: hit for 0.40 ... 0.70 (7 thresholds), not for 0.75
    assert rsna_image_precision(boxes([0, 0, 10, 7.5]), [0.9], boxes(GT1)) == pytest.approx(7 / 8)
    # per-threshold check with a single threshold
    assert rsna_image_precision(boxes([0, 0, 10, 5]), [0.9], boxes(GT1), thresholds=[0.5]) == 0.0
    assert rsna_image_precision(boxes([0, 0, 10, 5]), [0.9], boxes(GT1),
                                thresholds=[0.49]) == 1.0


def test_two_predictions_on_one_gt_one_is_fp():
    # A (0.9) IoU 0.6, B (0.8) IoU 0.9 with GT1. Whichever matches, the other is a FP:
    # TP1 FP1 FN0 -> 1/2 at every threshold (at t >= 0.6 only B matches)
    preds = boxes([0, 0, 10, 6], [0, 0, 10, 9])
    assert rsna_image_precision(preds, [0.9, 0.8], boxes(GT1)) == pytest.approx(0.5)
    assert rsna_image_precision(preds, [0.9, 0.8], boxes(GT1), thresholds=[0.7]) == 0.5


def test_score_order_decides_which_prediction_takes_the_gt():
    # GT1 = [0,0,10,10], GT2 = [6,0,16,10] (overlapping ground truths).
    # A = [2,0,12,10]: IoU(GT1) = 80/120 = 2/3, IoU(GT2) = 60/140 = 3/7.
    # B = GT1:         IoU(GT1) = 1,        IoU(GT2) = 40/160 = 1/4.
    gts = boxes(GT1, [6, 0, 16, 10])
    preds = boxes([2, 0, 12, 10], GT1)
    np.testing.assert_allclose(box_iou(preds, gts), [[2 / 3, 3 / 7], [1, 0.25]])
    # A first: A steals GT1 (its best), B finds no free GT -> TP1 FP1 FN1 = 1/3 at every t
    # (at t >= 0.7 A no longer matches but then B takes GT1: still 1/3).
    assert rsna_image_precision(preds, [0.9, 0.8], gts) == pytest.approx(1 / 3)
    # B first: B takes GT1, A takes GT2 only at t = 0.40 (3/7 > 0.4) -> 1, else 1/3.
    assert rsna_image_precision(preds, [0.8, 0.9], gts) == pytest.approx((1 + 7 / 3) / 8)


def test_several_boxes_with_fp_and_fn():
    gts = boxes(GT1, [20, 20, 30, 30])
    # two exact hits and one far FP: TP2 FP1 FN0 -> 2/3
    preds = boxes(GT1, [20, 20, 30, 30], [50, 50, 60, 60])
    assert rsna_image_precision(preds, [0.5, 0.6, 0.7], gts) == pytest.approx(2 / 3)
    # one hit, one GT missed: TP1 FP0 FN1 -> 1/2
    assert rsna_image_precision(boxes(GT1), [0.5], gts) == pytest.approx(0.5)


def test_rsna_image_precision_bad_input():
    with pytest.raises(ValueError, match='1 pred_boxes but 2 pred_scores'):
        rsna_image_precision(boxes(GT1), [0.1, 0.2], boxes(GT1))
    with pytest.raises(ValueError, match='outside'):
        rsna_image_precision(boxes(GT1), [0.1], boxes(GT1), thresholds=[1.5])
    with pytest.raises(ValueError, match='gt_boxes: box 0'):
        rsna_image_precision(boxes(GT1), [0.1], boxes([3, 3, 1, 1]))


def test_rsna_map_leaves_out_empty_images():
    results = [
        (boxes(GT1), [0.9], boxes(GT1)),  # 1.0
        (NO_BOXES, NO_SCORES, NO_BOXES),  # left out
        (NO_BOXES, NO_SCORES, boxes(GT1)),  # 0.0 (FN)
        (boxes(GT1), [0.9], NO_BOXES),  # 0.0 (FP on a negative image)
        (boxes([0, 0, 10, 5]), [0.9], boxes(GT1)),  # 0.25
    ]
    per = rsna_per_image_precisions(results)
    assert per[1] is None
    assert per[0] == 1.0 and per[2] == 0.0 and per[3] == 0.0
    assert per[4] == pytest.approx(0.25)
    assert rsna_map(results) == pytest.approx((1 + 0 + 0 + 0.25) / 4)


def test_rsna_map_nothing_counts_is_nan():
    assert math.isnan(rsna_map([]))
    assert math.isnan(rsna_map([(NO_BOXES, NO_SCORES, NO_BOXES)] * 3))


def test_rsna_map_error_names_image():
    with pytest.raises(ValueError, match='image 1: expected'):
        rsna_map([(NO_BOXES, NO_SCORES, NO_BOXES), (NO_BOXES, NO_SCORES)])
    with pytest.raises(ValueError, match='image 0: pred_boxes'):
        rsna_map([(np.zeros((1, 5)), [0.1], NO_BOXES)])


def test_image_level_detection_stats():
    scores = np.array([0.9, 0.3, 0.0, 0.6])
    has_gt = np.array([True, True, False, False])
    stats = image_level_detection_stats(scores, has_gt)
    assert sorted(stats) == [0.2, 0.5]
    s = stats[0.2]  # positives: 0.9, 0.3, 0.6
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (2, 1, 0, 1)
    assert s['precision'] == pytest.approx(2 / 3) and s['recall'] == 1.0
    s = stats[0.5]  # positives: 0.9, 0.6
    assert (s['tp'], s['fp'], s['fn'], s['tn']) == (1, 1, 1, 1)
    assert s['f1'] == pytest.approx(0.5)
    assert list(image_level_detection_stats(scores, has_gt, thresholds=(0.7,))) == [0.7]
