"""mmengine-level pieces: safe checkpoint loading and data samplers."""
from . import cpu_distributed, safe_checkpoint
from .samplers import PositiveRatioSampler

__all__ = ['cpu_distributed', 'safe_checkpoint', 'PositiveRatioSampler']
