"""Tests for mmchest.io.rle: SIIM relative and standard absolute RLE, column-major."""
import numpy as np
import pytest

from mmchest.io.rle import RLEError, is_empty_rle, rle_decode, rle_decode_rows, rle_encode

# H=3, W=4. Column-major flat order: col0 = 1 1 0, col1 = 1 0 0, col2 = 0 0 0, col3 = 0 0 1
# -> flat 1 1 0 1 0 0 0 0 0 0 0 1 -> runs [0, 2), [3, 4), [11, 12).
MASK_3X4 = np.array([[1, 1, 0, 0],
                     [1, 0, 0, 0],
                     [0, 0, 0, 1]], dtype=np.uint8)
REL_3X4 = '0 2 1 1 7 1'  # offsets from the end of the previous run: 0, 3-2, 11-4
ABS_3X4 = '1 2 4 1 12 1'  # 1-indexed starts: 0+1, 3+1, 11+1

# H=4, W=3. col0 = 0 0 1 1, col1 = 1 0 0 0, col2 = 0 0 0 1
# -> flat 0 0 1 1 1 0 0 0 0 0 0 1 -> runs [2, 5), [11, 12).
MASK_4X3 = np.array([[0, 1, 0],
                     [0, 0, 0],
                     [1, 0, 0],
                     [1, 0, 1]], dtype=np.uint8)
REL_4X3 = '2 3 6 1'
ABS_4X3 = '3 3 12 1'


def official_rle2mask(rle: str, width: int, height: int) -> np.ndarray:
    """The SIIM competition's mask_functions.rle2mask (callers transpose the result)."""
    mask = np.zeros(width * height)
    array = np.asarray([int(x) for x in rle.split()])
    starts = array[0::2]
    lengths = array[1::2]
    current_position = 0
    for index, start in enumerate(starts):
        current_position += start
        mask[current_position:current_position + lengths[index]] = 255
        current_position += lengths[index]
    return mask.reshape(width, height)


@pytest.mark.parametrize('mask,rel,absolute', [(MASK_3X4, REL_3X4, ABS_3X4),
                                               (MASK_4X3, REL_4X3, ABS_4X3)])
def test_hand_computed_cases(mask, rel, absolute):
    assert rle_encode(mask) == rel
    assert rle_encode(mask, relative=True) == rel
    assert rle_encode(mask, relative=False) == absolute
    for string, relative in ((rel, True), (absolute, False)):
        decoded = rle_decode(string, mask.shape, relative)
        assert decoded.dtype == np.uint8
        assert decoded.shape == mask.shape
        assert decoded.flags['C_CONTIGUOUS']
        np.testing.assert_array_equal(decoded, mask)


def test_column_major_orientation():
    # Three pixels from pixel 0 fill the first column (down), not the first row (across).
    decoded = rle_decode('0 3', (3, 4))
    expected = np.zeros((3, 4), np.uint8)
    expected[:, 0] = 1
    np.testing.assert_array_equal(decoded, expected)
    # A run crossing a column boundary wraps to the top of the next column.
    decoded = rle_decode('2 2', (3, 4))
    expected = np.zeros((3, 4), np.uint8)
    expected[2, 0] = expected[0, 1] = 1
    np.testing.assert_array_equal(decoded, expected)


def test_matches_official_rle2mask():
    rng = np.random.default_rng(0)
    height, width = 7, 5
    for _ in range(20):
        mask = (rng.random((height, width)) < 0.4).astype(np.uint8)
        rle = rle_encode(mask)
        if rle == '-1':
            continue
        official = official_rle2mask(rle, width, height).T
        np.testing.assert_array_equal(official / 255, mask)
        np.testing.assert_array_equal(rle_decode(rle, (height, width)), mask)


