"""Safe checkpoint loading: ``weights_only=True`` with an allow-list of mmengine's own types.

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
process only, still under ``weights_only=True``. Names in ``builtins`` are never accepted and
never suggested. Nothing here ever unpickles arbitrary code, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
is never set, and torch's advice to retry with ``weights_only=False`` is never passed on.

A local file that is empty, truncated or not a torch checkpoint at all raises
:class:`CheckpointReadError` naming the file, instead of torch's bare ``EOFError`` or
zip-reader message.

mmengine's loaders are routed here by :mod:`mmchest.engine.compat` (the
``mmengine_checkpoint_globals`` and ``mmengine_safe_checkpoint_loader`` patches).
"""
from __future__ import annotations

import errno
import functools
import importlib
import os
import os.path as osp
import pickle
import pickletools
import re
import struct
from typing import Any, Callable, Dict, List, Tuple

import _compat_pickle
import numpy as np
import torch

#: Environment variable naming extra globals a user explicitly trusts (comma-separated).
TRUSTED_GLOBALS_ENV = 'MMCHEST_TRUSTED_GLOBALS'

#: HistoryBuffer attributes the ``builtins.getattr`` stand-in may return.
HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'mean', 'current'})


class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list and was not loaded."""


class CheckpointReadError(ValueError):
    """A checkpoint file is empty, truncated or not a torch checkpoint; nothing was loaded.

    Args:
        path (str | os.PathLike): The file that failed.
        reason (str): What is wrong, completing "checkpoint PATH ...".

    Attributes:
        path (str): The file that failed.
        reason (str): What is wrong.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fsdecode(path)
        self.reason = reason
        super().__init__(f'checkpoint {self.path!r} {reason}')


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


#: Where torch's weights-only error text gives the actual cause.
_TORCH_CAUSE = 'WeightsUnpickler error:'
#: torch's advice that must never reach a user (weights_only=False, allow-listing builtins).
_TORCH_ADVICE = re.compile(r'\s*(Please use|Please file|Re-running|In PyTorch 2\.6|This is an '
                           r'internal|If you are seeing|Check the documentation)\b.*', re.S)
#: Messages of torch.load failures that mean the bytes are not a (complete) torch checkpoint.
_UNREADABLE = ('PytorchStreamReader', 'unexpected EOF', 'Invalid magic number',
               'inline_container', 'corrupt', 'Unsupported operand', 'invalid load key')


def _torch_reason(err: BaseException) -> str:
    """The cause in torch's message, one sentence, without its advice."""
    text = str(err)
    if _TORCH_CAUSE in text:
        text = text.split(_TORCH_CAUSE, 1)[1]
    text = re.sub(r'^\s*\[enforce fail at [^\]]*\]\s*\.?\s*', '', text)
    text = _TORCH_ADVICE.sub('', ' '.join(text.split()))
    text = re.split(r'(?<=\.)\s', text, maxsplit=1)[0].strip()
    if isinstance(err, (RuntimeError, pickle.UnpicklingError)) and text:
        return text
    return f'{type(err).__name__}: {text}' if text else type(err).__name__


def _is_unreadable(err: BaseException) -> bool:
    """Whether a torch.load failure means a truncated, corrupt or foreign file."""
    if isinstance(err, (EOFError, KeyError, IndexError, struct.error)):
        return True
    if isinstance(err, OSError) and err.errno == errno.EINVAL:  # seek before a cut zip's start
        return True
    return isinstance(err, (RuntimeError, pickle.UnpicklingError, ValueError)) and any(
        marker in str(err) for marker in _UNREADABLE)


def _is_zip(filename: str) -> bool:
    try:
        with open(filename, 'rb') as f:
            return f.read(4) == b'PK\x03\x04'
    except OSError:
        return False


