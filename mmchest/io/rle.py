"""Run-length encoding of binary masks, as used by SIIM-ACR and other Kaggle tasks.

Two formats are supported, both column-major (the flat pixel index runs down the columns,
i.e. ``mask.flatten(order='F')``), both written as space-separated ``"a b"`` pairs:

* **SIIM relative** (``relative=True``; ``train-rle.csv`` stage 1 and ``stage_2_train.csv``):
  ``"offset length"``, where each offset counts from the end of the previous run (the first
  one from pixel 0), exactly as the competition's ``mask_functions.py`` ``rle2mask``.
* **Standard absolute** (``relative=False``; most other Kaggle segmentation tasks):
  ``"start length"`` with 1-indexed absolute starts.

Empty masks are spelled ``'-1'`` / ``' -1'`` (SIIM), ``''``, whitespace, ``None`` or float NaN.

Decisions on malformed input (all raise :class:`RLEError` naming the image id and row when given):

* an odd number of values, non-integer or non-ASCII tokens;
* negative offsets (relative) or absolute starts < 1;
* zero or negative lengths: no encoder writes them, so they signal a corrupted or shifted row;
* runs that end past the last pixel of the image.

Absolute runs may come in any order and may overlap (their union is taken), as most Kaggle
decoders allow. Relative runs cannot overlap by construction; an offset of 0 after the first run
(two touching runs) is accepted. Encoding never writes touching, overlapping or empty runs.

Everything is vectorised with numpy: there is no Python loop over runs or pixels.
"""
import math
import re
import warnings
from typing import Iterable, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ['RLEError', 'is_empty_rle', 'rle_decode', 'rle_decode_rows', 'rle_encode', 'rle_extent']

RLEValue = Union[str, float, int, None]

# Character classes for strict integer parsing; whitespace is tab, LF, VT, FF, CR and space.
_INVALID, _SPACE, _DIGIT, _SIGN = 0, 1, 2, 3
_CHAR_CLASS = np.full(256, _INVALID, dtype=np.uint8)
_CHAR_CLASS[[9, 10, 11, 12, 13, 32]] = _SPACE
_CHAR_CLASS[48:58] = _DIGIT
_CHAR_CLASS[[43, 45]] = _SIGN  # '+', '-'
_INT_TOKEN = re.compile(r'[+-]?\d+')


class RLEError(ValueError):
    """A run-length encoded mask that cannot be decoded (or a mask that cannot be encoded)."""


def _where(image_id: Optional[str], row: Optional[int]) -> str:
    """Describe the location of an RLE string for error messages."""
    parts = []
    if image_id is not None:
        parts.append(f'image {image_id!r}')
    if row is not None:
        parts.append(f'row {row}')
    return 'RLE' + (' for ' + ', '.join(parts) if parts else '')


def is_empty_rle(value: RLEValue) -> bool:
    """Tell whether a CSV cell spells an empty mask.

    Args:
        value (str | float | int | None): the cell: ``'-1'``, ``' -1'``, ``''``, whitespace,
            ``None``, float NaN and the integer ``-1`` all mean "no mask".

    Returns:
        bool: True for an empty spelling, False for anything else (which may still be malformed).
    """
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()
        return stripped in ('', '-1')
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return int(value) == -1
    if isinstance(value, (float, np.floating)):
        return math.isnan(value) or float(value) == -1.0
    return False


def _check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """Validate an ``(H, W)`` shape."""
    try:
        height, width = (int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'shape must be (height, width), got {shape!r}') from exc
    if height <= 0 or width <= 0:
        raise ValueError(f'shape must be positive, got {shape!r}')
    return height, width


def _bad_token_message(text: str) -> str:
    """Find the first token that is not an integer (error path only, may loop)."""
    for index, token in enumerate(text.split()):
        if not _INT_TOKEN.fullmatch(token):
            shown = token if len(token) <= 20 else token[:20] + '...'
            return f'value #{index} {shown!r} is not an integer'
    return 'contains a value that is not an integer'


