"""mmdet metrics."""
from .rsna_metric import RSNAMetric

__all__ = ['RSNAMetric']
