"""mmengine-level pieces: data samplers, the fine-tuning hook, safe checkpoint loading, the fit
check of evaluation checkpoints, and the mmengine/torch compatibility patches
(:mod:`mmchest.engine.compat`, installed by ``import mmchest``)."""
from . import checkpoint_fit, compat, safe_checkpoint
from .hooks import FineTuneLoadHook
from .samplers import InfinitePositiveRatioSampler, PositiveRatioSampler

__all__ = ['checkpoint_fit', 'compat', 'safe_checkpoint', 'PositiveRatioSampler',
           'InfinitePositiveRatioSampler', 'FineTuneLoadHook']
