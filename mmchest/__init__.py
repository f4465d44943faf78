"""mmchest: chest X-ray segmentation and detection for OpenMMLab 2.x.

Importing the package registers everything it provides (configs only need
``custom_imports = dict(imports=['mmchest'], allow_failed_imports=False)``):

- ``mmchest.transforms``: host-agnostic transforms in mmengine's root registry;
- ``mmchest.engine``: samplers; ``FineTuneLoadHook`` (``load_from`` a checkpoint trained for
  other classes); safe checkpoint loading, the refusal of checkpoints that do not fit the
  model in ``mim test`` and the inference tools, and CPU (gloo) support for
  ``--launcher pytorch``, all installed on import;
- ``mmchest.seg``: MMSegmentation datasets, transforms, metrics and models;
- ``mmchest.det``: MMDetection datasets and metrics.

The framework-free cores (``mmchest.io``, ``mmchest.evaluation``,
``mmchest.postprocessing``, ``mmchest.splits``, ``mmchest.synthetic``, ``mmchest.weights``)
hold the maths and file formats; the registered classes are thin wrappers around them.
"""
from .version import __version__
from .engine import checkpoint_fit as _checkpoint_fit
from .engine import cpu_distributed as _cpu_distributed
from .engine import safe_checkpoint as _safe_checkpoint

_safe_checkpoint.install()
_checkpoint_fit.install()
_cpu_distributed.install()

from . import engine, transforms  # noqa: E402,F401
from . import seg  # noqa: E402,F401  (registers into mmseg)
from . import det  # noqa: E402,F401  (registers into mmdet)

__all__ = ['__version__', 'engine', 'transforms', 'seg', 'det']
