"""Configs without pretrained weights: for building a model offline (tests, benchmarks, export
checks) where nothing may be downloaded."""
from typing import Any

__all__ = ['without_pretrained']


def without_pretrained(node: Any) -> Any:
    """``node`` (a model config as plain dicts/lists) without ``Pretrained`` initialisation
    (such an ``init_cfg`` becomes None) and without ``pretrained`` keys.

    Args:
        node: A config node, e.g. ``cfg.model.to_dict()``.

    Returns:
        A new node of the same structure (lists and tuples keep their type).
    """
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            return None
        return {k: without_pretrained(v) for k, v in node.items() if k != 'pretrained'}
    if isinstance(node, (list, tuple)):
        return type(node)(without_pretrained(v) for v in node)
    return node
