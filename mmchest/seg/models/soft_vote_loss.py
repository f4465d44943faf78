"""Cross-entropy against a soft target given as expert vote counts (multi-expert 'mean')."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

__all__ = ['SoftVoteCrossEntropyLoss']


@MODELS.register_module()
class SoftVoteCrossEntropyLoss(nn.Module):
    """Binary cross-entropy with target ``votes / num_votes`` (the experts' mean mask).

    ``LoadExpertMasks`` with fusion 'mean' stores, per pixel, how many of the ``n`` experts
    marked pneumonia (0..n); this loss turns it back into the fraction ``p = votes / n`` and
    computes ``-(p log q + (1 - p) log(1 - q))``, averaged over pixels that are not
    ``ignore_index``. It works with a one-channel sigmoid head (``out_channels=1``;
    ``q = sigmoid(logit)``) and with a two-channel softmax head (``q = softmax[1]``).
    With votes in {0, n} only it equals the usual binary cross-entropy.

    Args:
        num_votes (int): Number of experts ``n``. Defaults to 3.
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Name in the loss dict; must start with ``loss_``.
            Defaults to 'loss_soft_vote_ce'.
    """

    def __init__(self, num_votes: int = 3, loss_weight: float = 1.0,
                 loss_name: str = 'loss_soft_vote_ce') -> None:
        super().__init__()
        if num_votes < 1:
            raise ValueError(f'num_votes must be >= 1, got {num_votes}')
        self.num_votes = num_votes
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                weight: Optional[torch.Tensor] = None, ignore_index: int = 255,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            cls_score (torch.Tensor): Logits, (N, 1, H, W) or (N, 2, H, W).
            label (torch.Tensor): Vote counts 0..num_votes (or ``ignore_index``), (N, H, W).
            weight (torch.Tensor, optional): Per-pixel weights, (N, H, W). Defaults to None.
            ignore_index (int): Label value to ignore. Defaults to 255.

        Returns:
            torch.Tensor: Scalar loss.
        """
        valid = label != ignore_index
        votes = torch.where(valid, label, torch.zeros_like(label))
        if bool((votes > self.num_votes).any()) or bool((votes < 0).any()):
            raise ValueError(f'labels must be vote counts in 0..{self.num_votes} or '
                             f'{ignore_index}; got max {int(votes.max())}. Is the dataset\'s '
                             "fusion 'mean' and num_votes the number of experts?")
        target = votes.float() / self.num_votes
        if cls_score.shape[1] == 1:
            loss = F.binary_cross_entropy_with_logits(cls_score[:, 0].float(), target,
                                                      reduction='none')
        elif cls_score.shape[1] == 2:
            log_p = F.log_softmax(cls_score.float(), dim=1)
            loss = -(target * log_p[:, 1] + (1 - target) * log_p[:, 0])
        else:
            raise ValueError(f'expected 1 or 2 output channels, got {cls_score.shape[1]}')
        mask = valid.float()
        if weight is not None:
            mask = mask * weight.float()
        return self.loss_weight * (loss * mask).sum() / valid.sum().clamp(min=1)

    @property
    def loss_name(self) -> str:
        """Name of the loss in the loss dict."""
        return self._loss_name
