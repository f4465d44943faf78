"""The segmentation test pipeline without mmcv: loading, resizing, padding, resizing back.

Pure module (numpy, cv2 and :mod:`mmchest.io.dicom` only; no OpenMMLab imports). It replays
what ``mim test`` does to an image before and after the network, from the plain-dict
description the ONNX export stores in the model (:mod:`mmchest.deploy.onnx_export`):

1. load: ``LoadDicomImageFromFile`` (DICOM through :func:`mmchest.io.dicom.decode_dicom`
   with the loader's options, e.g. the display normalisation ``norm='auto'``; PNG/JPEG
   through ``cv2.imdecode`` as ``mmcv.imfrombytes`` with its cv2 backend) or
   ``LoadImageFromFile``; a greyscale result is replicated to 3 channels (the data
   preprocessor's 3-channel mean/std broadcast a 1-channel image to the same values);
2. resize: mmcv's ``Resize`` (``mmcv.imrescale`` with ``keep_ratio``, else
   ``mmcv.imresize``), which calls ``cv2.resize`` with ``cv2.INTER_LINEAR`` for
   ``interpolation='bilinear'``: the same call here gives the same pixels;
3. pad (only when the data preprocessor has a ``test_cfg`` with ``size``/``size_divisor``):
   bottom/right, with the raw value that the in-graph normalisation maps to ``pad_val``;
4. after the network: the foreground logit map is cropped to the resized image and
   resized to the original size bilinearly with PyTorch's rule (as mmseg's ``resize``,
   ``align_corners`` of the head), then the sigmoid is applied, in mmseg's order (resize
   the logits, then the activation).
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import cv2
import numpy as np

from mmchest.io.dicom import decode_dicom, has_dicom_prefix, is_color

__all__ = ['CV2_INTERPOLATION', 'read_image', 'rescale_size', 'resize_image', 'pad_amounts',
           'pad_image', 'resize_logit', 'sigmoid']

#: mmcv's interpolation names -> cv2 flags (``mmcv.image.geometric.cv2_interp_codes``).
CV2_INTERPOLATION = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}
_IMDECODE_FLAGS = {'color': cv2.IMREAD_COLOR, 'grayscale': cv2.IMREAD_GRAYSCALE,
                   'unchanged': cv2.IMREAD_UNCHANGED}


def read_image(path: str | os.PathLike, loader: dict) -> np.ndarray:
    """Read an image file as the test pipeline's loader does, as (H, W, 3) BGR.

    Args:
        path (str | os.PathLike): DICOM (by ``loader['dicom_suffixes']`` or the Part 10
            prefix; only for ``LoadDicomImageFromFile``), PNG or JPEG file.
        loader (dict): The loader's pipeline entry (``type`` plus its arguments), as stored
            in the exported model's metadata.

    Returns:
        np.ndarray: uint8 (float32 with ``to_float32``) BGR image, greyscale replicated.

    Raises:
        DicomReadError: The DICOM cannot be decoded (names the file and the reason).
        ValueError: A non-DICOM file cannot be decoded, or the loader is not supported.
        OSError: The file cannot be read.
    """
    kind = loader.get('type')
    color_type = loader.get('color_type', 'color')
    if kind not in ('LoadDicomImageFromFile', 'LoadImageFromFile'):
        raise ValueError(f'unsupported image loader {kind!r}')
    if color_type not in _IMDECODE_FLAGS:
        raise ValueError(f'unsupported color_type {color_type!r}')
    with open(path, 'rb') as f:
        data = f.read()
    suffixes = tuple(s.lower() for s in loader.get('dicom_suffixes', ('.dcm', '.dicom')))
    if kind == 'LoadDicomImageFromFile' and (str(path).lower().endswith(suffixes)
                                             or has_dicom_prefix(data)):
        img, meta = decode_dicom(
            data, name=path, norm=loader.get('norm', 'auto'),
            window=tuple(loader['window']) if loader.get('window') is not None else None,
            percentiles=tuple(loader.get('percentiles', (0.5, 99.5))),
            voi_lut=bool(loader.get('voi_lut', False)),
            dtype='float32' if loader.get('to_float32') else 'uint8',
            channels=1 if color_type == 'grayscale' else 3,
            frame=loader.get('frame', 'first'),
            max_pixels=loader.get('max_pixels', 8192 * 8192))
        if img.ndim == 3 and is_color(meta):
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)  # mmcv's channel order
    else:
        backend = loader.get('imdecode_backend', 'cv2')
        if backend != 'cv2':
            raise ValueError(f"imdecode_backend {backend!r} is not supported (only 'cv2')")
        img = cv2.imdecode(np.frombuffer(data, np.uint8), _IMDECODE_FLAGS[color_type])
        if img is None:
            raise ValueError(f'failed to decode image: {path}')
        if loader.get('to_float32'):
            img = img.astype(np.float32)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:  # 'unchanged' PNG with alpha: what a 3-channel model can take
        raise ValueError(f'{path}: 4-channel images are not supported')
    return np.ascontiguousarray(img)


def rescale_size(old_size: tuple[int, int], scale: float | Sequence[int]) -> tuple[int, int]:
    """``mmcv.rescale_size``: the (w, h) a keep-ratio resize gives.

    Args:
        old_size (tuple[int, int]): (w, h) of the image.
        scale (float | Sequence[int]): A factor, or the (long, short) edge bounds: the
            image is scaled as large as possible within them.

    Returns:
        tuple[int, int]: The new (w, h), ``int(x * factor + 0.5)``.
    """
    w, h = old_size
    if isinstance(scale, (int, float)):
        if scale <= 0:
            raise ValueError(f'Invalid scale {scale}, must be positive.')
        factor = float(scale)
    else:
        factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(w * factor + 0.5), int(h * factor + 0.5)


def resize_image(img: np.ndarray, resize: dict | None) -> np.ndarray:
    """mmcv's ``Resize`` transform (image only, cv2 backend).

    Args:
        img (np.ndarray): (H, W, C) image.
        resize (dict | None): ``scale`` ((w, h) bound, or an int for a square) or
            ``scale_factor``, ``keep_ratio``, ``interpolation``; None returns ``img``.

    Returns:
        np.ndarray: The resized image.
    """
    if not resize:
        return img
    backend = resize.get('backend', 'cv2')
    if backend != 'cv2':
        raise ValueError(f"Resize backend {backend!r} is not supported (only 'cv2')")
    interpolation = CV2_INTERPOLATION[resize.get('interpolation', 'bilinear')]
    h, w = img.shape[:2]
    scale = resize.get('scale')
    if scale is None:  # mmcv: scale = _scale_size((w, h), scale_factor)
        factor = resize['scale_factor']
        fw, fh = (factor, factor) if isinstance(factor, (int, float)) else factor
        scale = (int(w * float(fw) + 0.5), int(h * float(fh) + 0.5))
    elif isinstance(scale, (int, float)):
        scale = (int(scale), int(scale))
    if resize.get('keep_ratio', False):
        size = rescale_size((w, h), tuple(scale))
    else:
        size = (int(scale[0]), int(scale[1]))
    return cv2.resize(img, size, interpolation=interpolation)


def pad_amounts(shape: tuple[int, int], pad: dict | None) -> tuple[int, int]:
    """Bottom and right padding of mmseg's ``stack_batch`` (``size`` or ``size_divisor``).

    Args:
        shape (tuple[int, int]): (H, W) of the resized image.
        pad (dict | None): ``size`` ((H, W)) and/or ``size_divisor``; None: no padding.

    Returns:
        tuple[int, int]: (bottom, right) pixels.
    """
    if not pad:
        return 0, 0
    h, w = shape
    if pad.get('size') is not None:
        th, tw = pad['size']
        return max(th - h, 0), max(tw - w, 0)
    if pad.get('size_divisor'):
        d = int(pad['size_divisor'])
        return int(math.ceil(h / d)) * d - h, int(math.ceil(w / d)) * d - w
    return 0, 0


def pad_image(img: np.ndarray, pad: dict | None, value: Sequence[float]) -> np.ndarray:
    """Pad an (H, W, 3) image bottom/right (see :func:`pad_amounts`) with a per-channel value.

    Args:
        img (np.ndarray): (H, W, 3) image, float32.
        pad (dict | None): As :func:`pad_amounts`.
        value (Sequence[float]): Per-channel fill, in ``img``'s channel order.

    Returns:
        np.ndarray: The padded image (``img`` itself without padding).
    """
    bottom, right = pad_amounts(img.shape[:2], pad)
    if not bottom and not right:
        return img
    out = np.empty((img.shape[0] + bottom, img.shape[1] + right, img.shape[2]), img.dtype)
    out[...] = np.asarray(value, img.dtype)
    out[:img.shape[0], :img.shape[1]] = img
    return out


def resize_logit(logit: np.ndarray, size: tuple[int, int], align_corners: bool = False
                 ) -> np.ndarray:
    """Bilinear resize of an (H, W) float map to ``size`` (H, W), as mmseg's ``resize``.

    Follows ``torch.nn.functional.interpolate(mode='bilinear')`` (its source-index rule and
    float32 weights, to a few float32 ulps) rather than ``cv2.resize``, whose float path
    rounds the source coordinates differently (up to ~3e-4 on steep logits at non-integer
    ratios).

    Args:
        logit (np.ndarray): (H, W) float32 map.
        size (tuple[int, int]): Target (H, W).
        align_corners (bool): The head's ``align_corners``. Defaults to False.

    Returns:
        np.ndarray: (H, W) float32.
    """
    logit = np.asarray(logit, dtype=np.float32)
    out = _lerp_axis(logit, int(size[1]), 1, align_corners)
    return np.ascontiguousarray(_lerp_axis(out, int(size[0]), 0, align_corners))


def _lerp_axis(arr: np.ndarray, n: int, axis: int, align_corners: bool) -> np.ndarray:
    """Linear interpolation of ``arr`` along ``axis`` to ``n`` samples (PyTorch's rule)."""
    m = arr.shape[axis]
    if m == n:
        return arr.copy()
    dst = np.arange(n, dtype=np.float64)
    # float32 scale, source index rounded once to float32 (as PyTorch's compiled kernel)
    if align_corners:
        scale = np.float32((m - 1) / (n - 1)) if n > 1 else np.float32(0)
        src = (np.float64(scale) * dst).astype(np.float32)
    else:
        scale = np.float32(m / n)
        src = np.maximum((np.float64(scale) * (dst + 0.5) - 0.5).astype(np.float32),
                         np.float32(0))
    lo = np.minimum(np.floor(src).astype(np.int64), m - 1)
    hi = np.minimum(lo + 1, m - 1)
    w_hi = (src - lo.astype(np.float32)).astype(np.float32)
    w_lo = np.float32(1) - w_hi
    shape = [1, 1]
    shape[axis] = n
    a = np.take(arr, lo, axis=axis)
    b = np.take(arr, hi, axis=axis)
    return (a * w_lo.reshape(shape) + b * w_hi.reshape(shape)).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable float32 logistic function."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out

