"""mmpretrain side of mmchest: importing it registers the RSNA image-level classification
dataset and metric into MMPretrain's registries.

Never imports mmseg or mmdet. Configs use
``custom_imports = dict(imports=['mmchest.cls'], allow_failed_imports=False)``.
"""
from .datasets import RSNA_CLS_CLASSES, RSNAClassificationDataset
from .metrics import RSNAClsMetric

__all__ = ['RSNAClassificationDataset', 'RSNA_CLS_CLASSES', 'RSNAClsMetric']
