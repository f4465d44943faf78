"""``LoadRLEMask``: the SIIM pneumothorax mask from RLE rows or a mask PNG (mmseg pipelines)."""
from __future__ import annotations

from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmseg.registry import TRANSFORMS

from mmchest.io.rle import rle_decode


def set_gt_seg_map(results: dict, mask: np.ndarray) -> None:
    """Store ``mask`` as ``results['gt_seg_map']`` and list it in ``seg_fields`` (once), so
    that mmseg's crops and flips move it with the image."""
    results['gt_seg_map'] = mask
    seg_fields = results.setdefault('seg_fields', [])
    if 'gt_seg_map' not in seg_fields:
        seg_fields.append('gt_seg_map')


@TRANSFORMS.register_module()
class LoadRLEMask(BaseTransform):
    """Build ``gt_seg_map`` from RLE rows (SIIM CSV) or, failing that, a mask PNG.

    SIIM RLE is decoded at the image's original size (``ori_shape``, set by the image
    loader), so this transform goes right after ``LoadDicomImageFromFile`` and before any
    geometric transform. All rows of an image are merged (union); no rows = empty mask. For
    the PNG layout it reads ``seg_map_path`` (any non-zero pixel = pneumothorax), so one
    pipeline serves both layouts.

    Required Keys:

    - ori_shape
    - rle (list[str], optional) and rle_rows (list[int], optional)
    - rle_relative (bool, optional)
    - seg_map_path (str, optional)

    Added Keys:

    - gt_seg_map (np.uint8, values 0/1)

    Modified Keys:

    - seg_fields (``'gt_seg_map'`` appended, so mmseg's crops and flips move the mask with
      the image)

    Args:
        relative (bool, optional): Override the RLE flavour; None uses the dataset's
            ``rle_relative``. Defaults to None.
        backend_args (dict, optional): File backend for mask PNGs. Defaults to None.
    """

    def __init__(self, relative: Optional[bool] = None,
                 backend_args: Optional[dict] = None) -> None:
        self.relative = relative
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        if results.get('seg_map_path') and not results.get('rle'):
            img_bytes = get(results['seg_map_path'], backend_args=self.backend_args)
            mask = mmcv.imfrombytes(img_bytes, flag='unchanged', backend='cv2')
            if mask is None:
                raise ValueError(f"{results['seg_map_path']}: cannot decode mask PNG")
            if mask.ndim == 3:
                mask = mask[..., 0]
            mask = (mask > 0).astype(np.uint8)
        else:
            height, width = results['ori_shape'][:2]
            relative = self.relative if self.relative is not None else results.get(
                'rle_relative', True)
            mask = None
            rows = results.get('rle_rows') or [None] * len(results.get('rle', []))
            for rle, row in zip(results.get('rle', []), rows):
                part = rle_decode(rle, (height, width), relative,
                                  image_id=results.get('image_id'), row=row)
                mask = part if mask is None else np.maximum(mask, part, out=mask)
            if mask is None:
                mask = np.zeros((height, width), dtype=np.uint8)
        set_gt_seg_map(results, mask)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(relative={self.relative}, '
                f'backend_args={self.backend_args})')