def loop_encode(mask: np.ndarray, relative: bool) -> str:
    """Slow reference encoder: walk the column-major pixels one by one."""
    flat = [int(v != 0) for v in mask.T.ravel()] + [0]
    values, start, previous_end = [], None, 0
    for index, value in enumerate(flat):
        if value and start is None:
            start = index
        elif not value and start is not None:
            values += [start - previous_end if relative else start + 1, index - start]
            previous_end, start = index, None
    return ' '.join(map(str, values)) or ('-1' if relative else '')


@pytest.mark.parametrize('relative', [True, False])
@pytest.mark.parametrize('shape', [(1, 1), (2, 1), (1, 2), (7, 5), (5, 7), (8, 8), (150, 90)])
def test_encode_matches_loop_reference(relative, shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for density in (0.02, 0.3, 0.7, 0.98):
        mask = (rng.random(shape) < density).astype(np.uint8)
        assert rle_encode(mask, relative) == loop_encode(mask, relative)


@pytest.mark.parametrize('value', ['-1', ' -1', '-1 ', '', '   ', '\t\n', None, float('nan'),
                                   np.nan, np.float32('nan'), -1, -1.0])
def test_empty_spellings(value):
    assert is_empty_rle(value)
    np.testing.assert_array_equal(rle_decode(value, (3, 4)), np.zeros((3, 4), np.uint8))
    np.testing.assert_array_equal(rle_decode(value, (3, 4), relative=False),
                                  np.zeros((3, 4), np.uint8))


@pytest.mark.parametrize('value', ['0 1', '1', ' 1 2', 0, 1, 2.5, True, [1, 2]])
def test_not_empty(value):
    assert not is_empty_rle(value)


def test_encode_empty_and_full():
    assert rle_encode(np.zeros((3, 4), np.uint8)) == '-1'
    assert rle_encode(np.zeros((3, 4), np.uint8), relative=False) == ''
    assert rle_encode(np.ones((3, 4), np.uint8)) == '0 12'
    assert rle_encode(np.ones((3, 4), np.uint8), relative=False) == '1 12'
    np.testing.assert_array_equal(rle_decode('0 12', (3, 4)), np.ones((3, 4), np.uint8))
    np.testing.assert_array_equal(rle_decode('1 12', (3, 4), False), np.ones((3, 4), np.uint8))


def test_encode_treats_nonzero_as_foreground():
    assert rle_encode(MASK_3X4 * 255) == REL_3X4
    assert rle_encode(MASK_3X4.astype(bool)) == REL_3X4
    assert rle_encode(MASK_3X4.astype(np.float32) * 0.5) == REL_3X4


def test_encode_rejects_non_2d():
    with pytest.raises(RLEError, match='2-D'):
        rle_encode(np.zeros((2, 3, 4), np.uint8))


@pytest.mark.parametrize('relative', [True, False])
@pytest.mark.parametrize('shape', [(1, 1), (1, 9), (9, 1), (5, 8), (64, 37), (300, 200)])
def test_round_trip_random(relative, shape):
    rng = np.random.default_rng(sum(shape) + relative)
    for density in (0.0, 0.05, 0.5, 0.95, 1.0):
        mask = (rng.random(shape) < density).astype(np.uint8)
        decoded = rle_decode(rle_encode(mask, relative), shape, relative)
        np.testing.assert_array_equal(decoded, mask)


@pytest.mark.parametrize('relative', [True, False])
def test_round_trip_borders(relative):
    mask = np.zeros((6, 5), np.uint8)
    mask[0, :] = 1  # top row: one pixel per column
    mask[:, -1] = 1  # last column: runs to the last pixel
    mask[-1, 0] = 1  # bottom of the first column, touching the top of the second
    rle = rle_encode(mask, relative)
    np.testing.assert_array_equal(rle_decode(rle, mask.shape, relative), mask)


def test_relative_touching_runs_are_accepted():
    # An offset of 0 after a run makes the two runs touch.
    np.testing.assert_array_equal(rle_decode('0 1 0 1', (2, 2)),
                                  np.array([[1, 0], [1, 0]], np.uint8))


def test_absolute_unsorted_and_overlapping_runs_union():
    decoded = rle_decode('4 2 1 2 2 2', (3, 2), relative=False)
    # Runs [3, 5), [0, 2), [1, 3) -> union [0, 5) -> all but the last pixel (bottom right).
    expected = np.array([[1, 1], [1, 1], [1, 0]], np.uint8)
    np.testing.assert_array_equal(decoded, expected)


def test_decode_rows_union_with_overlap():
    shape = (3, 4)
    rows = ['0 2', ' -1', '1 3', '10 2']  # [0, 2), empty, [1, 4), [10, 12)
    decoded = rle_decode_rows(rows, shape, image_id='img')
    flat = np.zeros(12, np.uint8)
    flat[0:4] = 1
    flat[10:12] = 1
    np.testing.assert_array_equal(decoded, flat.reshape(4, 3).T)


def test_decode_rows_split_lesion_round_trip():
    rng = np.random.default_rng(3)
    parts = [(rng.random((16, 12)) < 0.2).astype(np.uint8) for _ in range(3)]
    union = np.maximum.reduce(parts)
    for relative in (True, False):
        rows = [rle_encode(part, relative) for part in parts]
        np.testing.assert_array_equal(rle_decode_rows(rows, union.shape, relative), union)


def test_decode_rows_empty_inputs():
    np.testing.assert_array_equal(rle_decode_rows([], (2, 3)), np.zeros((2, 3), np.uint8))
    np.testing.assert_array_equal(rle_decode_rows([' -1', float('nan'), None], (2, 3)),
                                  np.zeros((2, 3), np.uint8))


@pytest.mark.parametrize('rle,relative,message', [
    ('0 2 5', True, r'odd number of values \(3\)'),
    ('0 a', True, r"value #1 'a' is not an integer"),
    ('0 1.5', True, r"value #1 '1.5' is not an integer"),
    ('1e3 2', True, r"value #0 '1e3' is not an integer"),
    ('0 1 +', True, r"value #2 '\+' is not an integer"),
    ('0 1-2 3', True, r"value #1 '1-2' is not an integer"),
    ('0 1 é', True, 'contains non-ASCII characters'),
    ('-3 2', True, r'pair #0 has negative offset -3'),
    ('0 -2', True, r'pair #0 has length -2'),
    ('0 2 1 0', True, r'pair #1 has length 0'),
    ('5 8', True, r'pair #0 runs past the end of the image \(ends at pixel 13 of 12\)'),
    ('0 5 4 4', True, r'pair #1 runs past the end .*ends at pixel 13 of 12'),
    ('99999999999999999999 1', True, r'pair #0 runs past the end'),
    ('0 2', False, r'pair #0 has start 0; absolute starts are 1-indexed'),
    ('12 2', False, r'pair #0 runs past the end .*ends at pixel 13 of 12'),
    ('13 1', False, r'pair #0 runs past the end'),
])
def test_malformed_names_image_and_row(rle, relative, message):
    with pytest.raises(RLEError, match=r"RLE for image '1\.2\.3', row 7: " + message):
        rle_decode(rle, (3, 4), relative, image_id='1.2.3', row=7)
    # Without context the message still says what was wrong.
    with pytest.raises(RLEError, match=r'^RLE: ' + message):
        rle_decode(rle, (3, 4), relative)


def test_malformed_non_string():
    with pytest.raises(RLEError, match="image 'a', row 0: expected a string, got list"):
        rle_decode([0, 1], (3, 4), image_id='a', row=0)


def test_rle_error_is_value_error():
    assert issubclass(RLEError, ValueError)


def test_decode_rows_error_names_row_index():
    with pytest.raises(RLEError, match=r"image 'abc', row 2: odd number"):
        rle_decode_rows(['0 1', ' -1', '0 1 2'], (3, 4), image_id='abc')


@pytest.mark.parametrize('shape', [(0, 3), (3, -1), (3,), 'ab'])
def test_bad_shape(shape):
    with pytest.raises(ValueError, match='shape'):
        rle_decode('0 1', shape)

