"""Per-image Dice and IoU for binary masks, and the SIIM-ACR competition score.

SIIM-ACR Pneumothorax score: the mean over images of the per-image Dice, where an image whose
prediction and ground truth are both empty scores 1 and an empty-vs-non-empty pair scores 0.
This is *not* a dataset-wide Dice (mmseg's ``IoUMetric`` sums pixels over the whole dataset).

Masks may be ``bool`` or integer arrays (any non-zero value is foreground, so 0/1 and 0/255 both
work) or float arrays holding only 0 and 1. Float arrays with other values are rejected because
they are almost always probabilities that were not thresholded.
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

__all__ = ['as_binary_mask', 'dice_score', 'iou_score', 'per_image_dice', 'mean_dice', 'mean_iou']


def as_binary_mask(mask: np.ndarray, name: str = 'mask') -> np.ndarray:
    """Return ``mask`` as a boolean array (non-zero = foreground).

    Args:
        mask (np.ndarray): A bool, integer or 0/1-valued float array.
        name (str): How to refer to the array in error messages. Defaults to 'mask'.

    Returns:
        np.ndarray: Boolean array of the same shape.

    Raises:
        TypeError: If ``mask`` is not numeric/bool.
        ValueError: If a float mask holds values other than 0 and 1 (e.g. probabilities).
    """
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.integer):
        return arr != 0
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.all((arr == 0) | (arr == 1)):
            raise ValueError(
                f'{name}: float mask holds values other than 0 and 1 '
                f'(min={float(arr.min())}, max={float(arr.max())}); '
                'threshold probabilities before computing Dice/IoU')
        return arr == 1
    raise TypeError(f'{name}: expected a bool, integer or 0/1 float array, got dtype {arr.dtype}')


def _binary_pair(pred: np.ndarray, gt: np.ndarray) -> tuple:
    """Binarise ``pred`` and ``gt`` and check their shapes agree."""
    p = as_binary_mask(pred, 'pred')
    g = as_binary_mask(gt, 'gt')
    if p.shape != g.shape:
        raise ValueError(f'pred shape {p.shape} != gt shape {g.shape}')
    return p, g


def dice_score(pred: np.ndarray, gt: np.ndarray, empty_score: float = 1.0) -> float:
    """Binary Dice ``2|P & G| / (|P| + |G|)`` for one image.

    Args:
        pred (np.ndarray): Predicted mask (see module docstring for accepted dtypes).
        gt (np.ndarray): Ground-truth mask of the same shape.
        empty_score (float): Score when both masks are empty. Defaults to 1.0 (SIIM rule).

    Returns:
        float: Dice in [0, 1]; ``empty_score`` if both are empty, 0.0 if exactly one is empty.
    """
    p, g = _binary_pair(pred, gt)
    total = int(np.count_nonzero(p)) + int(np.count_nonzero(g))
    if total == 0:
        return float(empty_score)
    inter = int(np.count_nonzero(p & g))
    return 2.0 * inter / total


def iou_score(pred: np.ndarray, gt: np.ndarray, empty_score: float = 1.0) -> float:
    """Binary IoU (Jaccard) ``|P & G| / |P | G|`` for one image.

    Args:
        pred (np.ndarray): Predicted mask.
        gt (np.ndarray): Ground-truth mask of the same shape.
        empty_score (float): Score when both masks are empty. Defaults to 1.0.

    Returns:
        float: IoU in [0, 1]; ``empty_score`` if both are empty, 0.0 if exactly one is empty.
    """
    p, g = _binary_pair(pred, gt)
    union = int(np.count_nonzero(p | g))
    if union == 0:
        return float(empty_score)
    return int(np.count_nonzero(p & g)) / union


def _check_pairs(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> None:
    if len(preds) != len(gts):
        raise ValueError(f'got {len(preds)} predictions but {len(gts)} ground truths')


def per_image_dice(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                   empty_score: float = 1.0) -> List[float]:
    """Dice of each (pred, gt) pair.

    Args:
        preds (Sequence[np.ndarray]): Predicted masks, one per image.
        gts (Sequence[np.ndarray]): Ground-truth masks, same order and shapes.
        empty_score (float): Score when both masks are empty. Defaults to 1.0.

    Returns:
        list[float]: One Dice per image.
    """
    return _per_image(dice_score, preds, gts, empty_score)


def _per_image(score: Callable[[np.ndarray, np.ndarray, float], float],
               preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
               empty_score: float) -> List[float]:
    """``score`` of each (pred, gt) pair; an error names the image's index."""
    _check_pairs(preds, gts)
    out = []
    for i, (p, g) in enumerate(zip(preds, gts)):
        try:
            out.append(score(p, g, empty_score))
        except (ValueError, TypeError) as err:
            raise type(err)(f'image {i}: {err}') from None
    return out


def mean_dice(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
              empty_score: float = 1.0) -> float:
    """SIIM-ACR score: the mean over images of the per-image Dice.

    Args:
        preds (Sequence[np.ndarray]): Predicted masks, one per image.
        gts (Sequence[np.ndarray]): Ground-truth masks, same order and shapes.
        empty_score (float): Score when both masks of an image are empty. Defaults to 1.0.

    Returns:
        float: Mean Dice, or NaN when there are no images.
    """
    scores = per_image_dice(preds, gts, empty_score)
    return float(np.mean(scores)) if scores else float('nan')


def mean_iou(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
             empty_score: float = 1.0) -> float:
    """Mean over images of the per-image IoU; arguments as in :func:`mean_dice`.

    Returns:
        float: Mean IoU, or NaN when there are no images.
    """
    scores = _per_image(iou_score, preds, gts, empty_score)
    return float(np.mean(scores)) if scores else float('nan')
