"""mmengine-level pieces: safe checkpoint loading, data samplers and the fine-tuning hook."""
from . import checkpoint_fit, cpu_distributed, safe_checkpoint
from .hooks import FineTuneLoadHook
from .samplers import InfinitePositiveRatioSampler, PositiveRatioSampler

__all__ = ['checkpoint_fit', 'cpu_distributed', 'safe_checkpoint', 'PositiveRatioSampler',
           'InfinitePositiveRatioSampler', 'FineTuneLoadHook']
