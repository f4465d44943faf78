"""Argument types of the command-line tools."""
import pytest

from mmchest.arg_types import float_range


def test_float_range():
    assert float_range('0.1:0.3:0.1') == [0.1, 0.2, 0.3]
    assert float_range('0.3,0.5') == [0.3, 0.5]
    with pytest.raises(ValueError, match='step must be positive'):
        float_range('0.1:0.3:0')
