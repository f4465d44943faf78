"""RandomAffineCrop and GrayscalePhotoMetricDistortion (issue 14): the same draws and pixels
as the mmcv/mmseg transforms they replace, image and masks aligned, grey images packed as one
channel and normalised to the same batch as their 3-channel copies."""
from pathlib import Path

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS, TRANSFORMS

import mmchest  # noqa: F401
from mmchest.seg.transforms.augment import (RandomAffineCrop, affine_crop_matrix,
                                            brightness_contrast_lut)

CHAIN = [
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.9, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='RandomRotate', prob=0.3, degree=10, pad_val=0, seg_pad_val=0),
    dict(type='RandomFlip', prob=0.5),
]
REPO = Path(__file__).resolve().parents[3]
FUSED = dict(type='RandomAffineCrop', scale=(128, 128), ratio_range=(0.9, 1.2),
             crop_size=(128, 128), rotate_prob=0.3, degree=10, flip_prob=0.5)


def _scene(h=256, w=240, seed=0):
    """A smooth grey image and two masks (a disc, a rectangle) it is built from."""
    rng = np.random.default_rng(seed)
    disc = np.zeros((h, w), np.uint8)
    cv2.circle(disc, (int(w * 0.3), int(h * 0.4)), h // 6, 1, -1)
    rect = np.zeros((h, w), np.uint8)
    rect[int(h * 0.55):int(h * 0.8), int(w * 0.5):int(w * 0.85)] = 1
    base = cv2.GaussianBlur(rng.integers(0, 60, (h, w)).astype(np.uint8), (0, 0), 2)
    img = (base + 120 * disc + 60 * rect).astype(np.uint8)
    return img, disc, rect


def _results(img, *masks):
    out = dict(img=img.copy(), img_shape=img.shape[:2], ori_shape=img.shape[:2],
               seg_fields=[])
    for i, m in enumerate(masks):
        key = 'gt_seg_map' if i == 0 else f'mask{i}'
        out[key] = m.copy()
        out['seg_fields'].append(key)
    return out


@pytest.mark.parametrize('seed', range(12))
def test_same_draws_and_pixels_as_the_mmseg_chain(seed):
    """Seeded alike, RandomAffineCrop draws exactly what RandomResize -> RandomCrop ->
    RandomRotate -> RandomFlip draw; unrotated, the same pixels; rotated (one resampling
    instead of two), nearly the same pixels and masks that differ on boundary pixels only."""
    img, disc, _ = _scene(seed=seed)
    chain = [TRANSFORMS.build(c) for c in CHAIN]
    np.random.seed(seed)
    ref = _results(img, disc)
    for t in chain:
        ref = t(ref)
    np.random.seed(seed)
    out = TRANSFORMS.build(FUSED)(_results(img, disc))

    assert out['img'].shape == ref['img'].shape
    assert out['img_shape'] == ref['img_shape']
    assert out['flip'] == ref['flip'] and out['flip_direction'] == ref['flip_direction']
    assert out['scale'] == ref['scale'] and out['scale_factor'] == ref['scale_factor']
    if out['rotate_angle'] == 0:  # one resize, a crop and a flip: the same pixels
        np.testing.assert_array_equal(out['img'], ref['img'])
        np.testing.assert_array_equal(out['gt_seg_map'], ref['gt_seg_map'])
        return
    # rotated: one resampling instead of two; the rotated corners are black in both
    diff = np.abs(out['img'].astype(int) - ref['img'].astype(int))
    assert np.median(diff) <= 2
    if abs(out['rotate_angle']) > 2:
        assert out['img'][0, 0] == ref['img'][0, 0] == 0
    mismatch = (out['gt_seg_map'] != ref['gt_seg_map']).sum()
    edge = cv2.morphologyEx(ref['gt_seg_map'], cv2.MORPH_GRADIENT, np.ones((3, 3))).sum()
    assert mismatch <= edge


def test_the_rotation_probability_and_flip_rate_match():
    np.random.seed(0)
    t = TRANSFORMS.build(FUSED)
    img = np.zeros((64, 64), np.uint8)
    outs = [t(_results(img)) for _ in range(2000)]
    assert abs(np.mean([o['rotate_angle'] != 0 for o in outs]) - 0.3) < 0.04
    assert abs(np.mean([o['flip'] for o in outs]) - 0.5) < 0.04
    angles = [o['rotate_angle'] for o in outs if o['rotate_angle']]
    assert -10 <= min(angles) < -9 and 9 < max(angles) <= 10


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('rotate_prob', [0.0, 1.0])
def test_image_and_every_mask_stay_aligned(seed, rotate_prob):
    """The image is built from the masks: after the warp, thresholding it gives them back
    (boundary pixels aside), for a grey and a 3-channel image, with a second seg field."""
    img, disc, rect = _scene(seed=seed)
    np.random.seed(seed)
    t = RandomAffineCrop(scale=(200, 200), ratio_range=(0.6, 1.4), crop_size=(150, 160),
                         rotate_prob=rotate_prob, degree=20, flip_prob=0.5)
    for image in (img, np.repeat(img[..., None], 3, axis=2)):
        out = t(_results(image, disc, rect))
        grey = out['img'] if out['img'].ndim == 2 else out['img'][..., 1]
        assert out['img'].shape[:2] == out['gt_seg_map'].shape == out['mask1'].shape
        assert out['img'].ndim == image.ndim
        # blurred noise ~30 +- 5, + 60 in the rectangle, + 120 in the disc
        edge = cv2.morphologyEx(out['gt_seg_map'] + 2 * out['mask1'], cv2.MORPH_GRADIENT,
                                np.ones((5, 5))) > 0  # near either mask's boundary
        for mask, found in ((out['gt_seg_map'], grey >= 120),
                            (out['mask1'], (grey >= 60) & (grey < 120))):
            assert mask.any()
            assert ((mask > 0) != found)[~edge].mean() < 0.002


def test_small_image_is_not_padded_and_empty_masks_stay_empty():
    t = RandomAffineCrop(scale=(64, 64), ratio_range=(0.9, 0.9), crop_size=(64, 64),
                         rotate_prob=0.0, flip_prob=0.0)
    out = t(_results(np.full((100, 80), 7, np.uint8), np.zeros((100, 80), np.uint8)))
    # imrescale to fit (57, 57): factor 0.57 -> 57 x 46, smaller than the crop: kept whole
    assert out['img'].shape == (57, 46) == out['gt_seg_map'].shape
    assert (out['img'] == 7).all() and not out['gt_seg_map'].any()
    assert out['gt_seg_map'].dtype == np.uint8
    assert 'RandomAffineCrop(scale=(64, 64)' in repr(t)


def test_matrix_is_the_composition_of_the_steps():
    """Output (x, y) -> source: unflip, unrotate about the crop centre, uncrop, unresize."""
    m = affine_crop_matrix((200, 100), (100, 50), (10, 4), (40, 30), angle=90,
                           flip='horizontal')
    # output pixel (0, 0): flipped from (29, 0); 90 degrees clockwise about (14.5, 19.5)
    # comes from crop pixel (x, y) = (14.5 - 19.5, 19.5 - 14.5 + 29)... check numerically
    rot = np.eye(3)
    rot[:2] = cv2.getRotationMatrix2D((14.5, 19.5), -90, 1.0)
    crop_xy = np.linalg.solve(rot, [29, 0, 1])
    src = ((crop_xy[0] + 4 + 0.5) * 2 - 0.5, (crop_xy[1] + 10 + 0.5) * 2 - 0.5)
    np.testing.assert_allclose(m @ [0, 0, 1], [*src, 1], atol=1e-9)
    with pytest.raises(ValueError, match='flip'):
        affine_crop_matrix((2, 2), (2, 2), (0, 0), (2, 2), flip='diagonal')


@pytest.mark.parametrize('beta,alpha', [(None, None), (17.3, None), (None, 0.61),
                                        (-31.9, 1.44), (25.0, 1.5), (-5.5, 0.5)])
def test_lut_equals_photometric_distortion_convert(beta, alpha):
    pmd = TRANSFORMS.build(dict(type='PhotoMetricDistortion'))
    values = np.arange(256, dtype=np.uint8)[None, :]
    ref = values
    if beta is not None:
        ref = pmd.convert(ref, beta=beta)
    if alpha is not None:
        ref = pmd.convert(ref, alpha=alpha)
    np.testing.assert_array_equal(brightness_contrast_lut(beta, alpha), ref[0])


def test_hue_and_saturation_steps_are_no_ops_on_grey():
    grey = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
    hsv = mmcv.bgr2hsv(grey)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 1) % 180  # hue_delta=1
    np.testing.assert_array_equal(mmcv.hsv2bgr(hsv), grey)


