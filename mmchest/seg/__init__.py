"""Everything that registers into MMSegmentation. Never imports mmdet.

``datasets/`` (SIIM, multi-expert pneumonia), ``transforms/`` (mask loading, augmentation,
packing), ``metrics/``, ``models/`` (heads, losses, segmentors, TTA, data preprocessor) and
``hooks.py`` (DICOM-aware visualisation).
"""
from . import datasets, hooks, metrics, models, transforms
from .datasets import *  # noqa: F401,F403
from .hooks import DicomSegVisualizationHook
from .metrics import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = (datasets.__all__ + metrics.__all__ + models.__all__ + transforms.__all__
           + ['DicomSegVisualizationHook'])