def _parse_ints(text: str, where: str) -> np.ndarray:
    """Parse whitespace-separated integers, strictly, without a Python loop over tokens."""
    try:
        raw = np.frombuffer(text.encode('ascii'), dtype=np.uint8)
    except UnicodeEncodeError as exc:
        raise RLEError(f'{where}: contains non-ASCII characters') from exc
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    char_class = _CHAR_CLASS[raw]
    if not char_class.all():
        raise RLEError(f'{where}: {_bad_token_message(text)}')
    space = char_class == _SPACE
    sign = char_class == _SIGN
    if sign.any():  # a sign must open a token and be followed by a digit
        prev_space = np.concatenate(([True], space[:-1]))
        next_digit = np.concatenate((char_class[1:] == _DIGIT, [False]))
        if np.any(sign & ~(prev_space & next_digit)):
            raise RLEError(f'{where}: {_bad_token_message(text)}')
    num_tokens = int(np.count_nonzero(space[:-1] & ~space[1:])) + int(not space[0])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        try:
            values = np.fromstring(text, dtype=np.int64, sep=' ')
        except (ValueError, DeprecationWarning) as exc:  # pragma: no cover - guarded above
            raise RLEError(f'{where}: {_bad_token_message(text)}') from exc
    if values.size != num_tokens:  # pragma: no cover - guarded above
        raise RLEError(f'{where}: could not parse all {num_tokens} values')
    return values


def _format_ints(values: np.ndarray) -> str:
    """Write non-negative integers as space-separated decimals, vectorised over the values.

    ``' '.join(map(str, values))`` costs a few hundred nanoseconds a value, which dominates
    encoding masks with many runs; here the digits are computed with array arithmetic, one
    pass per decimal place over the values that have that place.
    """
    num_digits = np.searchsorted(10**np.arange(1, 19, dtype=np.int64), values, side='right') + 1
    ends = np.cumsum(num_digits + 1) - 1  # index of the separator after each value
    chars = np.full(int(ends[-1]) + 1, ord(' '), dtype=np.uint8)
    position, remaining = ends - 1, values
    while True:  # one pass per decimal place, each over the values that still have digits left
        remaining, digit = np.divmod(remaining, 10)
        chars[position] = digit + ord('0')
        more = np.flatnonzero(remaining)
        if more.size == 0:
            return chars[:-1].tobytes().decode('ascii')
        position, remaining = position[more] - 1, remaining[more]


