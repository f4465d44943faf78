"""Argument types shared by the command-line tools."""
from __future__ import annotations

from typing import List

import numpy as np

__all__ = ['float_range']


def float_range(spec: str) -> List[float]:
    """Parse a list of floats: ``'0.5:0.95:0.05'`` -> [0.5, 0.55, ..., 0.95] (stop included),
    ``'0.3,0.5'`` -> [0.3, 0.5].

    Args:
        spec (str): ``start:stop:step`` or comma-separated values.

    Returns:
        list[float]: The values, rounded to 6 decimals for ``start:stop:step``.
    """
    if ':' in spec:
        start, stop, step = (float(x) for x in spec.split(':'))
        if step <= 0:
            raise ValueError(f'step must be positive in {spec!r}')
        return [round(v, 6) for v in np.arange(start, stop + step / 2, step)]
    return [float(x) for x in spec.split(',')]
