import math

import numpy as np
import pytest

from mmchest.evaluation.dice import (as_binary_mask, dice_score, iou_score, mean_dice, mean_iou,
                                     per_image_dice)

PRED = np.array([[1, 1, 0], [0, 0, 0]], dtype=np.uint8)
GT = np.array([[1, 0, 0], [0, 0, 0]], dtype=np.uint8)
EMPTY = np.zeros((2, 3), dtype=np.uint8)


def test_dice_and_iou_hand_computed():
    # |P|=2, |G|=1, |P&G|=1 -> Dice 2*1/3, IoU 1/2
    assert dice_score(PRED, GT) == pytest.approx(2 / 3)
    assert iou_score(PRED, GT) == pytest.approx(0.5)
    # symmetric
    assert dice_score(GT, PRED) == pytest.approx(2 / 3)
    assert dice_score(PRED, PRED) == 1.0
    assert iou_score(PRED, PRED) == 1.0


def test_disjoint_masks_score_zero():
    other = np.array([[0, 0, 0], [0, 0, 1]], dtype=np.uint8)
    assert dice_score(PRED, other) == 0.0
    assert iou_score(PRED, other) == 0.0


def test_empty_cases():
    assert dice_score(EMPTY, EMPTY) == 1.0
    assert iou_score(EMPTY, EMPTY) == 1.0
    assert dice_score(EMPTY, EMPTY, empty_score=0.0) == 0.0
    assert iou_score(EMPTY, EMPTY, empty_score=0.5) == 0.5
    # empty vs non-empty is 0 regardless of empty_score
    assert dice_score(EMPTY, GT) == 0.0
    assert dice_score(PRED, EMPTY) == 0.0
    assert iou_score(EMPTY, GT) == 0.0


def test_dtypes_0_255_bool_and_01_float():
    assert dice_score(PRED * 255, GT.astype(bool)) == pytest.approx(2 / 3)
    assert dice_score(PRED.astype(np.float32), GT.astype(np.float64)) == pytest.approx(2 / 3)
    assert as_binary_mask(np.array([0, 3, -1])).tolist() == [False, True, True]


def test_probabilities_rejected():
    with pytest.raises(ValueError, match='pred.*threshold'):
        dice_score(np.array([[0.2, 0.9]]), np.array([[0, 1]]))


def test_non_numeric_rejected():
    with pytest.raises(TypeError, match='gt'):
        dice_score(np.array([1]), np.array(['b']))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r'\(2, 3\).*\(3, 2\)'):
        dice_score(PRED, GT.T)


def test_mean_dice_is_mean_of_per_image_not_dataset_wide():
    fp_on_empty = np.array([[0, 0, 0], [0, 1, 1]], dtype=np.uint8)
    preds = [PRED, EMPTY, fp_on_empty]
    gts = [GT, EMPTY, EMPTY]
    # per image: 2/3, 1 (empty vs empty), 0 (FP on an empty image)
    assert per_image_dice(preds, gts) == pytest.approx([2 / 3, 1.0, 0.0])
    assert mean_dice(preds, gts) == pytest.approx((2 / 3 + 1 + 0) / 3)
    # a dataset-wide Dice would be 2*1/(2+1+0+2+0) = 0.4, which is not the SIIM score
    assert mean_dice(preds, gts) != pytest.approx(0.4)
    # per image IoU: 1/2, 1, 0
    assert mean_iou(preds, gts) == pytest.approx(0.5)


def test_mean_dice_empty_and_length_mismatch():
    assert math.isnan(mean_dice([], []))
    assert math.isnan(mean_iou([], []))
    with pytest.raises(ValueError, match='2 predictions but 1'):
        mean_dice([PRED, PRED], [GT])


def test_per_image_error_names_the_image():
    with pytest.raises(ValueError, match='image 1'):
        per_image_dice([PRED, PRED], [GT, GT.T])
    with pytest.raises(ValueError, match='image 0'):
        mean_iou([PRED], [GT.T])
