"""SIIM-ACR "triplet thresholding" of a pneumothorax probability map, and its grid search.

Triplet ``(top_score_threshold, min_area, bottom_threshold)``: the image is called positive
only if at least ``min_area`` pixels have probability *strictly greater* than
``top_score_threshold``; a positive image's mask is the pixels strictly greater than
``bottom_threshold``, a negative image's mask is all zeros. This removes small, unsure blobs
(false positives on the many empty images) while keeping wide masks on confident ones.
"""
from __future__ import annotations

import numbers
from typing import Sequence, Tuple

import numpy as np

from ..evaluation.dice import as_binary_mask, dice_score

__all__ = ['triplet_threshold', 'threshold_grid_search']

Triplet = Tuple[float, int, float]


def _check_threshold(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a real number, got {value!r}')
    if not 0.0 <= float(value) <= 1.0:  # also rejects NaN
        raise ValueError(f'{name} must be in [0, 1], got {value}')
    return float(value)


def _check_min_area(value: int, name: str = 'min_area') -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be an integer, got {value!r}')
    if value < 0:
        raise ValueError(f'{name} must be >= 0, got {value}')
    return int(value)


def _check_prob(prob: np.ndarray, name: str = 'prob') -> np.ndarray:
    p = np.asarray(prob)
    if p.ndim != 2:
        raise ValueError(f'{name} must be a 2-D (H, W) probability map, got shape {p.shape}')
    if not (np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer)):
        raise TypeError(f'{name} must be numeric, got dtype {p.dtype}')
    if np.isnan(p).any():
        raise ValueError(f'{name} contains NaN')
    return p


def triplet_threshold(prob: np.ndarray, top_score_threshold: float, min_area: int,
                      bottom_threshold: float) -> np.ndarray:
    """Apply triplet thresholding to one probability map.

    Args:
        prob (np.ndarray): Shape (H, W) foreground probabilities in [0, 1].
        top_score_threshold (float): Pixels above this count as confident, in [0, 1].
        min_area (int): Number of confident pixels needed to keep the mask, >= 0
            (0 keeps every mask).
        bottom_threshold (float): Pixels above this form the kept mask, in [0, 1].

    Returns:
        np.ndarray: Shape (H, W) uint8 0/1 mask.
    """
    top = _check_threshold(top_score_threshold, 'top_score_threshold')
    area = _check_min_area(min_area)
    bottom = _check_threshold(bottom_threshold, 'bottom_threshold')
    p = _check_prob(prob)
    if np.count_nonzero(p > top) < area:
        return np.zeros(p.shape, dtype=np.uint8)
    return (p > bottom).astype(np.uint8)


def threshold_grid_search(probs: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                          top_thresholds: Sequence[float], min_areas: Sequence[int],
                          bottom_thresholds: Sequence[float]) -> Tuple[Triplet, np.ndarray]:
    """Find the triplet maximising the SIIM score (mean per-image Dice, empty-vs-empty = 1).

    Cost is O(images * (len(top) + len(bottom))) mask operations: per image, the number of
    pixels above each top threshold and the Dice of each bottom-thresholded mask are computed
    once; the product grid is then filled by table look-ups.

    Args:
        probs (Sequence[np.ndarray]): Per image (H, W) probabilities in [0, 1].
        gts (Sequence[np.ndarray]): Per image (H, W) binary ground truth (same shapes).
        top_thresholds (Sequence[float]): Candidate top score thresholds.
        min_areas (Sequence[int]): Candidate minimum confident areas (pixels).
        bottom_thresholds (Sequence[float]): Candidate bottom thresholds.

    Returns:
        tuple: ``(best_triplet, scores)``: ``best_triplet`` is
        ``(top_score_threshold, min_area, bottom_threshold)`` (first in grid order on ties) and
        ``scores`` has shape (len(top), len(min_areas), len(bottom)) holding the mean Dice.
    """
    if len(probs) != len(gts):
        raise ValueError(f'got {len(probs)} probability maps but {len(gts)} ground truths')
    if len(probs) == 0:
        raise ValueError('threshold_grid_search needs at least one image')
    tops = [_check_threshold(t, f'top_thresholds[{i}]') for i, t in enumerate(top_thresholds)]
    areas = [_check_min_area(a, f'min_areas[{i}]') for i, a in enumerate(min_areas)]
    bottoms = [
        _check_threshold(b, f'bottom_thresholds[{i}]') for i, b in enumerate(bottom_thresholds)
    ]
    for name, grid in (('top_thresholds', tops), ('min_areas', areas),
                       ('bottom_thresholds', bottoms)):
        if not grid:
            raise ValueError(f'{name} is empty')

    n = len(probs)
    counts = np.empty((n, len(tops)), dtype=np.int64)  # pixels above each top threshold
    bottom_dice = np.empty((n, len(bottoms)), dtype=np.float64)  # Dice if the mask is kept
    empty_dice = np.empty(n, dtype=np.float64)  # Dice if the mask is dropped
    for i, (prob, gt) in enumerate(zip(probs, gts)):
        p = _check_prob(prob, f'probs[{i}]')
        g = as_binary_mask(gt, f'gts[{i}]')
        if g.shape != p.shape:
            raise ValueError(f'image {i}: prob shape {p.shape} != gt shape {g.shape}')
        counts[i] = [np.count_nonzero(p > t) for t in tops]
        bottom_dice[i] = [dice_score(p > b, g) for b in bottoms]
        empty_dice[i] = 0.0 if g.any() else 1.0

    # keep[i, t, a]: image i keeps its mask under (top t, min_area a).
    keep = counts[:, :, None] >= np.asarray(areas, dtype=np.int64)[None, None, :]
    # per_image[i, t, a, b] = bottom_dice[i, b] if keep[i, t, a] else empty_dice[i]
    kept_sum = np.einsum('ita,ib->tab', keep.astype(np.float64), bottom_dice)
    dropped_sum = np.einsum('ita,i->ta', (~keep).astype(np.float64), empty_dice)
    scores = (kept_sum + dropped_sum[:, :, None]) / n
    ti, ai, bi = np.unravel_index(int(np.argmax(scores)), scores.shape)
    best: Triplet = (tops[ti], areas[ai], bottoms[bi])
    return best, scores
