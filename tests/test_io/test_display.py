"""Tests for mmchest.io.display: hand-computed windows, percentiles and lookups."""
from __future__ import annotations

import numpy as np
import pytest

from mmchest.io.display import (apply_lut, apply_window, lut_domain, percentile_window,
                                weighted_percentiles)


def test_linear_window_edges():
    # c=100, w=11: bottom edge c - 0.5 - 5 = 94.5, top edge 104.5
    x = np.array([94, 94.5, 95, 99.5, 104.5, 105])
    out = apply_window(x, 100, 11)
    np.testing.assert_allclose(out, [0, 0, 12.75, 127.5, 255, 255])
    # width 1: a threshold at c - 0.5
    np.testing.assert_array_equal(apply_window([9, 9.5, 10], 10, 1), [0, 255, 255])
    with pytest.raises(ValueError, match='>= 1'):
        apply_window(x, 100, 0.5)


def test_linear_exact_and_sigmoid():
    np.testing.assert_allclose(apply_window([-1, 0, 5, 10, 11], 5, 10, 'LINEAR_EXACT'),
                               [0, 0, 127.5, 255, 255])
    np.testing.assert_allclose(apply_window([5], 5, 10, 'sigmoid'), [127.5])
    assert apply_window([1e6], 5, 10, 'SIGMOID')[0] == pytest.approx(255)
    # an unknown function is LINEAR, as for an absent tag
    np.testing.assert_array_equal(apply_window([0, 300], 100, 11, 'CUBIC'), [0, 255])
    with pytest.raises(ValueError):
        apply_window([0], 5, 0, 'SIGMOID')


@pytest.mark.parametrize('seed', range(5))
def test_weighted_percentiles_equal_numpy(seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=30).round(2)
    counts = rng.integers(0, 5, 30)
    counts[0] = 1
    q = [0, 0.5, 25, 50, 99.5, 100]
    np.testing.assert_allclose(weighted_percentiles(values, counts, q),
                               np.percentile(np.repeat(values, counts), q))


def test_weighted_percentiles_errors():
    with pytest.raises(ValueError, match='empty'):
        weighted_percentiles([1, 2], [0, 0], [50])
    with pytest.raises(ValueError, match='length'):
        weighted_percentiles([1, 2], [1], [50])


def test_percentile_window():
    np.testing.assert_allclose(percentile_window([0, 10, 15, 20, 30], 10, 20),
                               [0, 0, 127.5, 255, 255])
    np.testing.assert_array_equal(percentile_window([3, 3], 3, 3), [0, 0])


@pytest.mark.parametrize('dtype', ['u1', 'i1', '<u2', '<i2', '>u2', '>i2'])
def test_lut_lookup_every_integer_layout(dtype):
    image = np.array([[0, 1], [7, 100]], dtype=dtype)
    if np.dtype(dtype).kind == 'i':
        image[0, 0] = -5
    domain = lut_domain(image.dtype)
    assert domain.size == 2**(8 * image.dtype.itemsize)
    lut = domain.astype(np.float64) * 2 + 1  # any function of the value
    np.testing.assert_array_equal(apply_lut(lut, image), image.astype(np.float64) * 2 + 1)


def test_lut_domain_none_for_wide_or_float():
    assert lut_domain(np.float32) is None and lut_domain(np.int32) is None


def test_lut_lookup_in_row_blocks_equals_one_take():
    rng = np.random.default_rng(0)
    image = rng.integers(-2000, 4000, (700, 301)).astype('>i2')  # > one block, odd width
    lut = rng.integers(0, 256, 65536).astype(np.uint8)
    expected = lut[image.astype(np.int16).view(np.uint16)]
    np.testing.assert_array_equal(apply_lut(lut, image), expected)
