"""Reading expert masks from .png / .npz (mmchest/io/expert_masks.py)."""
import cv2
import numpy as np
import pytest

from mmchest.io.expert_masks import ExpertMaskError, find_expert_mask, read_expert_mask

MASK = np.array([[0, 1, 1], [0, 0, 1]], dtype=np.uint8)


def test_png_01_and_0255_read_as_01(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), MASK)
    cv2.imwrite(str(tmp_path / 'b.png'), MASK * 255)
    for name in ('a.png', 'b.png'):
        out = read_expert_mask(tmp_path / name)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, MASK)


def test_png_grey_as_rgb_accepted_but_colour_rejected(tmp_path):
    cv2.imwrite(str(tmp_path / 'rgb.png'), np.dstack([MASK * 255] * 3))
    np.testing.assert_array_equal(read_expert_mask(tmp_path / 'rgb.png'), MASK)
    colour = np.dstack([MASK * 255, MASK * 0, MASK * 255])
    cv2.imwrite(str(tmp_path / 'col.png'), colour)
    with pytest.raises(ExpertMaskError, match='col.png.*differing channels'):
        read_expert_mask(tmp_path / 'col.png')


def test_npz_mask_key(tmp_path):
    np.savez(tmp_path / 'm.npz', mask=MASK.astype(bool), other=np.zeros(3))
    np.testing.assert_array_equal(read_expert_mask(tmp_path / 'm.npz'), MASK)


def test_npz_single_array_any_key(tmp_path):
    np.savez_compressed(tmp_path / 'm.npz', arr_0=MASK.astype(np.float32))
    np.testing.assert_array_equal(read_expert_mask(tmp_path / 'm.npz'), MASK)
    np.savez(tmp_path / 'n.npz', seg=MASK[None])  # (1, H, W) squeezed
    np.testing.assert_array_equal(read_expert_mask(tmp_path / 'n.npz'), MASK)


def test_npz_ambiguous_or_empty_fails_clearly(tmp_path):
    np.savez(tmp_path / 'two.npz', a=MASK, b=MASK)
    with pytest.raises(ExpertMaskError, match=r"two.npz.*no 'mask' array and 2 arrays \(a, b\)"):
        read_expert_mask(tmp_path / 'two.npz')
    np.savez(tmp_path / 'none.npz')
    with pytest.raises(ExpertMaskError, match='none.npz.*0 arrays'):
        read_expert_mask(tmp_path / 'none.npz')


def test_bad_values_shape_suffix_and_corrupt(tmp_path):
    np.savez(tmp_path / 'v.npz', mask=np.array([[0, 2], [1, 0]]))
    with pytest.raises(ExpertMaskError, match='v.npz.*0/1.*found 0, 1, 2'):
        read_expert_mask(tmp_path / 'v.npz')
    np.savez(tmp_path / 's.npz', mask=np.zeros((2, 2, 2)))
    with pytest.raises(ExpertMaskError, match=r's.npz.*2-D.*\(2, 2, 2\)'):
        read_expert_mask(tmp_path / 's.npz')
    (tmp_path / 'm.bmp').write_bytes(b'x')
    with pytest.raises(ExpertMaskError, match='unsupported mask suffix'):
        read_expert_mask(tmp_path / 'm.bmp')
    (tmp_path / 'c.npz').write_bytes(b'not a zip')
    with pytest.raises(ExpertMaskError, match='c.npz.*not a readable'):
        read_expert_mask(tmp_path / 'c.npz')
    (tmp_path / 'c.png').write_bytes(b'not a png')
    with pytest.raises(ExpertMaskError, match='c.png.*cannot be decoded'):
        read_expert_mask(tmp_path / 'c.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        read_expert_mask(tmp_path / 'gone.png')


def test_empty_mask_reads_as_zeros(tmp_path):
    np.savez(tmp_path / 'e.npz', mask=np.zeros((4, 5), np.uint8))
    out = read_expert_mask(tmp_path / 'e.npz')
    assert out.shape == (4, 5) and out.sum() == 0


def test_find_expert_mask(tmp_path):
    cv2.imwrite(str(tmp_path / '1_pa.png'), MASK)
    np.savez(tmp_path / '2_pa.npz', mask=MASK)
    assert find_expert_mask(tmp_path, '1_pa') == str(tmp_path / '1_pa.png')
    assert find_expert_mask(tmp_path, '2_pa') == str(tmp_path / '2_pa.npz')
    assert find_expert_mask(tmp_path, '3_pa') is None
    assert find_expert_mask(tmp_path / 'missing_dir', '1_pa') is None
    np.savez(tmp_path / '1_pa.npz', mask=MASK)
    with pytest.raises(ExpertMaskError, match='ambiguous.*1_pa.png and .*1_pa.npz'):
        find_expert_mask(tmp_path, '1_pa')
