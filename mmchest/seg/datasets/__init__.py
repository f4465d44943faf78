"""mmseg datasets."""
from .siim import SIIMPneumothoraxDataset

__all__ = ['SIIMPneumothoraxDataset']
