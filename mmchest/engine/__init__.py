"""mmengine-level pieces: safe checkpoint loading, data samplers and the fine-tuning hook."""
from . import cpu_distributed, safe_checkpoint
from .hooks import FineTuneLoadHook
from .samplers import PositiveRatioSampler

__all__ = ['cpu_distributed', 'safe_checkpoint', 'PositiveRatioSampler', 'FineTuneLoadHook']
