"""Soft Dice loss for one-channel (sigmoid) heads."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmseg.registry import MODELS


@MODELS.register_module()
class BinaryDiceLoss(nn.Module):
    """Per-image soft Dice on sigmoid probabilities, ignoring ``ignore_index`` pixels.

    mmseg 1.2.2's ``DiceLoss`` one-hot expands the label to the head's channel count; for a
    one-channel head that channel is "label == 0", i.e. it optimises the background. This
    loss takes logits ``(N, 1, H, W)`` and labels ``(N, H, W)`` in {0, 1, ignore_index}.
    Dice is computed per image with ``smooth`` added to numerator and denominator, so an
    empty image predicted empty costs 0, matching the SIIM score's empty-vs-empty = 1.

    Args:
        smooth (float): Additive smoothing. Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Key in the loss dict (must start with ``loss_``).
            Defaults to ``'loss_dice'``.
    """

    def __init__(self, smooth: float = 1.0, loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.smooth = smooth
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight=None,
                ignore_index: int = 255, **kwargs) -> torch.Tensor:
        if pred.shape[1] != 1:
            raise ValueError(f'BinaryDiceLoss expects a one-channel head, got {pred.shape[1]}')
        prob = pred[:, 0].sigmoid()
        valid = (target != ignore_index).to(prob.dtype)
        truth = (target == 1).to(prob.dtype) * valid
        prob = prob * valid
        inter = (prob * truth).flatten(1).sum(1)
        denom = prob.flatten(1).sum(1) + truth.flatten(1).sum(1)
        dice = (2 * inter + self.smooth) / (denom + self.smooth)
        return self.loss_weight * (1 - dice).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
