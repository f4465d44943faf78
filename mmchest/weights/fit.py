"""Which checkpoint tensors fit a model: shapes compared key by key.

Pure module (mappings of tensors; torch-free apart from reading ``.shape``). Used by
``tools/convert_weights.py`` to check a converted backbone, and by ``FineTuneLoadHook`` to
skip the class-specific layers of a checkpoint trained for other classes (an 80-class COCO
detector fine-tuned on one RSNA class: ``roi_head.bbox_head.fc_cls`` / ``fc_reg`` and
``roi_head.mask_head.conv_logits``). Also used by ``mmchest.engine.checkpoint_fit`` to refuse,
in ``mim test`` and the inference tools, a checkpoint that leaves weights of the model unset.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

__all__ = ['Shape', 'shape_mismatches', 'format_mismatches', 'missing_keys', 'format_keys']

Shape = Tuple[int, ...]

#: What mmengine's ``Runner.load_checkpoint`` strips from checkpoint keys before loading.
_WRAPPER = re.compile(r'^module\.')

#: Model entries a checkpoint may lack, as mmengine's ``load_state_dict`` tolerates them:
#: BatchNorm's ``num_batches_tracked`` counter (unused in evaluation).
TOLERATED_MISSING = ('num_batches_tracked',)


def shape_mismatches(state_dict: Mapping[str, Any],
                     reference: Mapping[str, Any]) -> Dict[str, Tuple[Shape, Shape]]:
    """Keys present in both mappings whose tensors differ in shape.

    A ``module.`` prefix on a ``state_dict`` key is ignored (as mmengine's runner does).

    Args:
        state_dict (Mapping[str, Any]): Weights to load (tensors).
        reference (Mapping[str, Any]): The model's own ``state_dict()``.

    Returns:
        Dict[str, Tuple[Shape, Shape]]: ``state_dict`` key -> (its shape, the model's shape), in
        ``state_dict`` order.
    """
    out = {}
    for key, value in state_dict.items():
        ref = reference.get(_WRAPPER.sub('', key))
        if ref is None or not hasattr(value, 'shape') or not hasattr(ref, 'shape'):
            continue
        if tuple(value.shape) != tuple(ref.shape):
            out[key] = (tuple(value.shape), tuple(ref.shape))
    return out


def format_mismatches(mismatches: Mapping[str, Tuple[Shape, Shape]]) -> str:
    """One line: ``key (checkpoint shape -> model shape), ...``.

    Args:
        mismatches (Mapping[str, Tuple[Shape, Shape]]): As :func:`shape_mismatches` returns.

    Returns:
        str: The keys with both shapes, comma-separated.
    """
    return ', '.join(f'{key} {tuple(src)}->{tuple(dst)}' for key, (src, dst) in mismatches.items())


def missing_keys(state_dict: Mapping[str, Any], reference: Mapping[str, Any],
                 tolerated: Iterable[str] = TOLERATED_MISSING) -> List[str]:
    """Keys of the model (``reference``) that ``state_dict`` does not provide.

    A ``module.`` prefix on a ``state_dict`` key is ignored (as mmengine's runner does); keys
    whose last component is in ``tolerated`` are never reported.

    Args:
        state_dict (Mapping[str, Any]): Weights to load.
        reference (Mapping[str, Any]): The model's own ``state_dict()``.
        tolerated (Iterable[str]): Last key components a checkpoint may lack. Defaults to
            :data:`TOLERATED_MISSING`.

    Returns:
        List[str]: The missing ``reference`` keys, in ``reference`` order.
    """
    tolerated = set(tolerated)
    present = {_WRAPPER.sub('', key) for key in state_dict}
    return [key for key in reference
            if key not in present and key.rsplit('.', 1)[-1] not in tolerated]


def format_keys(keys: Sequence[str], limit: int = 10) -> str:
    """The first ``limit`` keys, comma-separated, and how many more there are.

    Args:
        keys (Sequence[str]): Keys (or already formatted entries).
        limit (int): How many to spell out. Defaults to 10.

    Returns:
        str: e.g. ``'a, b, c (+7 more)'``.
    """
    shown = ', '.join(keys[:limit])
    return shown + (f' (+{len(keys) - limit} more)' if len(keys) > limit else '')
