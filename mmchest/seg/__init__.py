"""Everything that registers into MMSegmentation. Never imports mmdet."""
from . import datasets, formatting, hooks, metrics, models, transforms
from .datasets import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .formatting import PackSegInputsUint8, Uint8LabelSegDataPreProcessor
from .hooks import DicomSegVisualizationHook
from .transforms import LoadRLEMask
from .transforms_augment import GrayscalePhotoMetricDistortion, RandomAffineCrop
from .transforms_multi_expert import LoadExpertMasks

__all__ = datasets.__all__ + metrics.__all__ + models.__all__ + [
    'DicomSegVisualizationHook', 'LoadRLEMask', 'LoadExpertMasks', 'RandomAffineCrop',
    'GrayscalePhotoMetricDistortion', 'PackSegInputsUint8', 'Uint8LabelSegDataPreProcessor']
