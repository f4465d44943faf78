"""mmengine-level pieces: safe checkpoint loading and data samplers."""
from . import safe_checkpoint
from .samplers import PositiveRatioSampler

__all__ = ['safe_checkpoint', 'PositiveRatioSampler']
