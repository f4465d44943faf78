"""mmdet datasets."""
from .rsna import DEFAULT_SPLIT_FRACTIONS, RSNAPneumoniaDataset, rsna_split_patients

__all__ = ['RSNAPneumoniaDataset', 'DEFAULT_SPLIT_FRACTIONS', 'rsna_split_patients']
