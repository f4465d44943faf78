"""Packing with uint8 labels: 8x fewer bytes from the loader workers to the device.

mmseg's ``PackSegInputs`` turns ``gt_seg_map`` into int64 on the CPU: 2 MB per 512x512
label map, written in the worker, copied through shared memory to the main process and then
to the device. ``PackSegInputsUint8`` keeps the uint8 map (256 KB) and
:class:`~mmchest.seg.models.data_preprocessor.Uint8LabelSegDataPreProcessor` (mmseg's
``SegDataPreProcessor`` otherwise) makes it int64 on the device, after padding, so the model
sees exactly what it saw before.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

__all__ = ['PackSegInputsUint8']


@TRANSFORMS.register_module()
class PackSegInputsUint8(PackSegInputs):
    """``PackSegInputs`` that leaves a uint8 ``gt_seg_map`` uint8 (a 1xHxW tensor).

    Everything else (the image, the meta keys, the other maps) is packed by mmseg's
    ``PackSegInputs``. Pair it with ``Uint8LabelSegDataPreProcessor`` (or any step that
    casts the labels to int64 before the loss): mmseg's losses index with the labels.

    Required Keys:

    - img
    - gt_seg_map (optional)

    Added Keys:

    - inputs (torch.Tensor)
    - data_samples (SegDataSample): ``gt_sem_seg`` uint8 when ``gt_seg_map`` was uint8

    Args:
        meta_keys (Sequence[str]): As ``PackSegInputs``.
    """

    def transform(self, results: dict) -> dict:
        gt = results.get('gt_seg_map')
        if gt is None or gt.dtype != np.uint8 or gt.ndim != 2:
            return super().transform(results)
        packed = super().transform({k: v for k, v in results.items() if k != 'gt_seg_map'})
        packed['data_samples'].gt_sem_seg = PixelData(
            data=torch.from_numpy(np.ascontiguousarray(gt)[None]))
        return packed
