"""Which checkpoint tensors fit a model: shapes compared key by key.

Pure module (mappings of tensors; torch-free apart from reading ``.shape``). Used by
``tools/convert_weights.py`` to check a converted backbone, and by ``FineTuneLoadHook`` to
skip the class-specific layers of a checkpoint trained for other classes (an 80-class COCO
detector fine-tuned on one RSNA class: ``roi_head.bbox_head.fc_cls`` / ``fc_reg`` and
``roi_head.mask_head.conv_logits``).
"""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Tuple

__all__ = ['Shape', 'shape_mismatches', 'format_mismatches']

Shape = Tuple[int, ...]

#: What mmengine's ``Runner.load_checkpoint`` strips from checkpoint keys before loading.
_WRAPPER = re.compile(r'^module\.')


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