def _runs(rle: RLEValue, num_pixels: int, relative: bool, image_id: Optional[str],
          row: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Decode one RLE cell into validated 0-indexed ``[start, end)`` runs (flat, column-major)."""
    if is_empty_rle(rle):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    where = _where(image_id, row)
    if not isinstance(rle, str):
        raise RLEError(f'{where}: expected a string, got {type(rle).__name__} {rle!r}')
    values = _parse_ints(rle, where)
    if values.size % 2:
        raise RLEError(f'{where}: odd number of values ({values.size}); expected '
                       f'"{"offset" if relative else "start"} length" pairs')
    firsts, lengths = values[0::2], values[1::2]
    if lengths.size and lengths.min() < 1:
        pair = int(np.argmax(lengths < 1))
        raise RLEError(f'{where}: pair #{pair} has length {int(lengths[pair])}; '
                       'lengths must be >= 1')
    if values.max() > num_pixels:  # also keeps the cumulative sums below from overflowing
        pair = int(np.argmax((firsts > num_pixels) | (lengths > num_pixels)))
        raise RLEError(f'{where}: pair #{pair} runs past the end of the image '
                       f'(value {int(max(firsts[pair], lengths[pair]))} > {num_pixels} pixels)')
    if relative:
        if firsts.min() < 0:
            pair = int(np.argmax(firsts < 0))
            raise RLEError(f'{where}: pair #{pair} has negative offset {int(firsts[pair])}')
        ends = np.cumsum(firsts + lengths)
        starts = ends - lengths
    else:
        if firsts.min() < 1:
            pair = int(np.argmax(firsts < 1))
            raise RLEError(f'{where}: pair #{pair} has start {int(firsts[pair])}; '
                           'absolute starts are 1-indexed')
        starts = firsts - 1
        ends = starts + lengths
    if ends.max() > num_pixels:
        pair = int(np.argmax(ends > num_pixels))
        raise RLEError(f'{where}: pair #{pair} runs past the end of the image '
                       f'(ends at pixel {int(ends[pair])} of {num_pixels})')
    return starts, ends


def _paint(starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> np.ndarray:
    """Paint the union of column-major ``[start, end)`` runs into a C-ordered ``(H, W)`` mask.

    Transposing a column-major buffer costs more than everything else together, so the mask is
    built directly in C order. Small masks (the usual case, up to 1/32 of the image) scatter
    their pixels. Larger ones get a toggle in each column where a run starts, one row below
    where a run ends (row H is scratch) and at the top when a run enters from the previous
    column; a cumulative XOR down the columns (eight at a time, through a uint64 view) then
    fills the runs.
    """
    if starts.size == 0:
        return np.zeros((height, width), dtype=np.uint8)
    order = np.argsort(starts, kind='stable')
    starts, ends = starts[order], ends[order]
    # Merge overlapping or touching runs into disjoint groups: a run opens a new group when it
    # starts after every previous run has ended.
    reach = np.maximum.accumulate(ends)
    opens = np.empty(starts.size, dtype=bool)
    opens[0] = True
    opens[1:] = starts[1:] > reach[:-1]
    starts = starts[opens]
    ends = reach[np.flatnonzero(np.append(opens[1:], True))]
    lengths = ends - starts
    area = int(lengths.sum())
    if area <= height * width // 32:
        first_pixel = np.cumsum(lengths) - lengths  # index of each run's first pixel in `pixels`
        pixels = np.arange(area, dtype=np.int64) + np.repeat(starts - first_pixel, lengths)
        rows, cols = np.divmod(pixels, height)[::-1]
        mask = np.zeros((height, width), dtype=np.uint8)
        mask.ravel()[rows * width + cols] = 1
        return mask
    padded_width = -(-width // 8) * 8
    toggles = np.zeros((height + 1, padded_width), dtype=np.uint8)
    toggles[starts % height, starts // height] = 1
    toggles[(ends - 1) % height + 1, (ends - 1) // height] = 1
    tops = np.arange(1, width, dtype=np.int64) * height
    run = np.maximum(np.searchsorted(starts, tops, side='right') - 1, 0)
    toggles[0, 1:width][(starts[run] < tops) & (ends[run] > tops)] = 1
    words = toggles.view(np.uint64)
    np.bitwise_xor.accumulate(words, axis=0, out=words)
    mask = toggles[:height, :width]
    return mask if padded_width == width else np.ascontiguousarray(mask)


def rle_decode(rle: RLEValue,
               shape: Tuple[int, int],
               relative: bool = True,
               *,
               image_id: Optional[str] = None,
               row: Optional[int] = None) -> np.ndarray:
    """Decode one RLE string into a binary mask.

    Args:
        rle (str | float | None): the encoded pixels; any empty spelling (see
            :func:`is_empty_rle`) gives an all-zero mask.
        shape (tuple[int, int]): ``(height, width)`` of the image.
        relative (bool): True for SIIM relative offsets, False for 1-indexed absolute starts.
            Defaults to True.
        image_id (str, optional): image id, only used in error messages. Defaults to None.
        row (int, optional): row index in the CSV, only used in error messages.
            Defaults to None.

    Returns:
        np.ndarray: uint8 mask of ``shape`` with values 0 and 1.

    Raises:
        RLEError: if the string is malformed (see the module docstring).
    """
    height, width = _check_shape(shape)
    starts, ends = _runs(rle, height * width, relative, image_id, row)
    return _paint(starts, ends, height, width)


def rle_decode_rows(rles: Iterable[RLEValue],
                    shape: Tuple[int, int],
                    relative: bool = True,
                    image_id: Optional[str] = None) -> np.ndarray:
    """Decode several RLE rows of one image into the union of their masks.

    SIIM lists one row per connected lesion (up to 10 per image, some overlapping); an image
    whose only row is empty has no pneumothorax.

    Args:
        rles (Iterable[str | float | None]): the rows, in file order; empty spellings are
            skipped.
        shape (tuple[int, int]): ``(height, width)`` of the image.
        relative (bool): True for SIIM relative offsets, False for 1-indexed absolute starts.
            Defaults to True.
        image_id (str, optional): image id, only used in error messages. Defaults to None.

    Returns:
        np.ndarray: uint8 mask of ``shape`` with values 0 and 1.

    Raises:
        RLEError: if any row is malformed; the message names the image id and the row's index
            within ``rles``.
    """
    height, width = _check_shape(shape)
    num_pixels = height * width
    all_starts, all_ends = [], []
    for row, rle in enumerate(rles):  # loop over rows (a handful), not over runs
        starts, ends = _runs(rle, num_pixels, relative, image_id, row)
        all_starts.append(starts)
        all_ends.append(ends)
    if not all_starts:
        return np.zeros((height, width), dtype=np.uint8)
    return _paint(np.concatenate(all_starts), np.concatenate(all_ends), height, width)


def rle_extent(rle: RLEValue, relative: bool = True) -> int:
    """How many pixels an image needs to hold the runs: one past the last pixel they cover.

    Lets a dataset compare a mask with the image's Rows x Columns from its header, without
    decoding either (0 for an empty mask).

    Args:
        rle (str | float | None): the encoded pixels (see :func:`rle_decode`).
        relative (bool): True for SIIM relative offsets, False for 1-indexed absolute starts.
            Defaults to True.

    Returns:
        int: the flat, column-major end of the last run.

    Raises:
        RLEError: if the string is not whitespace-separated integers in pairs.
    """
    if is_empty_rle(rle):
        return 0
    if not isinstance(rle, str):
        raise RLEError(f'RLE: expected a string, got {type(rle).__name__} {rle!r}')
    values = _parse_ints(rle, 'RLE')
    if values.size % 2:
        raise RLEError(f'RLE: odd number of values ({values.size})')
    if values.size == 0:
        return 0
    if relative:
        return int(values.sum())
    return int((values[0::2] - 1 + values[1::2]).max())


def rle_encode(mask: np.ndarray, relative: bool = True) -> str:
    """Encode a binary mask as an RLE string.

    Args:
        mask (np.ndarray): ``(H, W)`` array; every non-zero pixel is foreground (so SIIM's
            0/255 masks work as they are).
        relative (bool): True for SIIM relative offsets, False for 1-indexed absolute starts.
            Defaults to True.

    Returns:
        str: the runs as ``"a b a b ..."``; an empty mask gives ``'-1'`` (SIIM's spelling) when
        ``relative`` is True and ``''`` (the usual Kaggle spelling) otherwise.

    Raises:
        RLEError: if ``mask`` is not two-dimensional.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise RLEError(f'expected a 2-D mask, got shape {mask.shape}')
    height, width = mask.shape
    # Column-major run boundaries, found without transposing the mask (see _paint): inside a
    # column a boundary is a vertical change, at the top of a column it is a change from the
    # bottom of the previous column, and a run that covers the last pixel ends at H * W.
    fg = mask if mask.dtype == bool else mask != 0
    rows, cols = np.divmod(np.flatnonzero(fg[1:] != fg[:-1]), width)
    top_cols = np.flatnonzero(fg[0] != np.concatenate(([False], fg[-1, :-1])))
    changes = np.concatenate((cols * height + rows + 1, top_cols * height,
                              [height * width] if fg[-1, -1] else []))
    if changes.size == 0:
        return '-1' if relative else ''
    changes = np.sort(changes.astype(np.int64))
    starts, ends = changes[0::2], changes[1::2]
    lengths = ends - starts
    pairs = np.empty(2 * starts.size, dtype=np.int64)
    if relative:
        pairs[0::2] = starts - np.concatenate(([0], ends[:-1]))
    else:
        pairs[0::2] = starts + 1
    pairs[1::2] = lengths
    return _format_ints(pairs)
