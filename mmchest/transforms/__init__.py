"""Host-agnostic transforms, registered in mmengine's root ``TRANSFORMS`` registry.

Registered in the root registry (as mmcv's ``LoadImageFromFile``), so ``type=`` strings
resolve under both the ``mmseg`` and ``mmdet`` scopes once this package is imported.
"""
from .loading import LoadDicomImageFromFile

__all__ = ['LoadDicomImageFromFile']
