import math

import numpy as np
import pytest

from mmchest.evaluation.agreement import mean_pairwise_dice, pairwise_dice

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
