"""mmseg transforms: mask loading (SIIM RLE, experts' masks), augmentation, packing.

Image loading (``LoadDicomImageFromFile``) is host-agnostic and lives in
:mod:`mmchest.transforms` (mmengine's root registry).
"""
from .augment import GrayscalePhotoMetricDistortion, RandomAffineCrop
from .expert_masks import LoadExpertMasks
from .formatting import PackSegInputsUint8
from .rle_mask import LoadRLEMask

__all__ = ['LoadRLEMask', 'LoadExpertMasks', 'RandomAffineCrop', 'GrayscalePhotoMetricDistortion',
           'PackSegInputsUint8']
