"""mmpretrain metrics."""
from .rsna_cls_metric import RSNAClsMetric

__all__ = ['RSNAClsMetric']
