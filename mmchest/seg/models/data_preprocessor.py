"""The data preprocessor that pairs with ``PackSegInputsUint8``: uint8 labels cast on the device.

See :mod:`mmchest.seg.transforms.formatting`: the labels travel from the loader workers to the
device as uint8 (an eighth of the bytes) and become int64 only here, after padding.
"""
from __future__ import annotations

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS

__all__ = ['Uint8LabelSegDataPreProcessor']


@MODELS.register_module()
class Uint8LabelSegDataPreProcessor(SegDataPreProcessor):
    """mmseg's ``SegDataPreProcessor`` that casts ``gt_sem_seg`` to int64 on the device.

    Labels packed as uint8 (``PackSegInputsUint8``) travel to the device at an eighth of the
    size; they are padded there (``seg_pad_val`` 255 fits uint8) and then cast, so the model
    receives the int64 labels mmseg's ``PackSegInputs`` would have given. int64 labels pass
    through unchanged. Arguments as ``SegDataPreProcessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        out = super().forward(data, training)
        for sample in out.get('data_samples') or []:
            if 'gt_sem_seg' in sample and sample.gt_sem_seg.data.dtype != torch.int64:
                labels = sample.gt_sem_seg.data.long()
                del sample.gt_sem_seg.data
                sample.gt_sem_seg.data = labels
        return out
