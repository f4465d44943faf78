"""mmchest: chest X-ray segmentation and detection for OpenMMLab 2.x.

Importing the package registers everything it provides for the hosts that are installed:

- ``mmchest.engine``: samplers and ``FineTuneLoadHook`` (mmengine's registries), and the
  mmengine/torch patches of :mod:`mmchest.engine.compat` (safe checkpoint loading, the fit
  check of evaluation checkpoints, CPU ``--launcher pytorch``), each gated on the versions
  it fixes;
- ``mmchest.transforms``: host-agnostic transforms in mmengine's root registry (needs mmcv);
- ``mmchest.seg``: MMSegmentation datasets, transforms, metrics, models, hooks (needs mmseg);
- ``mmchest.det``: MMDetection datasets, metrics, models, hooks (needs mmdet).

A host that is not installed is skipped: ``import mmchest.seg`` works without mmdet and
``import mmchest.det`` without mmseg, and the framework-free cores (``mmchest.io``,
``mmchest.evaluation``, ``mmchest.postprocessing``, ``mmchest.splits``, ``mmchest.weights``
...) import without mmcv, mmseg and mmdet. Only a missing host is skipped: any other import
error is raised. ``mmchest.cls`` (MMPretrain) is imported on its own: ``import mmchest.cls``.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Dict, Optional, Tuple

from .version import __version__

#: Subpackage -> the packages it needs; when one of them is not installed it is skipped.
HOSTS: Dict[str, Tuple[str, ...]] = {
    'engine': ('mmengine', 'torch'),
    'transforms': ('mmcv', 'mmengine', 'torch'),
    'seg': ('mmseg', 'mmcv', 'mmengine', 'torch'),
    'det': ('mmdet', 'mmcv', 'mmengine', 'torch'),
}


def _import_if_installed(name: str) -> Optional[ModuleType]:
    """Import ``mmchest.<name>``; None when one of its :data:`HOSTS` is not installed.

    Args:
        name (str): The subpackage, a key of :data:`HOSTS`.

    Returns:
        ModuleType | None: The subpackage, or None if a host it needs is missing.

    Raises:
        ImportError: Any import error that is not a missing host (a broken install, a
            missing dependency of an installed host, a bug in mmchest).
    """
    try:
        return importlib.import_module(f'{__name__}.{name}')
    except ModuleNotFoundError as err:
        if _host_missing(err.name or '', HOSTS[name]):
            return None
        raise


def _host_missing(module: str, hosts: Tuple[str, ...]) -> bool:
    """Whether ``module`` (what an import did not find) is one of ``hosts``, or inside one,
    and that host itself is not installed (or blocked with ``sys.modules[host] = None``).

    A submodule missing from an installed host (``mmcv._ext`` of an mmcv built without its
    ops) is a broken install, not a missing host.
    """
    top = module.partition('.')[0]
    if top not in hosts:
        return False
    if top in sys.modules:
        return sys.modules[top] is None
    try:
        return importlib.util.find_spec(top) is None
    except (ImportError, ValueError):
        return True


engine = _import_if_installed('engine')
if engine is not None:
    engine.compat.install()
transforms = _import_if_installed('transforms')
seg = _import_if_installed('seg')
det = _import_if_installed('det')

__all__ = ['__version__'] + [name for name in HOSTS if globals()[name] is not None]
