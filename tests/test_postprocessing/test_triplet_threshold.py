from itertools import product

import numpy as np
import pytest

import mmchest.postprocessing.triplet_threshold as tt
from mmchest.evaluation.dice import mean_dice
from mmchest.postprocessing.triplet_threshold import threshold_grid_search, triplet_threshold

# 3 confident pixels (0.9) inside a ring of 0.4 pixels
PROB = np.array([
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 0.4, 0.4, 0.0],
    [0.0, 0.9, 0.9, 0.4],
    [0.0, 0.9, 0.4, 0.0],
])
CONFIDENT = (PROB > 0.8).astype(np.uint8)
WIDE = (PROB > 0.3).astype(np.uint8)  # 7 pixels


def test_blob_below_min_area_is_removed_entirely():
    out = triplet_threshold(PROB, 0.8, 4, 0.3)
    assert out.dtype == np.uint8 and out.shape == PROB.shape
    assert not out.any()


def test_blob_at_min_area_returns_bottom_threshold_mask():
    out = triplet_threshold(PROB, 0.8, 3, 0.3)
    assert out.dtype == np.uint8
    assert out.sum() == 7
    np.testing.assert_array_equal(out, WIDE)
    np.testing.assert_array_equal(triplet_threshold(PROB, 0.8, 3, 0.5), CONFIDENT)


def test_thresholds_are_strict():
    # no pixel is > 0.9, so even min_area=1 drops the mask
    assert not triplet_threshold(PROB, 0.9, 1, 0.3).any()
    # bottom 0.4: the 0.4 ring is not > 0.4
    np.testing.assert_array_equal(triplet_threshold(PROB, 0.5, 1, 0.4), CONFIDENT)


def test_min_area_zero_keeps_every_mask():
    np.testing.assert_array_equal(triplet_threshold(PROB, 1.0, 0, 0.3), WIDE)
    assert not triplet_threshold(np.zeros((2, 2)), 0.5, 0, 0.5).any()


@pytest.mark.parametrize('kwargs, err, msg', [
    (dict(top_score_threshold=1.5), ValueError, 'top_score_threshold must be in.*1.5'),
    (dict(bottom_threshold=-0.1), ValueError, 'bottom_threshold must be in.*-0.1'),
    (dict(bottom_threshold=float('nan')), ValueError, 'bottom_threshold.*nan'),
    (dict(min_area=-1), ValueError, 'min_area must be >= 0, got -1'),
    (dict(min_area=2.5), TypeError, 'min_area must be an integer, got 2.5'),
    (dict(top_score_threshold=True), TypeError, 'top_score_threshold must be a real'),
])
def test_argument_validation(kwargs, err, msg):
    args = dict(top_score_threshold=0.5, min_area=1, bottom_threshold=0.3)
    args.update(kwargs)
    with pytest.raises(err, match=msg):
        triplet_threshold(PROB, **args)


def test_prob_validation():
    with pytest.raises(ValueError, match='2-D'):
        triplet_threshold(np.zeros((1, 2, 2)), 0.5, 1, 0.3)
    with pytest.raises(ValueError, match='NaN'):
        triplet_threshold(np.array([[np.nan]]), 0.5, 1, 0.3)


def test_numpy_scalars_accepted():
    out = triplet_threshold(PROB, np.float32(0.8), np.int64(3), np.float64(0.3))
    np.testing.assert_array_equal(out, WIDE)


def _constructed():
    # image 0 (positive): GT = 4 confident pixels (0.9); a 4-pixel ring at 0.5 is not GT
    p0 = np.zeros((4, 4))
    p0[:2, :2] = 0.9
    p0[2, :2] = 0.5
    p0[:2, 2] = 0.5
    g0 = np.zeros((4, 4), np.uint8)
    g0[:2, :2] = 1
    # image 1 (negative): 2 noisy pixels at 0.7
    p1 = np.zeros((4, 4))
    p1[3, 2:] = 0.7
    # image 2 (negative): all zero
    p2 = np.zeros((4, 4))
    return [p0, p1, p2], [g0, np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)]


def test_grid_search_finds_known_best_triplet():
    probs, gts = _constructed()
    best, scores = threshold_grid_search(probs, gts, [0.6, 0.8], [0, 3], [0.4, 0.6])
    # per image Dice if kept: img0 2*4/(8+4)=2/3 (bottom 0.4) or 1 (bottom 0.6); img1 0; img2 1.
    # if dropped: img0 0, img1 1, img2 1. min_area 0 keeps all; min_area 3 drops img1 and img2.
    expected = np.array([[[5 / 9, 2 / 3], [8 / 9, 1.0]], [[5 / 9, 2 / 3], [8 / 9, 1.0]]])
    assert scores.shape == (2, 2, 2)
    np.testing.assert_allclose(scores, expected)
    assert best == (0.6, 3, 0.6)  # first of the two 1.0 entries in grid order
    assert isinstance(best[1], int)


def test_grid_search_matches_brute_force():
    rng = np.random.default_rng(1)
    probs = [rng.random((6, 6)) ** 3 for _ in range(5)]
    probs[4][:] = 0.05  # nearly empty prediction
    gts = [(rng.random((6, 6)) > 0.7).astype(np.uint8) for _ in range(4)]
    gts.append(np.zeros((6, 6), np.uint8))
    tops, areas, bottoms = [0.3, 0.6, 0.9], [0, 2, 5, 40], [0.1, 0.4]
    best, scores = threshold_grid_search(probs, gts, tops, areas, bottoms)
    brute = np.zeros((3, 4, 2))
    for (i, t), (j, a), (k, b) in product(enumerate(tops), enumerate(areas), enumerate(bottoms)):
        brute[i, j, k] = mean_dice([triplet_threshold(p, t, a, b) for p in probs], gts)
    np.testing.assert_allclose(scores, brute)
    i, j, k = np.unravel_index(np.argmax(brute), brute.shape)
    assert best == (tops[i], areas[j], bottoms[k])


def test_grid_search_computes_dice_once_per_image_and_bottom(monkeypatch):
    calls = []
    real = tt.dice_score

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tt, 'dice_score', counting)
    probs, gts = _constructed()
    threshold_grid_search(probs, gts, [0.1, 0.5, 0.9], [0, 1, 2, 3], [0.2, 0.4])
    assert len(calls) == 3 * 2  # images * bottoms, not images * top * area * bottom


def test_grid_search_bad_input():
    probs, gts = _constructed()
    with pytest.raises(ValueError, match='3 probability maps but 2'):
        threshold_grid_search(probs, gts[:2], [0.5], [0], [0.5])
    with pytest.raises(ValueError, match='at least one image'):
        threshold_grid_search([], [], [0.5], [0], [0.5])
    with pytest.raises(ValueError, match=r'top_thresholds\[1\] must be in.*2'):
        threshold_grid_search(probs, gts, [0.5, 2], [0], [0.5])
    with pytest.raises(ValueError, match='min_areas is empty'):
        threshold_grid_search(probs, gts, [0.5], [], [0.5])
    with pytest.raises(ValueError, match='image 1: prob shape'):
        threshold_grid_search(probs, [gts[0], gts[1][:2], gts[2]], [0.5], [0], [0.5])
