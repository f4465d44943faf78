"""Reading expert masks from .png / .npz, an image's set of them, and fusing them
(mmchest/io/expert_masks.py)."""
import cv2
import numpy as np
import pytest

from mmchest.io.expert_masks import (ExpertMaskError, find_expert_mask, fuse_masks,
                                     load_expert_masks, read_expert_mask)

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


# fuse_masks: votes per pixel of A, B, C: 3, 2, 1, 1, 0
A = np.array([[1, 1, 1, 0, 0]], dtype=np.uint8)
B = np.array([[1, 1, 0, 1, 0]], dtype=np.uint8)
C = np.array([[1, 0, 0, 0, 0]], dtype=np.uint8)


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


def test_load_expert_masks_reads_in_order_and_none_is_empty(tmp_path):
    cv2.imwrite(str(tmp_path / 'e1.png'), MASK * 255)
    np.savez(tmp_path / 'e2.npz', mask=1 - MASK)
    paths = {'expert1': str(tmp_path / 'e1.png'), 'expert2': str(tmp_path / 'e2.npz'),
             'expert3': None}
    masks = load_expert_masks(paths, ['expert2', 'expert3', 'expert1'], MASK.shape)
    assert [m.dtype for m in masks] == [np.uint8] * 3
    np.testing.assert_array_equal(masks[0], 1 - MASK)
    np.testing.assert_array_equal(masks[1], np.zeros_like(MASK))
    np.testing.assert_array_equal(masks[2], MASK)


def test_load_expert_masks_names_missing_expert_and_wrong_shape(tmp_path):
    cv2.imwrite(str(tmp_path / 'e1.png'), MASK)
    paths = {'expert1': str(tmp_path / 'e1.png')}
    with pytest.raises(KeyError, match="img7: no mask path for 'expert2'"):
        load_expert_masks(paths, ['expert2'], MASK.shape, image='img7')
    with pytest.raises(ValueError, match=r'e1.png: mask shape \(2, 3\) != image shape '
                                         r'\(3, 2\) of img7'):
        load_expert_masks(paths, ['expert1'], (3, 2), image='img7')
