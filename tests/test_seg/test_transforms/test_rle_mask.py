"""LoadRLEMask: union of rows, seg_fields, and image/mask alignment under crop and flip."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import TRANSFORMS

import mmchest  # noqa: F401
from mmchest.io.rle import RLEError, rle_encode


def _mask(h=40, w=30):
    m = np.zeros((h, w), np.uint8)
    m[5:15, 3:9] = 1
    m[20:35, 18:28] = 1
    return m


def test_rows_are_merged_and_seg_fields_appended():
    m = _mask()
    top, bottom = m.copy(), m.copy()
    top[20:] = 0
    bottom[:20] = 0
    overlap = m.copy()
    overlap[:8] = 0
    overlap[30:] = 0  # overlaps both parts
    t = TRANSFORMS.build(dict(type='LoadRLEMask'))
    out = t(dict(ori_shape=m.shape, rle=[rle_encode(top), rle_encode(bottom),
                                         rle_encode(overlap)], rle_rows=[2, 3, 4]))
    np.testing.assert_array_equal(out['gt_seg_map'], m)
    assert out['seg_fields'] == ['gt_seg_map']
    assert 'LoadRLEMask' in repr(t)


def test_no_rows_gives_empty_mask():
    out = TRANSFORMS.build(dict(type='LoadRLEMask'))(dict(ori_shape=(8, 6), rle=[]))
    assert out['gt_seg_map'].shape == (8, 6) and not out['gt_seg_map'].any()


def test_run_past_end_names_image_and_row():
    t = TRANSFORMS.build(dict(type='LoadRLEMask'))
    with pytest.raises(RLEError, match='img-7') as err:
        t(dict(ori_shape=(4, 4), rle=['10 20'], rle_rows=[9], image_id='img-7'))
    assert '9' in str(err.value)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_image_and_mask_stay_aligned_after_crop_flip_resize(seed):
    init_default_scope('mmseg')
    np.random.seed(seed)
    m = _mask(64, 48)
    img = np.repeat((m * 200 + 20)[..., None], 3, axis=2).astype(np.uint8)
    results = dict(img=img, img_shape=m.shape, ori_shape=m.shape, rle=[rle_encode(m)])
    pipeline = [TRANSFORMS.build(c) for c in [
        dict(type='LoadRLEMask'),
        dict(type='RandomResize', scale=(96, 72), ratio_range=(0.8, 1.2), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(40, 32)),
        dict(type='RandomFlip', prob=1.0, direction='horizontal'),
    ]]
    for t in pipeline:
        results = t(results)
    bright = results['img'][..., 0] > 110
    seg = results['gt_seg_map'] == 1
    assert bright.shape == seg.shape
    # nearest-neighbour mask vs bilinear image: agree everywhere but a 1-px rim
    assert (bright != seg).mean() < 0.08
    assert results['flip'] is True
