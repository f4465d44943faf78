"""mmseg metrics."""
from .multi_expert_metric import MultiExpertDiceMetric
from .siim_dice_metric import SIIMDiceMetric

__all__ = ['MultiExpertDiceMetric', 'SIIMDiceMetric']
