"""mmdet models: test-time augmentation on the boxes of detectors that also predict masks."""
from .box_tta import BoxDetTTAModel

__all__ = ['BoxDetTTAModel']
