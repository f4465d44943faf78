"""One image's prediction, as plain numpy arrays (no torch, no OpenMMLab types)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np

from .visualization import box_overlay, mask_overlay

__all__ = ['Prediction']


@dataclass(kw_only=True)
class Prediction:
    """One image's result at its original size.

    Attributes:
        source (str): The input file ('' when unknown).
        image (np.ndarray): The radiograph as loaded, ``(H, W, 3)`` uint8 BGR.
        probability (float): Image-level has-finding score in [0, 1]: the maximum
            foreground pixel probability (segmentation), the highest box score (detection,
            0 without boxes) or the finding class probability (classification).
        has_finding (bool): Non-empty mask, a box above the threshold, or the finding class.
        mask (np.ndarray, optional): Segmentation: ``(H, W)`` uint8 0/1, after the config's
            post-processing (e.g. SIIM triplet thresholding).
        probability_map (np.ndarray, optional): Segmentation: ``(H, W)`` float32 foreground
            probability.
        boxes (np.ndarray, optional): Detection: ``(N, 4)`` float32 ``x1, y1, x2, y2`` in
            original-image pixels, ``score > score_thr``, highest score first.
        scores (np.ndarray, optional): Detection: their ``(N,)`` scores.
        all_boxes (np.ndarray, optional): Detection: every box before the threshold
            (highest score first).
        all_scores (np.ndarray, optional): Detection: their scores.
        class_scores (np.ndarray, optional): Classification: ``(C,)`` class probabilities.
        gt_mask (np.ndarray, optional): Dataset mode, segmentation: the ``(H, W)`` label
            map of the dataset (``None`` without labels).
        gt_boxes (np.ndarray, optional): Dataset mode, detection: ``(M, 4)`` ground-truth
            boxes in original-image pixels.
        extra (dict): Anything else an inferencer wants to pass on.
    """
    source: str = ''
    image: np.ndarray
    probability: float
    has_finding: bool
    mask: Optional[np.ndarray] = None
    probability_map: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None
    all_boxes: Optional[np.ndarray] = None
    all_scores: Optional[np.ndarray] = None
    class_scores: Optional[np.ndarray] = None
    gt_mask: Optional[np.ndarray] = None
    gt_boxes: Optional[np.ndarray] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def overlay(self) -> np.ndarray:
        """The overlay image (mask contour, or boxes and scores), ``(H, W, 3)`` uint8 BGR."""
        if self.mask is not None:
            return mask_overlay(self.image, self.mask, self.probability)
        boxes = np.zeros((0, 4)) if self.boxes is None else self.boxes
        scores = np.zeros(0) if self.scores is None else self.scores
        return box_overlay(self.image, boxes, scores, self.probability)

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict: numbers, lists and numpy arrays (masks), without the image.

        Keys: ``source``, ``probability``, ``has_finding``; segmentation adds ``mask``
        (uint8 0/1 array) and ``probability_map`` (float32 array); detection adds
        ``boxes`` (list of ``[x1, y1, x2, y2]``) and ``scores`` (list), above the threshold;
        classification adds ``class_scores`` (list).
        """
        out: Dict[str, Any] = dict(source=self.source, probability=float(self.probability),
                                   has_finding=bool(self.has_finding))
        if self.mask is not None:
            out['mask'] = self.mask
        if self.probability_map is not None:
            out['probability_map'] = self.probability_map
        if self.boxes is not None:
            out['boxes'] = np.asarray(self.boxes, dtype=float).reshape(-1, 4).tolist()
            out['scores'] = [float(s) for s in self.scores]
        if self.class_scores is not None:
            out['class_scores'] = [float(s) for s in self.class_scores]
        return out