def _python3_name(module: str, name: str) -> str:
    """``module.name`` as Python 3 resolves a protocol-2 GLOBAL (``__builtin__`` -> builtins)."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f'{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}'


def _pickle_globals(stream) -> List[str]:
    """``module.name`` of each GLOBAL / STACK_GLOBAL in one pickle, read statically."""
    found, recent, memo = [], [], {}
    for op, arg, _ in pickletools.genops(stream):
        if op.name == 'GLOBAL':
            found.append(_python3_name(*arg.split(' ', 1)))
        elif op.name == 'STACK_GLOBAL' and len(recent) >= 2:
            found.append(f'{recent[-2]}.{recent[-1]}')
        if isinstance(arg, str) and 'UNICODE' in op.name:
            recent.append(arg)
        elif op.name in ('BINPUT', 'LONG_BINPUT', 'PUT') and recent:
            memo[arg] = recent[-1]
        elif op.name == 'MEMOIZE' and recent:
            memo[len(memo)] = recent[-1]
        elif op.name in ('BINGET', 'LONG_BINGET', 'GET') and arg in memo:
            recent.append(memo[arg])
    return found


def _legacy_globals(filename: str) -> List[str]:
    """Globals of a legacy-format (pre-1.6) checkpoint, read statically.

    Raises:
        ValueError: The pickles are truncated or invalid.
    """
    with open(filename, 'rb') as f:  # magic number, protocol, sys info, then the object
        for _ in range(3):
            _pickle_globals(f)
        return _pickle_globals(f)


def _unsafe_globals(filename: str, err: BaseException) -> List[str]:
    """Globals of the checkpoint outside torch's and mmchest's allow-lists (best effort)."""
    unsafe: List[str] = []
    try:
        if _is_zip(filename):
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        else:
            from torch import _weights_only_unpickler as wou
            allowed = set(wou._get_allowed_globals()) | set(wou._get_user_allowed_globals())
            unsafe = [g for g in _legacy_globals(filename) if g not in allowed]
    except Exception:  # noqa: BLE001 - the listing is a courtesy; the refusal stands
        unsafe = []
    if not unsafe:  # torch names the first global it refused
        unsafe = re.findall(r'GLOBAL (\S+) was not an allowed global', str(err))
    return sorted(set(unsafe), key=unsafe.index)


def _refusal_message(filename: str, err: BaseException) -> str:
    with torch.serialization.safe_globals(user_trusted_globals()):
        unsafe = _unsafe_globals(filename, err)
    builtin = [g for g in unsafe if g.startswith(('builtins.', '__builtin__.')) or '.' not in g]
    others = [g for g in unsafe if g not in builtin]
    listed = ', '.join(unsafe) if unsafe else f'torch: {_torch_reason(err)}'
    message = (f'Refused to load checkpoint {filename!r}: it contains pickled objects outside '
               f"mmchest's allow-list ({listed}). mmchest loads checkpoints with "
               'torch.load(weights_only=True) so that a file cannot run code on your machine.')
    if others:
        message += (f' If you trust this file, allow exactly '
                    f'{"this global" if len(others) == 1 else "these globals"} with the '
                    f'environment variable {TRUSTED_GLOBALS_ENV}="{",".join(others)}".')
    if builtin:
        message += (f' {", ".join(builtin)} can never be allowed, not even through '
                    f'{TRUSTED_GLOBALS_ENV} (builtins let a checkpoint run code), so this file '
                    'stays refused' + (' even with that variable set.' if others else '.'))
    if osp.isfile(filename) and not _is_zip(filename):
        message += (" It is in torch's legacy (pre-1.6) serialization format.")
    message += (' To use the weights, re-save them with a current torch as a plain state dict '
                'from the code that trained them, e.g. '
                "torch.save({'state_dict': model.state_dict()}, 'model.pth').")
    return message


def safe_torch_load(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` and the mmchest allow-list.

    Args:
        filename (str): Local checkpoint path.
        map_location (Any): As in :func:`torch.load`. Defaults to None.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointReadError: If it is empty, truncated or not a torch checkpoint.
        CheckpointRefusedError: If it holds objects outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointReadError(filename, 'is empty (0 bytes); copy or download it again')
    register_safe_globals()
    trusted = user_trusted_globals()
    try:
        with torch.serialization.safe_globals(trusted):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, struct.error, RuntimeError,
            OSError, ValueError) as err:
        reason = f'torch: {_torch_reason(err)}' if _is_unreadable(err) else None
        if reason is None and isinstance(err, pickle.UnpicklingError) and not _is_zip(filename):
            try:  # a legacy file cut inside a name is refused for that partial name
                _legacy_globals(filename)
            except ValueError as scan_err:
                reason = f'pickle: {scan_err}'
        if reason is not None:
            raise CheckpointReadError(
                filename, f'is truncated or not a torch checkpoint ({size} '
                f'byte{"s" * (size != 1)}; {reason}); copy or download it again') from None
        if isinstance(err, pickle.UnpicklingError):
            raise CheckpointRefusedError(_refusal_message(filename, err)) from None
        raise


def explain_refusals(loader: Callable) -> Callable:
    """Wrap an mmengine scheme loader so that unpickling refusals explain the opt-in.

    Args:
        loader (Callable): ``loader(filename, map_location, ...)`` as mmengine's
            ``CheckpointLoader`` registers them.

    Returns:
        Callable: The wrapped loader (marked ``_mmchest_wrapped``; wrapping twice is a no-op).
    """
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
