"""Evaluation refuses a checkpoint that does not fit the model.

mmengine 0.10.7 loads every checkpoint with ``strict=False``: ``mim test`` (``Runner.test`` /
``Runner.val`` -> ``load_or_resume`` -> ``Runner.load_checkpoint``) and the inference APIs
(``mmseg.apis.init_model``, ``mmdet.apis.init_detector`` -> ``load_checkpoint``) accept a
checkpoint of another model, leave the weights it lacks at their random initialisation, and
only log a warning; the metrics or predictions that follow are silently meaningless.

This module makes those *evaluation* loads strict where it matters:

* every weight of the model (parameters and persistent buffers, BatchNorm's
  ``num_batches_tracked`` excepted, as mmengine does) must be in the checkpoint, and
* every tensor the checkpoint shares with the model must have the model's shape.

Otherwise :class:`CheckpointMismatchError` is raised *before* anything is copied into the
model, listing the first keys of each kind and how many there are. Extra checkpoint keys the
model does not have (e.g. an auxiliary head that the test config drops) leave no weight unset,
so they are allowed, with mmengine's usual warning that lists them.

Training stays lenient: ``load_from`` while training (fine-tuning, with
:class:`~mmchest.engine.hooks.FineTuneLoadHook` skipping the class-specific layers and logging
them), ``--resume`` and ``init_cfg=dict(type='Pretrained')`` keep mmengine's behaviour. A
runner is training when its optimizer wrapper is built (``Runner.train`` builds it before
loading; ``Runner.test``/``val`` never do).

:mod:`mmchest.engine.compat` (the ``mmengine_strict_evaluation_load`` patch, installed on
``import mmchest``) routes ``Runner.load_checkpoint`` and mmengine's ``load_state_dict``
here; the inference loaders use :func:`require_fit`.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Mapping, NamedTuple, Optional

from mmchest.engine.safe_checkpoint import CheckpointReadError, CheckpointRefusedError
from mmchest.weights.fit import format_keys, format_mismatches, missing_keys, shape_mismatches

__all__ = ['CheckpointMismatchError', 'CHECKPOINT_ERRORS', 'require_fit', 'check_fit',
           'check_required_fit', 'is_training']

#: How many keys of each kind an error message spells out.
LIST_LIMIT = 10


class CheckpointMismatchError(RuntimeError):
    """A checkpoint leaves weights of the model unset or has other shapes; nothing was loaded.

    Attributes:
        filename (str): The checkpoint.
        missing (list[str]): Model keys the checkpoint lacks.
        mismatched (dict): Checkpoint key -> (checkpoint shape, model shape).
        unexpected (list[str]): Checkpoint keys the model does not have.
    """

    def __init__(self, message: str, filename: str, missing: list, mismatched: dict,
                 unexpected: list) -> None:
        super().__init__(message)
        self.filename = filename
        self.missing = missing
        self.mismatched = mismatched
        self.unexpected = unexpected


#: What a tool reports as a bad checkpoint (one ``error:`` line, non-zero exit): refused
#: pickles, empty/truncated/foreign files, checkpoints of another model, a missing file.
CHECKPOINT_ERRORS = (CheckpointMismatchError, CheckpointReadError, CheckpointRefusedError,
                     FileNotFoundError)


class _Required(NamedTuple):
    filename: str
    config: Optional[str]


_REQUIRED: contextvars.ContextVar[Optional[_Required]] = contextvars.ContextVar(
    'mmchest_require_fit', default=None)


@contextlib.contextmanager
def require_fit(filename: Any, config: Optional[str] = None) -> Iterator[None]:
    """Within the block, mmengine's ``load_state_dict`` refuses a checkpoint that does not fit.

    Args:
        filename (Any): The checkpoint being loaded (for the message).
        config (str, optional): The config the model was built from (for the message).
            Defaults to None.
    """
    token = _REQUIRED.set(_Required(str(filename), None if config is None else str(config)))
    try:
        yield
    finally:
        _REQUIRED.reset(token)


def _unwrap(model: Any) -> Any:
    """The model whose keys a checkpoint holds (DDP / TTA wrappers removed, as mmengine does)."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def check_fit(model: Any, state_dict: Mapping[str, Any], filename: str,
              config: Optional[str] = None) -> None:
    """Raise if ``state_dict`` leaves weights of ``model`` unset or has other shapes.

    Args:
        model (torch.nn.Module): The model (wrappers are removed).
        state_dict (Mapping[str, Any]): The checkpoint's weights, keys as they will be loaded.
        filename (str): The checkpoint (for the message).
        config (str, optional): The model's config (for the message). Defaults to None.

    Raises:
        CheckpointMismatchError: Listing the missing keys and the shape mismatches.
    """
    own = _unwrap(model).state_dict()
    missing = missing_keys(state_dict, own)
    mismatched = shape_mismatches(state_dict, own)
    if not missing and not mismatched:
        return
    unexpected = [key for key in state_dict if key not in own]
    target = f'the model of {config}' if config else 'this model'
    parts = []
    if missing:
        parts.append(f'{len(missing)} of the model\'s {len(own)} weights are not in the '
                     f'checkpoint: {format_keys(missing, LIST_LIMIT)}')
    if mismatched:
        shown = format_mismatches(dict(list(mismatched.items())[:LIST_LIMIT]))
        more = len(mismatched) - LIST_LIMIT
        parts.append(f'{len(mismatched)} have another shape (checkpoint->model): {shown}'
                     + (f' (+{more} more)' if more > 0 else ''))
    if unexpected:
        parts.append(f'the checkpoint also holds {len(unexpected)} weights this model does '
                     f'not have: {format_keys(unexpected, LIST_LIMIT)}')
    raise CheckpointMismatchError(
        f'checkpoint {filename!r} does not fit {target}: ' + '; '.join(parts) + '. '
        'Evaluating it would use random weights for those layers, so it was not loaded. '
        'Use the config the checkpoint was trained with; to fine-tune from it instead, '
        'train with load_from (layers whose shapes differ are then skipped and logged).',
        filename, missing, mismatched, unexpected)


def check_required_fit(module: Any, state_dict: Mapping[str, Any]) -> None:
    """Inside :func:`require_fit`, :func:`check_fit` ``state_dict`` against ``module``.

    Outside the block it does nothing (training loads stay lenient).

    Args:
        module (torch.nn.Module): The model being loaded.
        state_dict (Mapping[str, Any]): The weights about to be loaded into it.

    Raises:
        CheckpointMismatchError: Inside :func:`require_fit`, when they do not fit.
    """
    required = _REQUIRED.get()
    if required is not None:
        check_fit(module, state_dict, required.filename, required.config)


def is_training(runner: Any) -> bool:
    """Whether an mmengine runner is training (its optimizer wrapper is built).

    ``Runner.train`` builds the wrapper before loading; ``Runner.test``/``val`` never do.

    Args:
        runner (mmengine.runner.Runner): The runner.

    Returns:
        bool: True while training.
    """
    from mmengine.optim import BaseOptimWrapper
    return isinstance(runner.optim_wrapper, BaseOptimWrapper)
