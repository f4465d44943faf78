"""Safe checkpoint loading for mmengine 0.10.7 on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses every pickled
object that is not a tensor or plain container. Checkpoints written by mmengine 0.10.7 hold
a few more (in ``message_hub``): ``HistoryBuffer``, numpy arrays, scalars and dtypes, and
``builtins.getattr`` (HistoryBuffer's statistics methods are pickled as
``getattr(HistoryBuffer, 'min')``). So ``--resume``, ``load_from`` and
``mim test --checkpoint`` fail with an unpickling error.

This module keeps ``weights_only=True`` and allow-lists exactly those types:

* ``HistoryBuffer``, ``numpy.ndarray``, ``numpy.dtype`` and its concrete ``numpy.dtypes``
  classes, numpy's array/scalar reconstructors (under their numpy 1 and numpy 2 names);
* a restricted stand-in registered under the name ``builtins.getattr`` that returns only
  HistoryBuffer's own statistics methods. ``builtins.getattr`` itself is never allowed: it
  would open arbitrary attribute access to anything else the pickle can name.

Any other pickled object makes the load fail with :class:`CheckpointRefusedError`, whose
message lists the offending globals and the explicit opt-in: the environment variable
``MMCHEST_TRUSTED_GLOBALS`` (comma-separated dotted names) extends the allow-list for that
process only, still under ``weights_only=True``. Nothing here ever unpickles arbitrary code,
and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is never set.
"""
from __future__ import annotations

import functools
import importlib
import os
import os.path as osp
import pickle
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import torch

#: Environment variable naming extra globals a user explicitly trusts (comma-separated).
TRUSTED_GLOBALS_ENV = 'MMCHEST_TRUSTED_GLOBALS'

#: HistoryBuffer attributes the ``builtins.getattr`` stand-in may return.
HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'mean', 'current'})


class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list and was not loaded."""


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` inside checkpoints.

    Args:
        obj (Any): Must be mmengine's ``HistoryBuffer`` class itself.
        name (str): One of :data:`HISTORY_BUFFER_METHODS`.

    Returns:
        Callable: The HistoryBuffer statistics method.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        f'getattr(HistoryBuffer, {sorted(HISTORY_BUFFER_METHODS)}) is allowed')


def mmengine_safe_globals() -> List[Any]:
    """Return the allow-list of globals that mmengine 0.10.7 writes into checkpoints.

    Returns:
        list: Objects and ``(object, 'dotted.name')`` pairs for
        :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = getattr(np, '_core', None)
    multiarray = multiarray.multiarray if multiarray is not None else np.core.multiarray
    safe: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    # Concrete dtype classes (np.dtypes.Float64DType, ...): BUILD checks type(instance).
    safe += [cls for cls in vars(np.dtypes).values()
             if isinstance(cls, type) and issubclass(cls, np.dtype)]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe.append((multiarray._reconstruct, f'{module}._reconstruct'))
        safe.append((multiarray.scalar, f'{module}.scalar'))
    safe.append((_history_buffer_getattr, 'builtins.getattr'))
    return safe


def _resolve(dotted: str) -> Any:
    """Import ``package.module.Name`` (the longest importable module prefix wins)."""
    parts = dotted.split('.')
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ValueError(f'{TRUSTED_GLOBALS_ENV}: cannot import {dotted!r}')


def user_trusted_globals() -> List[Tuple[Any, str]]:
    """Globals the user trusts explicitly through ``MMCHEST_TRUSTED_GLOBALS``.

    Names in the ``builtins`` module are refused even there: ``getattr``, ``eval`` and
    friends turn a checkpoint into a program.

    Returns:
        list[tuple]: ``(object, 'dotted.name')`` pairs.
    """
    names = [n.strip() for n in os.environ.get(TRUSTED_GLOBALS_ENV, '').split(',') if n.strip()]
    trusted = []
    for name in names:
        if name.startswith('builtins.'):
            raise ValueError(f'{TRUSTED_GLOBALS_ENV}: refusing to trust {name!r}; '
                             'builtins can execute arbitrary code')
        trusted.append((_resolve(name), name))
    return trusted


def register_safe_globals() -> None:
    """Allow-list mmengine's checkpoint types for ``torch.load(weights_only=True)``."""
    torch.serialization.add_safe_globals(mmengine_safe_globals())


def _refusal_message(filename: str, err: Exception) -> str:
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # noqa: BLE001 - the listing is a courtesy; the refusal stands
        unsafe = []
    listed = ', '.join(unsafe) if unsafe else str(err).splitlines()[0]
    return (
        f'Refused to load checkpoint {filename!r}: it contains pickled objects outside '
        f"mmchest's allow-list ({listed}). mmchest loads checkpoints with "
        'torch.load(weights_only=True) so that a file cannot run code on your machine. '
        f'If you trust this file, allow exactly these globals with the environment variable '
        f'{TRUSTED_GLOBALS_ENV}="{",".join(unsafe) or "module.Name"}" (comma-separated; '
        'builtins are never accepted), or re-save its state_dict from a trusted session.')


def safe_torch_load(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` and the mmchest allow-list.

    Args:
        filename (str): Local checkpoint path.
        map_location (Any): As in :func:`torch.load`. Defaults to None.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointRefusedError: If it holds objects outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    register_safe_globals()
    try:
        with torch.serialization.safe_globals(user_trusted_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointRefusedError(_refusal_message(filename, err)) from None


def _explain_refusals(loader: Callable) -> Callable:
    """Wrap an mmengine scheme loader so unpickling refusals explain the opt-in."""
    if getattr(loader, '_mmchest_wrapped', False):
        return loader

    @functools.wraps(loader)
    def wrapped(filename, map_location=None, *args, **kwargs):
        try:
            with torch.serialization.safe_globals(user_trusted_globals()):
                return loader(filename, map_location, *args, **kwargs)
        except CheckpointRefusedError:
            raise
        except pickle.UnpicklingError as err:
            raise CheckpointRefusedError(_refusal_message(filename, err)) from None

    wrapped._mmchest_wrapped = True  # type: ignore[attr-defined]
    return wrapped


def patch_mmengine_checkpoint_loader() -> None:
    """Route mmengine's local loader through :func:`safe_torch_load` and wrap the others.

    Covers ``Runner.resume``, ``load_from`` and ``load_checkpoint`` (``mim test
    --checkpoint``), which all go through ``CheckpointLoader``.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename, map_location):
        return safe_torch_load(filename, map_location)

    load_from_local._mmchest_wrapped = True  # type: ignore[attr-defined]
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        new = load_from_local if prefix == '' else _explain_refusals(loader)
        CheckpointLoader.register_scheme(prefix, new, force=True)


def install() -> None:
    """Register the allow-list and patch mmengine; called when ``mmchest`` is imported."""
    register_safe_globals()
    patch_mmengine_checkpoint_loader()
