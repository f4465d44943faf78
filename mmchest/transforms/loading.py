"""``LoadDicomImageFromFile``: a drop-in for mmcv's ``LoadImageFromFile`` that reads DICOM.

Thin wrapper: the decoding and intensity maths live in :mod:`mmchest.io.dicom`; this class
only fetches bytes, reads/writes the results dict and matches mmcv's conventions (BGR,
``img_shape``/``ori_shape``, ``to_float32``, ``ignore_empty``). Registered in mmengine's root
``TRANSFORMS`` registry, like mmcv's loaders, so mmseg and mmdet configs both resolve it.
"""
from __future__ import annotations

from typing import Optional

import cv2
import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from mmchest.io.dicom import (DEFAULT_MAX_PIXELS, check_options, decode_dicom, has_dicom_prefix,
                              is_color)

__all__ = ['LoadDicomImageFromFile', 'load_rgb']

_COLOR_TYPES = ('color', 'grayscale', 'unchanged')


@TRANSFORMS.register_module()
class LoadDicomImageFromFile(BaseTransform):
    """Load a DICOM image (or, as a fallback, any image mmcv can decode) from file.

    A file is decoded as DICOM when its name ends with one of ``dicom_suffixes`` or its
    bytes carry the Part 10 prefix (128-byte preamble + 'DICM'); anything else (PNG, JPEG,
    ...) goes through ``mmcv.imfrombytes`` exactly as in ``LoadImageFromFile``, so one
    pipeline serves both a DICOM layout and a PNG-export layout of the same dataset.

    DICOM pixels go through :func:`mmchest.io.dicom.decode_dicom`. The default
    ``norm='auto'`` loads any single-frame radiograph as a viewer shows it: an 8-bit
    MONOCHROME2 file (SIIM-ACR, RSNA Kaggle) bit-identical to its pixel data and to a PNG
    export read by ``LoadImageFromFile``; 10-16 bit or signed data (hospital CR/DX) through
    the modality LUT and the header's VOI LUT / window (else a percentile window) to 0..255;
    MONOCHROME1 inverted so air is dark; RGB/YBR and PALETTE COLOR as colour. The other
    ``norm`` values are explicit choices (``norm='none'`` with ``to_float32=True`` gives the
    raw modality-LUT values). Files that cannot be decoded raise ``DicomReadError`` naming
    the file and the reason (e.g. the missing decoder).

    Required Keys:

    - img_path

    Modified Keys:

    - img
    - img_shape
    - ori_shape

    Added Keys:

    - dicom_meta (dict | None): identifier-free header values (ViewPosition, PatientSex,
      PatientAge, PixelSpacing, Rows, Columns, Modality, PhotometricInterpretation,
      BitsStored, SamplesPerPixel, TransferSyntaxUID); None for non-DICOM files.

    Args:
        to_float32 (bool): Return a float32 image. For DICOM this keeps the unquantised
            values (raw modality-LUT values with ``norm='none'``, 0..255 otherwise); for
            other files it is ``img.astype(np.float32)``. Defaults to False.
        color_type (str): ``'color'``: HxWx3 BGR (greyscale replicated), what mmseg/mmdet
            data preprocessors expect; ``'grayscale'``: HxW; ``'unchanged'``: HxW for
            greyscale DICOM, HxWx3 BGR for colour DICOM (non-DICOM files: as
            ``mmcv.imfrombytes``). Defaults to 'color'.
        norm (str): DICOM intensity mapping: ``'auto'`` (as a viewer shows it, see above),
            ``'none'``, ``'minmax'`` (``img / img.max() * 255``), ``'percentile'``,
            ``'window'``; see :func:`mmchest.io.dicom.read_dicom`. Defaults to 'auto'.
        window (tuple[float, float], optional): ``(center, width)`` for ``norm='window'``;
            None uses the file's WindowCenter/WindowWidth. Defaults to None.
        percentiles (tuple[float, float]): Clip percentiles for ``norm='percentile'`` and
            the fallback window of ``norm='auto'``. Defaults to (0.5, 99.5).
        voi_lut (bool): Apply the file's VOI LUT / window before ``norm``. Defaults to False.
        frame (str): Multi-frame DICOM: ``'first'`` or ``'error'``. Defaults to 'first'.
        max_pixels (int, optional): Pixel budget checked from the DICOM header before
            decoding (Rows x Columns x frames x samples); a larger file raises
            ``DicomReadError`` (decompression bombs included). None disables it. Defaults
            to ``mmchest.io.dicom.DEFAULT_MAX_PIXELS`` (8192 x 8192).
        dicom_suffixes (tuple[str, ...]): Lower-case name endings always read as DICOM
            (covers DICOM files without a Part 10 prefix). Defaults to ('.dcm', '.dicom').
        imdecode_backend (str): ``mmcv.imfrombytes`` backend for non-DICOM files.
            Defaults to 'cv2'.
        ignore_empty (bool): Return None instead of raising when the file is missing or
            cannot be decoded. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments, as in
            ``LoadImageFromFile``. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 norm: str = 'auto',
                 window: Optional[tuple[float, float]] = None,
                 percentiles: tuple[float, float] = (0.5, 99.5),
                 voi_lut: bool = False,
                 frame: str = 'first',
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 dicom_suffixes: tuple[str, ...] = ('.dcm', '.dicom'),
                 imdecode_backend: str = 'cv2',
                 ignore_empty: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        if color_type not in _COLOR_TYPES:
            raise ValueError(f'color_type must be one of {_COLOR_TYPES}, got {color_type!r}')
        self.to_float32 = to_float32
        self.color_type = color_type
        self.norm = norm
        self.window = tuple(window) if window is not None else None
        self.percentiles = tuple(percentiles)
        self.voi_lut = voi_lut
        self.frame = frame
        self.max_pixels = max_pixels
        self.dicom_suffixes = tuple(s.lower() for s in dicom_suffixes)
        self.imdecode_backend = imdecode_backend
        self.ignore_empty = ignore_empty
        self.backend_args = backend_args.copy() if backend_args is not None else None
        # 'unchanged' reads 3 channels and drops two for greyscale files afterwards.
        self._decode_kwargs = dict(
            norm=norm,
            window=self.window,
            percentiles=self.percentiles,
            voi_lut=voi_lut,
            dtype='float32' if to_float32 else 'uint8',
            channels=1 if color_type == 'grayscale' else 3,
            frame=frame,
            max_pixels=max_pixels)
        check_options(**self._decode_kwargs)  # fail when the pipeline is built

    def _is_dicom(self, filename: str, data: bytes) -> bool:
        return str(filename).lower().endswith(self.dicom_suffixes) or has_dicom_prefix(data)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``.

        Args:
            results (dict): Result dict from :class:`mmengine.dataset.BaseDataset`.

        Returns:
            dict | None: ``results`` with the image and its meta, or None when loading
            failed and ``ignore_empty`` is set.
        """
        filename = results['img_path']
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
            if self._is_dicom(filename, data):
                img, meta = decode_dicom(data, name=filename, **self._decode_kwargs)
                if img.ndim == 3:
                    if is_color(meta):
                        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)  # mmcv's channel order
                    elif self.color_type == 'unchanged':
                        img = np.ascontiguousarray(img[..., 0])
            else:
                img = mmcv.imfrombytes(data, flag=self.color_type,
                                       backend=self.imdecode_backend)
                meta = None
                if img is None:
                    raise ValueError(f'failed to decode image: {filename}')
                if self.to_float32:
                    img = img.astype(np.float32)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['dicom_meta'] = meta
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', "
                f"norm='{self.norm}', "
                f'window={self.window}, '
                f'percentiles={self.percentiles}, '
                f'voi_lut={self.voi_lut}, '
                f"frame='{self.frame}', "
                f'max_pixels={self.max_pixels}, '
                f'dicom_suffixes={self.dicom_suffixes}, '
                f"imdecode_backend='{self.imdecode_backend}', "
                f'ignore_empty={self.ignore_empty}, '
                f'backend_args={self.backend_args})')


def load_rgb(loader: LoadDicomImageFromFile, img_path: str) -> np.ndarray:
    """The radiograph at ``img_path`` as ``loader`` reads it, as an RGB uint8 array for drawing.

    Used by the visualisation hooks, so overlays show exactly the pixels the model saw
    before resizing (DICOM or PNG/JPEG alike).
    """
    img = loader({'img_path': img_path})['img']
    return mmcv.bgr2rgb(img) if img.ndim == 3 else mmcv.gray2rgb(img)

