"""mmchest: chest X-ray segmentation and detection for OpenMMLab 2.x."""
from .version import __version__

__all__ = ['__version__']
