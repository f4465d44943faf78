"""mmengine-level pieces: safe checkpoint loading, samplers, hooks."""
from . import safe_checkpoint

__all__ = ['safe_checkpoint']
