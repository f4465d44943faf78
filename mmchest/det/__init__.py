"""Everything that registers into MMDetection. Never imports mmseg.

``datasets/`` (RSNA pneumonia), ``metrics/`` (RSNA mAP), ``models/`` (box TTA) and
``hooks.py`` (DICOM-aware visualisation).
"""
from . import datasets, hooks, metrics, models
from .datasets import RSNAPneumoniaDataset
from .hooks import DicomDetVisualizationHook
from .metrics import RSNAMetric
from .models import BoxDetTTAModel

__all__ = ['RSNAPneumoniaDataset', 'RSNAMetric', 'DicomDetVisualizationHook', 'BoxDetTTAModel']
