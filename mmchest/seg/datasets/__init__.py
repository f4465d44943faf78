"""mmseg datasets."""
from .multi_expert_pneumonia import MultiExpertPneumoniaDataset
from .siim import SIIMPneumothoraxDataset

__all__ = ['MultiExpertPneumoniaDataset', 'SIIMPneumothoraxDataset']