def test_grayscale_distortion_rates_and_channels():
    np.random.seed(1)
    t = TRANSFORMS.build(dict(type='GrayscalePhotoMetricDistortion'))
    img = np.full((4, 4), 100, np.uint8)
    outs = np.array([t(dict(img=img.copy()))['img'][0, 0] for _ in range(4000)])
    assert abs((outs == 100).mean() - 0.25) < 0.03  # neither step, or no visible change
    assert outs.min() >= 34 and outs.max() <= 198  # (100 - 32) * 0.5 .. (100 + 32) * 1.5
    three = t(dict(img=np.repeat(img[..., None], 3, axis=2)))['img']
    assert three.shape == (4, 4, 3) and (three == three[..., :1]).all()
    # a float image: mmseg's arithmetic (uint8 out), or untouched when neither step is drawn
    floats = {t(dict(img=img.astype(np.float32)))['img'].dtype for _ in range(20)}
    assert floats == {np.dtype(np.uint8), np.dtype(np.float32)}
    assert 'contrast_range=(0.5, 1.5)' in repr(t)


def test_one_channel_batch_normalises_like_its_bgr_copy():
    """PackSegInputs keeps HxW as 1xHxW; SegDataPreProcessor's mean/std then give the same
    3-channel batch as for the grey image replicated to BGR (what the backbone expects)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs/unet_siim.py'))
    pre = MODELS.build(cfg.model.data_preprocessor)
    pack = TRANSFORMS.build(dict(type='PackSegInputs'))
    img, disc, _ = _scene(h=96, w=80)
    seg = dict(gt_seg_map=disc, seg_fields=['gt_seg_map'], img_shape=img.shape,
               ori_shape=img.shape)
    grey = pack(dict(img=img, **seg))
    bgr = pack(dict(img=cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), **seg))
    assert grey['inputs'].shape == (1, 96, 80) and bgr['inputs'].shape == (3, 96, 80)
    for training in (True, False):
        a = pre(dict(inputs=[grey['inputs']], data_samples=[grey['data_samples']]), training)
        b = pre(dict(inputs=[bgr['inputs']], data_samples=[bgr['data_samples']]), training)
        assert a['inputs'].shape == b['inputs'].shape
        assert a['inputs'].shape[1] == 3
        torch.testing.assert_close(a['inputs'], b['inputs'], rtol=0, atol=0)
