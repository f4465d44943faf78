"""Everything that registers into MMSegmentation. Never imports mmdet.

``datasets/`` (SIIM, multi-expert pneumonia), ``transforms/`` (mask loading, augmentation,
packing), ``metrics/``, ``models/`` (heads, losses, segmentors, TTA, data preprocessor) and
``hooks.py`` (DICOM-aware visualisation).
"""
# What the configs need besides this subpackage is registered by mmchest/__init__.py, which
# runs first: the samplers, hooks and compat patches, and the root DICOM loader.
from .. import engine as _engine  # noqa: F401
from .. import transforms as _root_transforms  # noqa: F401
from . import datasets, hooks, metrics, models, transforms  # noqa: F401
from .datasets import *  # noqa: F401,F403
from .hooks import DicomSegVisualizationHook
from .metrics import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = (datasets.__all__ + metrics.__all__ + models.__all__ + transforms.__all__
           + ['DicomSegVisualizationHook'])
