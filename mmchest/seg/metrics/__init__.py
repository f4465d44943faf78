"""mmseg metrics."""
from .siim_dice_metric import SIIMDiceMetric

__all__ = ['SIIMDiceMetric']
