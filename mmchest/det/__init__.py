"""Everything that registers into MMDetection. Never imports mmseg.

``datasets/`` (RSNA pneumonia), ``metrics/`` (RSNA mAP), ``models/`` (box TTA) and
``hooks.py`` (DICOM-aware visualisation).
"""
# What the configs need besides this subpackage is registered by mmchest/__init__.py, which
# runs first: the samplers, hooks and compat patches, and the root DICOM loader.
from .. import engine as _engine  # noqa: F401
from .. import transforms as _root_transforms  # noqa: F401
from . import datasets, hooks, metrics, models  # noqa: F401
from .datasets import RSNAPneumoniaDataset
from .hooks import DicomDetVisualizationHook
from .metrics import RSNAMetric
from .models import BoxDetTTAModel

__all__ = ['RSNAPneumoniaDataset', 'RSNAMetric', 'DicomDetVisualizationHook', 'BoxDetTTAModel']
