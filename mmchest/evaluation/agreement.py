"""Agreement between experts' masks of one image, and fusing them into one training target.

Fusion modes (``n`` = number of experts, masks binarised as in
:func:`mmchest.evaluation.dice.as_binary_mask`):
    * ``'majority'``: pixels marked by strictly more than half the experts,
      i.e. at least ``n // 2 + 1`` (2 of 3, 3 of 4, 2 of 2). uint8 0/1.
    * ``'union'``: marked by any expert. uint8 0/1.
    * ``'intersection'``: marked by every expert. uint8 0/1.
    * ``'mean'``: fraction of experts marking the pixel, a float32 soft target in [0, 1].
    * ``'single'`` (one chosen expert) is the caller's business: pick that expert's mask.
"""
from __future__ import annotations

from itertools import combinations
from typing import Dict, Hashable, Mapping, Sequence, Tuple, Union

import numpy as np

from .dice import as_binary_mask, dice_score

__all__ = ['FUSE_MODES', 'pairwise_dice', 'mean_pairwise_dice', 'fuse_masks']

FUSE_MODES: Tuple[str, ...] = ('majority', 'union', 'intersection', 'mean')

Masks = Union[Mapping[Hashable, np.ndarray], Sequence[np.ndarray]]


def _named_binary_masks(masks: Masks) -> Dict[Hashable, np.ndarray]:
    """Return ``{name: bool mask}`` (list indices as names), checking shapes agree."""
    items = masks.items() if isinstance(masks, Mapping) else enumerate(masks)
    out: Dict[Hashable, np.ndarray] = {}
    shape = None
    first = None
    for name, mask in items:
        m = as_binary_mask(mask, f'expert {name!r}')
        if shape is None:
            shape, first = m.shape, name
        elif m.shape != shape:
            raise ValueError(f'expert {name!r} mask shape {m.shape} != expert {first!r} '
                             f'mask shape {shape}')
        out[name] = m
    return out


def pairwise_dice(masks: Masks, empty_score: float = 1.0) -> Dict[Tuple[Hashable, Hashable], float]:
    """Dice between every pair of experts' masks of one image.

    Args:
        masks (Mapping[str, np.ndarray] | Sequence[np.ndarray]): One mask per expert, all the
            same shape; for a sequence the list indices are the names.
        empty_score (float): Dice when both masks are empty. Defaults to 1.0.

    Returns:
        dict[tuple, float]: ``{(name_a, name_b): dice}`` for each unordered pair, ``name_a``
        before ``name_b`` in input order. Empty when fewer than two experts.
    """
    named = _named_binary_masks(masks)
    return {(a, b): dice_score(named[a], named[b], empty_score)
            for a, b in combinations(named, 2)}


def mean_pairwise_dice(masks: Masks, empty_score: float = 1.0) -> float:
    """Mean of :func:`pairwise_dice` over all pairs; NaN when fewer than two experts.

    Args:
        masks (Mapping[str, np.ndarray] | Sequence[np.ndarray]): One mask per expert.
        empty_score (float): Dice when both masks are empty. Defaults to 1.0.

    Returns:
        float: Mean pairwise Dice.
    """
    pairs = pairwise_dice(masks, empty_score)
    return float(np.mean(list(pairs.values()))) if pairs else float('nan')


def fuse_masks(masks: Masks, mode: str = 'majority') -> np.ndarray:
    """Fuse several experts' masks of one image into one.

    Args:
        masks (Sequence[np.ndarray] | Mapping[str, np.ndarray]): One mask per expert, same shape.
        mode (str): One of ``'majority'``, ``'union'``, ``'intersection'``, ``'mean'`` (see the
            module docstring). Defaults to 'majority'.

    Returns:
        np.ndarray: uint8 0/1 mask, or float32 in [0, 1] for ``'mean'``.

    Raises:
        ValueError: On an unknown mode (including ``'single'``), no masks, or shape mismatch.
    """
    if mode not in FUSE_MODES:
        hint = " ('single' is handled by the caller: select one expert's mask)" \
            if mode == 'single' else ''
        raise ValueError(f'unknown fuse mode {mode!r}; expected one of {FUSE_MODES}{hint}')
    named = _named_binary_masks(masks)
    if not named:
        raise ValueError('fuse_masks needs at least one mask')
    stack = np.stack(list(named.values()))
    n = stack.shape[0]
    votes = stack.sum(axis=0, dtype=np.int64)
    if mode == 'mean':
        return (votes / n).astype(np.float32)
    need = {'majority': n // 2 + 1, 'union': 1, 'intersection': n}[mode]
    return (votes >= need).astype(np.uint8)
