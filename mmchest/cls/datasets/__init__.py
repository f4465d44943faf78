"""mmpretrain datasets."""
from .rsna_cls import RSNA_CLS_CLASSES, RSNAClassificationDataset

__all__ = ['RSNAClassificationDataset', 'RSNA_CLS_CLASSES']
