"""Cheap training augmentation for grey radiographs (issue 14): one resampling, one lookup table.

``RandomAffineCrop`` draws what mmcv/mmseg's ``RandomResize`` -> ``RandomCrop`` ->
``RandomRotate`` -> ``RandomFlip`` draw, with the same distributions, and applies them to the
image and to every mask in ``seg_fields`` in one resampling: a rotated crop is one
``cv2.warpAffine`` of their composition from the full-size image straight to the crop (two
resamplings and two copies become one); an unrotated one is one resize, a crop view and a
flip, exactly the separate steps' pixels. ``GrayscalePhotoMetricDistortion`` is mmseg's
``PhotoMetricDistortion`` on a grey image: its saturation and hue steps are exact no-ops
there (an HSV round trip of a grey pixel gives it back), so only brightness and contrast are
left, applied as one 256-entry lookup table with the same rounding and clipping.

The maths are pure functions (:func:`affine_crop_matrix`, :func:`brightness_contrast_lut`);
the transforms only draw the random parameters and read/write the results dict.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

__all__ = ['RandomAffineCrop', 'GrayscalePhotoMetricDistortion', 'affine_crop_matrix',
           'brightness_contrast_lut']

_LEVELS = np.arange(256, dtype=np.uint8)
_LEVELS.flags.writeable = False
_LEVELS_F32 = _LEVELS.astype(np.float32)
_LEVELS_F32.flags.writeable = False
_INTERP = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR,
           'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA}


def affine_crop_matrix(src_shape: Tuple[int, int], resized_shape: Tuple[int, int],
                       crop_offset: Tuple[int, int], crop_shape: Tuple[int, int],
                       angle: float = 0.0, flip: Optional[str] = None) -> np.ndarray:
    """The 3x3 map from output pixels to source pixels of resize -> crop -> rotate -> flip.

    Conventions are those of the separate steps: ``cv2.resize`` (pixel centres,
    ``x_src = (x + 0.5) * w / new_w - 0.5``), a crop at integer ``crop_offset``,
    ``mmcv.imrotate`` about the crop's centre ``((cw - 1) / 2, (ch - 1) / 2)`` by ``angle``
    degrees clockwise, then ``mmcv.imflip``.

    Args:
        src_shape (tuple[int, int]): Source (h, w).
        resized_shape (tuple[int, int]): (h, w) after the resize.
        crop_offset (tuple[int, int]): (y, x) of the crop in the resized image.
        crop_shape (tuple[int, int]): Output (h, w).
        angle (float): Rotation in degrees (clockwise, as ``mmcv.imrotate``). Defaults to 0.
        flip (str, optional): 'horizontal', 'vertical' or None. Defaults to None.

    Returns:
        np.ndarray: float64 (3, 3) matrix; ``cv2.warpAffine(src, m[:2], (cw, ch),
        flags=... | cv2.WARP_INVERSE_MAP)`` gives the output.
    """
    (h, w), (nh, nw) = src_shape, resized_shape
    (oy, ox), (ch, cw) = crop_offset, crop_shape
    flip_m = np.eye(3)
    if flip == 'horizontal':
        flip_m[0, :] = (-1, 0, cw - 1)
    elif flip == 'vertical':
        flip_m[1, :] = (0, -1, ch - 1)
    elif flip is not None:
        raise ValueError(f"flip must be 'horizontal', 'vertical' or None, got {flip!r}")
    rotate = np.eye(3)
    if angle:
        # mmcv.imrotate's forward map (crop -> rotated); the output samples its inverse
        rotate[:2] = cv2.getRotationMatrix2D(((cw - 1) * 0.5, (ch - 1) * 0.5), -angle, 1.0)
        rotate = np.linalg.inv(rotate)
    crop = np.array([[1.0, 0, ox], [0, 1.0, oy], [0, 0, 1]])
    kx, ky = w / nw, h / nh
    resize = np.array([[kx, 0, 0.5 * kx - 0.5], [0, ky, 0.5 * ky - 0.5], [0, 0, 1]])
    return resize @ crop @ rotate @ flip_m


def brightness_contrast_lut(beta: Optional[float] = None,
                            alpha: Optional[float] = None) -> np.ndarray:
    """uint8 lookup table of mmseg's ``PhotoMetricDistortion`` brightness then contrast.

    Each step is ``clip(v.astype(float32) * alpha + beta, 0, 255).astype(uint8)`` exactly as
    ``PhotoMetricDistortion.convert``; None skips it.

    Args:
        beta (float, optional): Brightness offset. Defaults to None.
        alpha (float, optional): Contrast factor. Defaults to None.

    Returns:
        np.ndarray: uint8 (256,) table.
    """
    lut = _LEVELS
    if beta is not None:
        lut = np.clip(_LEVELS_F32 + np.float32(beta), 0, 255).astype(np.uint8)
    if alpha is not None:
        lut = np.clip(lut.astype(np.float32) * np.float32(alpha), 0, 255).astype(np.uint8)
    return lut


def _pair(value, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {value!r}')
    return int(value[0]), int(value[1])


@TRANSFORMS.register_module()
class RandomAffineCrop(BaseTransform):
    """``RandomResize`` + ``RandomCrop`` + ``RandomRotate`` + ``RandomFlip``, one resampling.

    Draws, in this order and with the same distributions as the mmcv/mmseg transforms with
    the same arguments: a resize ratio ``r ~ U(ratio_range)`` and the keep-ratio size that
    fits ``(int(scale_w * r), int(scale_h * r))`` (mmcv's ``imrescale``); a crop of
    ``crop_size`` (or the whole resized image where it is smaller) at a uniform random
    offset (mmseg's ``RandomCrop`` with ``cat_max_ratio=1``); with probability
    ``rotate_prob`` a rotation by ``U(-degree, degree)`` degrees about the crop's centre,
    filling the corners with ``pad_val``/``seg_pad_val`` (mmseg's ``RandomRotate``); with
    probability ``flip_prob`` a flip in ``direction``. A rotated crop is sampled once from
    the full-size image (``interpolation``), and each mask in ``seg_fields`` with the same
    matrix (nearest), so image and masks stay aligned; without rotation one resize and a
    crop (and flip) give exactly the pixels of the separate transforms, at the cost of one
    warp. Works on HxW and HxWxC images.

    Required Keys:

    - img
    - seg_fields (optional) and the masks it names

    Modified Keys:

    - img
    - img_shape
    - the masks in ``seg_fields``

    Added Keys:

    - scale (tuple[int, int]): the sampled (w, h) target, as ``RandomResize``.
    - scale_factor (tuple[float, float]): (w, h) resize factors.
    - keep_ratio (bool): True.
    - flip (bool), flip_direction (str | None): as ``RandomFlip``.
    - rotate_angle (float): degrees, 0 when not rotated.

    Args:
        scale (int | tuple[int, int]): Base (w, h) of the resize, as ``RandomResize``.
            Defaults to (512, 512).
        ratio_range (tuple[float, float]): Resize ratio range. Defaults to (0.9, 1.2).
        crop_size (int | tuple[int, int]): Crop (h, w), as ``RandomCrop``.
            Defaults to (512, 512).
        rotate_prob (float): Rotation probability. Defaults to 0.3.
        degree (float): Maximum rotation in degrees (either way). Defaults to 10.
        flip_prob (float): Flip probability. Defaults to 0.5.
        direction (str): 'horizontal' or 'vertical'. Defaults to 'horizontal'.
        pad_val (float): Image fill of the rotated corners. Defaults to 0.
        seg_pad_val (int): Mask fill of the rotated corners. Defaults to 0.
        interpolation (str): Image interpolation: 'nearest', 'bilinear', 'bicubic' or
            'area'. Defaults to 'bilinear' (that of ``Resize`` and ``RandomRotate``).
    """

    def __init__(self,
                 scale=(512, 512),
                 ratio_range: Tuple[float, float] = (0.9, 1.2),
                 crop_size=(512, 512),
                 rotate_prob: float = 0.3,
                 degree: float = 10.0,
                 flip_prob: float = 0.5,
                 direction: str = 'horizontal',
                 pad_val: float = 0,
                 seg_pad_val: int = 0,
                 interpolation: str = 'bilinear') -> None:
        self.scale = _pair(scale, 'scale')
        self.crop_size = _pair(crop_size, 'crop_size')
        if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f'ratio_range must be (low, high) with 0 < low <= high, '
                             f'got {ratio_range!r}')
        for name, p in (('rotate_prob', rotate_prob), ('flip_prob', flip_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {p}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, '
                             f'got {interpolation!r}')
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.rotate_prob = rotate_prob
        self.degree = float(degree)
        self.flip_prob = flip_prob
        self.direction = direction
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.interpolation = interpolation

    @cache_randomness
    def _sample(self, h: int, w: int) -> dict:
        lo, hi = self.ratio_range
        ratio = np.random.random_sample() * (hi - lo) + lo
        target = int(self.scale[0] * ratio), int(self.scale[1] * ratio)
        factor = min(max(target) / max(h, w), min(target) / min(h, w))
        nw, nh = int(w * factor + 0.5), int(h * factor + 0.5)
        ch, cw = min(self.crop_size[0], nh), min(self.crop_size[1], nw)
        oy = np.random.randint(0, nh - ch + 1)
        ox = np.random.randint(0, nw - cw + 1)
        rotate = np.random.rand() < self.rotate_prob
        angle = np.random.uniform(-self.degree, self.degree)
        flip = np.random.rand() < self.flip_prob
        return dict(scale=target, resized=(nh, nw), offset=(oy, ox), crop=(ch, cw),
                    angle=float(angle) if rotate else 0.0,
                    flip=self.direction if flip else None)

    def _warp(self, img: np.ndarray, p: dict, matrix: Optional[np.ndarray],
              interpolation: int, fill) -> np.ndarray:
        (ch, cw), angle, flip = p['crop'], p['angle'], p['flip']
        if not angle:
            # no rotation: the steps themselves are as cheap as one warp (cv2.resize is
            # faster per pixel than warpAffine) and give mmcv/mmseg's pixels exactly
            (nh, nw), (oy, ox) = p['resized'], p['offset']
            out = cv2.resize(img, (nw, nh), interpolation=interpolation)[oy:oy + ch,
                                                                          ox:ox + cw]
            if flip:  # (unflipped, the crop stays a view: packing copies it anyway)
                out = cv2.flip(out, 1 if flip == 'horizontal' else 0)
        else:
            # rotated corners show `fill`, as when the crop itself is rotated: sample only
            # the source pixels under the crop window
            h, w = img.shape[:2]
            (nh, nw), (oy, ox) = p['resized'], p['offset']
            y0, x0 = math.floor(oy * h / nh), math.floor(ox * w / nw)
            y1 = min(h, math.ceil((oy + ch) * h / nh))
            x1 = min(w, math.ceil((ox + cw) * w / nw))
            matrix = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1]]) @ matrix
            out = cv2.warpAffine(img[y0:y1, x0:x1], matrix[:2], (cw, ch),
                                 flags=interpolation | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        if img.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel axis
            out = out[..., None]
        return out

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        p = self._sample(h, w)
        matrix = (affine_crop_matrix((h, w), p['resized'], p['offset'], p['crop'],
                                     p['angle'], p['flip']) if p['angle'] else None)
        results['img'] = self._warp(img, p, matrix, _INTERP[self.interpolation], self.pad_val)
        for key in results.get('seg_fields', []):
            mask = results.get(key)
            if mask is None:
                continue
            if not mask.any() and self.seg_pad_val == 0:
                results[key] = np.zeros(p['crop'] + mask.shape[2:], mask.dtype)
            else:
                results[key] = self._warp(mask, p, matrix, cv2.INTER_NEAREST, self.seg_pad_val)
        nh, nw = p['resized']
        results['img_shape'] = results['img'].shape[:2]
        results['scale'] = p['scale']
        results['scale_factor'] = (nw / w, nh / h)
        results['keep_ratio'] = True
        results['flip'] = p['flip'] is not None
        results['flip_direction'] = p['flip']
        results['rotate_angle'] = p['angle']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'ratio_range={self.ratio_range}, crop_size={self.crop_size}, '
                f'rotate_prob={self.rotate_prob}, degree={self.degree}, '
                f'flip_prob={self.flip_prob}, direction={self.direction!r}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class GrayscalePhotoMetricDistortion(BaseTransform):
    """mmseg's ``PhotoMetricDistortion`` for grey images: brightness, then contrast.

    With probability 0.5 each, brightness adds ``U(-brightness_delta, brightness_delta)``
    and then contrast multiplies by ``U(*contrast_range)``, each step rounded and clipped
    to uint8 as in mmseg (on a grey image mmseg's contrast comes after brightness whatever
    its mode draw, and its saturation and hue steps change nothing). Both steps are one
    lookup table (:func:`brightness_contrast_lut`), so the image is read once and no colour
    conversion happens. A 3-channel image gets the same table on every channel; a float
    image gets the same arithmetic without the table.

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        brightness_delta (int): Maximum brightness offset. Defaults to 32.
        contrast_range (Sequence[float]): Contrast factor range. Defaults to (0.5, 1.5).
    """

    def __init__(self, brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5)) -> None:
        if len(contrast_range) != 2 or contrast_range[0] > contrast_range[1]:
            raise ValueError(f'contrast_range must be (low, high), got {contrast_range!r}')
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = map(float, contrast_range)

    @cache_randomness
    def _sample(self) -> Tuple[Optional[float], Optional[float]]:
        beta = alpha = None
        if np.random.randint(2):
            beta = np.random.uniform(-self.brightness_delta, self.brightness_delta)
        if np.random.randint(2):
            alpha = np.random.uniform(self.contrast_lower, self.contrast_upper)
        return beta, alpha

    def transform(self, results: dict) -> dict:
        beta, alpha = self._sample()
        if beta is None and alpha is None:
            return results
        img = results['img']
        if img.dtype == np.uint8:
            results['img'] = cv2.LUT(img, brightness_contrast_lut(beta, alpha)).reshape(
                img.shape)
        else:  # PhotoMetricDistortion.convert, step by step
            if beta is not None:
                img = np.clip(img.astype(np.float32) * 1 + beta, 0, 255).astype(np.uint8)
            if alpha is not None:
                img = np.clip(img.astype(np.float32) * alpha + 0, 0, 255).astype(np.uint8)
            results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range=({self.contrast_lower}, {self.contrast_upper}))')
