"""mmdet side of mmchest: importing it registers the RSNA dataset, metric and DICOM
visualisation hook into mmdet.

Never imports mmseg.
"""
from .datasets import RSNAPneumoniaDataset
from .hooks import DicomDetVisualizationHook
from .metrics import RSNAMetric

__all__ = ['RSNAPneumoniaDataset', 'RSNAMetric', 'DicomDetVisualizationHook']
