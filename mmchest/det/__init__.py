"""mmdet side of mmchest: importing it registers the RSNA dataset and metric into mmdet.

Never imports mmseg.
"""
from .datasets import RSNAPneumoniaDataset
from .metrics import RSNAMetric

__all__ = ['RSNAPneumoniaDataset', 'RSNAMetric']
