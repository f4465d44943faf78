"""Map radiograph intensities to 8-bit display values, as a DICOM viewer does (numpy only).

Pure functions used by :func:`mmchest.io.dicom.read_dicom` with ``norm='auto'``:

- :func:`apply_window`: the VOI window functions of DICOM PS3.3 C.11.2.1.2 (LINEAR,
  LINEAR_EXACT, SIGMOID) onto 0..255;
- :func:`percentile_window`: the fallback when a file has no VOI LUT or window, a linear
  window between two percentiles of the image (robust to a few extreme pixels);
- :func:`weighted_percentiles`: percentiles of an integer image from its histogram, equal to
  ``np.percentile(image, q)`` (linear interpolation) without sorting the image.

For integer images of at most 16 bits the mapping is evaluated once per possible stored value
(a lookup table of 256 or 65,536 entries) and applied with one ``np.take``, which is what makes
a 2k x 2.5k 16-bit radiograph cheaper to display than pydicom's float64 pipeline.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ['WINDOW_FUNCTIONS', 'apply_window', 'percentile_window', 'weighted_percentiles',
           'lut_domain', 'apply_lut']

#: VOI LUT Function values understood by :func:`apply_window` (PS3.3 C.11.2.1.3).
WINDOW_FUNCTIONS: tuple[str, ...] = ('LINEAR', 'LINEAR_EXACT', 'SIGMOID')


def apply_window(values: np.ndarray, center: float, width: float,
                 function: str = 'LINEAR') -> np.ndarray:
    """Window ``values`` onto 0..255 with a DICOM VOI LUT Function.

    - ``'LINEAR'`` (the default of the standard): below ``c - 0.5 - (w - 1) / 2`` -> 0,
      above ``c - 0.5 + (w - 1) / 2`` -> 255, else ``((x - (c - 0.5)) / (w - 1) + 0.5) * 255``;
      requires ``w >= 1`` (``w == 1`` is a threshold at ``c - 0.5``).
    - ``'LINEAR_EXACT'``: ``((x - c) / w + 0.5) * 255`` clipped; requires ``w > 0``.
    - ``'SIGMOID'``: ``255 / (1 + exp(-4 (x - c) / w))``; requires ``w > 0``.

    Args:
        values (np.ndarray): Modality-LUT output values (any real dtype).
        center (float): Window Center.
        width (float): Window Width.
        function (str): One of :data:`WINDOW_FUNCTIONS`; unknown values are read as
            ``'LINEAR'``, as the standard prescribes for an absent tag. Defaults to 'LINEAR'.

    Returns:
        np.ndarray: float64 values in [0, 255], same shape as ``values``.

    Raises:
        ValueError: A width that the function does not allow.
    """
    x = np.asarray(values, dtype=np.float64)
    function = function.upper() if function.upper() in WINDOW_FUNCTIONS else 'LINEAR'
    if function == 'LINEAR':
        if not width >= 1:
            raise ValueError(f'LINEAR window width must be >= 1, got {width}')
        if width == 1:
            return np.where(x < center - 0.5, 0.0, 255.0)
        return np.clip(((x - (center - 0.5)) / (width - 1) + 0.5) * 255, 0, 255)
    if not width > 0:
        raise ValueError(f'{function} window width must be > 0, got {width}')
    if function == 'LINEAR_EXACT':
        return np.clip(((x - center) / width + 0.5) * 255, 0, 255)
    with np.errstate(over='ignore'):
        return 255 / (1 + np.exp(-4 * (x - center) / width))


def weighted_percentiles(values: np.ndarray, counts: np.ndarray,
                         q: Sequence[float]) -> np.ndarray:
    """Percentiles of a multiset given as distinct ``values`` with ``counts``.

    Equals ``np.percentile(np.repeat(values, counts), q)`` (numpy's default linear
    interpolation between order statistics) in ``O(len(values) log len(values))``.

    Args:
        values (np.ndarray): 1-D values (any order, repeats allowed).
        counts (np.ndarray): 1-D non-negative integer counts, same length.
        q (Sequence[float]): Percentiles in [0, 100].

    Returns:
        np.ndarray: float64 percentiles, one per ``q``.

    Raises:
        ValueError: Empty multiset (all counts zero) or mismatched lengths.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    counts = np.asarray(counts).ravel()
    if values.shape != counts.shape:
        raise ValueError(f'values ({values.size}) and counts ({counts.size}) differ in length')
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    if values.size == 0:
        raise ValueError('percentiles of an empty image')
    order = np.argsort(values, kind='stable')
    values, cum = values[order], np.cumsum(counts[order])
    n = int(cum[-1])
    k = (n - 1) * np.asarray(q, dtype=np.float64) / 100
    below = np.floor(k).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    v_below = values[np.searchsorted(cum, below, side='right')]
    v_above = values[np.searchsorted(cum, above, side='right')]
    return v_below + (v_above - v_below) * (k - below)


def percentile_window(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear map of ``[lo, hi]`` onto 0..255, clipped outside.

    When ``hi <= lo`` (a nearly constant image) the caller should widen the interval
    (e.g. to the image's min..max); a constant image maps to 0.

    Args:
        values (np.ndarray): Values to map.
        lo (float): Value shown black.
        hi (float): Value shown white.

    Returns:
        np.ndarray: float64 values in [0, 255].
    """
    x = np.asarray(values, dtype=np.float64)
    if not hi > lo:
        return np.zeros(x.shape, np.float64)
    return (np.clip(x, lo, hi) - lo) / (hi - lo) * 255


def lut_domain(dtype: np.dtype) -> np.ndarray | None:
    """Every value of an 8/16-bit integer ``dtype`` (native byte order), in unsigned-view order.

    ``lut[image.view(unsigned)]`` then looks up each pixel of an image of that dtype
    (signed values wrap: index 65535 is -1 for int16).

    Args:
        dtype (np.dtype): The image dtype.

    Returns:
        np.ndarray | None: ``2**bits`` values of ``dtype``; None for other dtypes
        (floats, 32-bit integers), which are mapped pixel by pixel instead.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in 'iu' or dtype.itemsize > 2:
        return None
    return np.arange(2**(8 * dtype.itemsize), dtype=f'=u{dtype.itemsize}').view(
        f'={dtype.kind}{dtype.itemsize}')


def apply_lut(lut: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Look up every pixel of an 8/16-bit integer ``image`` in ``lut`` (from :func:`lut_domain`).

    Args:
        lut (np.ndarray): One output per value of :func:`lut_domain` of ``image.dtype``.
        image (np.ndarray): Integer image (uint8/int8/uint16/int16, any byte order).

    Returns:
        np.ndarray: ``image``'s shape, ``lut``'s dtype.
    """
    image = np.asarray(image)
    index = image.astype(f'={image.dtype.kind}{image.dtype.itemsize}', copy=False).view(
        f'=u{image.dtype.itemsize}')
    if index.ndim < 2 or index.size <= _LOOKUP_BLOCK:
        return np.take(lut, index)
    # np.take converts the index to intp first: doing it in row blocks keeps that copy in
    # cache (about 3x faster than one call on a 2k x 2.5k image).
    out = np.empty(index.shape, lut.dtype)
    rows = max(1, _LOOKUP_BLOCK // (index.size // index.shape[0]))
    for start in range(0, index.shape[0], rows):
        np.take(lut, index[start:start + rows], out=out[start:start + rows])
    return out


_LOOKUP_BLOCK = 1 << 17  # pixels per np.take call in apply_lut
