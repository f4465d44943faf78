"""Agreement between experts' masks of one image (pairwise Dice).

Fusing the masks into one reference or training target is
:func:`mmchest.io.expert_masks.fuse_masks`.
"""
from __future__ import annotations

from itertools import combinations
from typing import Dict, Hashable, Tuple

import numpy as np

from mmchest.io.expert_masks import Masks, named_binary_masks

from .dice import dice_score

__all__ = ['pairwise_dice', 'mean_pairwise_dice']


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
    named = named_binary_masks(masks)
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
