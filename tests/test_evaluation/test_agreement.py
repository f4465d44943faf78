import math

import numpy as np
import pytest

from mmchest.evaluation.agreement import fuse_masks, mean_pairwise_dice, pairwise_dice

# votes per pixel: 3, 2, 1, 1, 0
A = np.array([[1, 1, 1, 0, 0]], dtype=np.uint8)
B = np.array([[1, 1, 0, 1, 0]], dtype=np.uint8)
C = np.array([[1, 0, 0, 0, 0]], dtype=np.uint8)
EMPTY = np.zeros((1, 5), dtype=np.uint8)


def test_pairwise_dice_named():
    d = pairwise_dice({'r1': A, 'r2': B, 'r3': C})
    assert list(d) == [('r1', 'r2'), ('r1', 'r3'), ('r2', 'r3')]
    assert d[('r1', 'r2')] == pytest.approx(2 * 2 / 6)  # |A&B|=2, |A|+|B|=6
    assert d[('r1', 'r3')] == pytest.approx(2 * 1 / 4)
    assert d[('r2', 'r3')] == pytest.approx(2 * 1 / 4)
    assert mean_pairwise_dice({'r1': A, 'r2': B, 'r3': C}) == pytest.approx((2 / 3 + 0.5 + 0.5) / 3)


def test_pairwise_dice_list_uses_indices_and_empty_rule():
    d = pairwise_dice([A, EMPTY, EMPTY])
    assert d == {(0, 1): 0.0, (0, 2): 0.0, (1, 2): 1.0}
    assert pairwise_dice([EMPTY, EMPTY], empty_score=0.0) == {(0, 1): 0.0}
    assert pairwise_dice([A]) == {}
    assert math.isnan(mean_pairwise_dice([A]))


def test_pairwise_dice_shape_mismatch_names_expert():
    with pytest.raises(ValueError, match="expert 'r2'.*expert 'r1'"):
        pairwise_dice({'r1': A, 'r2': A.T})


def test_fuse_majority_three_experts_needs_two():
    out = fuse_masks([A, B, C], 'majority')
    assert out.dtype == np.uint8
    assert out.tolist() == [[1, 1, 0, 0, 0]]


def test_fuse_union_and_intersection():
    assert fuse_masks([A, B, C], 'union').tolist() == [[1, 1, 1, 1, 0]]
    assert fuse_masks([A, B, C], 'intersection').tolist() == [[1, 0, 0, 0, 0]]
    assert fuse_masks({'x': A, 'y': B}, 'union').dtype == np.uint8


def test_fuse_mean_soft_target():
    out = fuse_masks([A, B, C], 'mean')
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1, 2 / 3, 1 / 3, 1 / 3, 0]], rtol=1e-6)


def test_majority_is_strictly_more_than_half():
    # two experts: needs both (= intersection)
    assert fuse_masks([A, B], 'majority').tolist() == [[1, 1, 0, 0, 0]]
    assert fuse_masks([A, C], 'majority').tolist() == [[1, 0, 0, 0, 0]]
    # four experts: 2 of 4 is not a majority, 3 of 4 is
    d = np.array([[0, 1, 1, 0, 0]], dtype=np.uint8)  # votes with A, B, C: 4, 3, 2, 1, 0
    assert fuse_masks([A, B, C, d], 'majority').tolist() == [[1, 1, 0, 0, 0]]
    # one expert: its own mask
    assert fuse_masks([B], 'majority').tolist() == B.tolist()


def test_fuse_accepts_0_255_and_bool():
    out = fuse_masks([A * 255, B.astype(bool), C], 'majority')
    assert out.tolist() == [[1, 1, 0, 0, 0]]


def test_fuse_bad_input():
    with pytest.raises(ValueError, match="'single' is handled by the caller"):
        fuse_masks([A, B], 'single')
    with pytest.raises(ValueError, match="unknown fuse mode 'vote'"):
        fuse_masks([A, B], 'vote')
    with pytest.raises(ValueError, match='at least one mask'):
        fuse_masks([], 'union')
    with pytest.raises(ValueError, match='expert 1 mask shape'):
        fuse_masks([A, A.T], 'union')
    with pytest.raises(ValueError, match='expert 0.*probabilities'):
        fuse_masks([np.array([[0.3, 0.7]]), np.array([[0, 1]])], 'mean')
