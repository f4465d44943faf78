"""Overlays of a prediction on the radiograph (numpy + OpenCV only).

:func:`mask_overlay` draws a segmentation's contour, :func:`box_overlay` detection boxes with
their scores; both write the has-finding probability in the top-left corner when given.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['MASK_COLOR', 'BOX_COLOR', 'to_display', 'mask_overlay', 'box_overlay']

MASK_COLOR: Tuple[int, int, int] = (0, 0, 255)  # BGR red
BOX_COLOR: Tuple[int, int, int] = (0, 255, 255)  # BGR yellow


def to_display(img: np.ndarray) -> np.ndarray:
    """An 8-bit BGR copy of a loaded image (float images are min-max scaled).

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` image, any dtype.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8.
    """
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        img = ((img - lo) * (255.0 / (hi - lo)) if hi > lo else img * 0).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 1:
        img = cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[..., :3])


def _thickness(shape: Sequence[int]) -> int:
    return max(1, int(round(max(shape[:2]) / 256)))


def _label(canvas: np.ndarray, text: str, org: Tuple[int, int], color) -> None:
    scale = max(0.3, max(canvas.shape[:2]) / 1024)
    thick = _thickness(canvas.shape)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(org[0], 0), max(canvas.shape[1] - w, 0)))
    y = int(min(max(org[1], h + base), canvas.shape[0] - 1))
    cv2.rectangle(canvas, (x, y - h - base), (x + w, y), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick,
                cv2.LINE_AA)


def mask_overlay(img: np.ndarray, mask: np.ndarray, probability: Optional[float] = None,
                 color: Tuple[int, int, int] = MASK_COLOR) -> np.ndarray:
    """Draw the contour of a binary mask on the radiograph.

    Args:
        img (np.ndarray): The radiograph, ``(H, W)`` or ``(H, W, 3)``.
        mask (np.ndarray): ``(H, W)`` mask; non-zero = finding.
        probability (float, optional): Written in the top-left corner when given.
        color (tuple[int, int, int]): BGR contour colour. Defaults to red.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR overlay.

    Raises:
        ValueError: The mask and the image differ in size.
    """
    canvas = to_display(img).copy()
    if mask.shape[:2] != canvas.shape[:2]:
        raise ValueError(f'mask shape {mask.shape[:2]} differs from image shape '
                         f'{canvas.shape[:2]}')
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, color, _thickness(canvas.shape))
    if probability is not None:
        _label(canvas, f'p={probability:.2f}', (0, 0), color)
    return canvas


def box_overlay(img: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                probability: Optional[float] = None,
                color: Tuple[int, int, int] = BOX_COLOR) -> np.ndarray:
    """Draw boxes ``(x1, y1, x2, y2)`` and their scores on the radiograph.

    Args:
        img (np.ndarray): The radiograph, ``(H, W)`` or ``(H, W, 3)``.
        boxes (np.ndarray): ``(N, 4)`` boxes in image pixels.
        scores (np.ndarray): ``(N,)`` scores.
        probability (float, optional): Written in the top-left corner when given.
        color (tuple[int, int, int]): BGR colour. Defaults to yellow.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR overlay.
    """
    canvas = to_display(img).copy()
    thick = _thickness(canvas.shape)
    for (x1, y1, x2, y2), score in zip(np.asarray(boxes).reshape(-1, 4), scores):
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(canvas, p1, p2, color, thick)
        _label(canvas, f'{float(score):.2f}', (p1[0], p1[1]), color)
    if probability is not None:
        _label(canvas, f'p={probability:.2f}', (0, 0), color)
    return canvas
