"""mmdet side of mmchest: importing it registers the RSNA dataset, metric, DICOM
visualisation hook and box TTA model into mmdet.

Never imports mmseg.
"""
from .datasets import RSNAPneumoniaDataset
from .hooks import DicomDetVisualizationHook
from .metrics import RSNAMetric
from .tta import BoxDetTTAModel

__all__ = ['RSNAPneumoniaDataset', 'RSNAMetric', 'DicomDetVisualizationHook', 'BoxDetTTAModel']
