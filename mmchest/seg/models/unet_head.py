"""U-Net decoder over a multi-scale encoder (ResNet, ResNeXt, SE-ResNeXt)."""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


class _UpBlock(nn.Module):
    """Upsample x2, concatenate the skip feature, two 3x3 conv-norm-act."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int,
                 conv_cfg, norm_cfg, act_cfg, align_corners: bool) -> None:
        super().__init__()
        self.align_corners = align_corners
        self.convs = nn.Sequential(
            ConvModule(in_channels + skip_channels, out_channels, 3, padding=1,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(out_channels, out_channels, 3, padding=1,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))

    def forward(self, x: torch.Tensor, skip: torch.Tensor = None) -> torch.Tensor:
        size = skip.shape[2:] if skip is not None else [s * 2 for s in x.shape[2:]]
        x = resize(x, size=size, mode='bilinear', align_corners=self.align_corners)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)


@MODELS.register_module()
class UNetHead(BaseDecodeHead):
    """U-Net decoder on the pyramid of a classification backbone.

    The deepest feature is upsampled stage by stage and concatenated with the next shallower
    one (skip connection), as in the SIIM-ACR U-Net recipes with ResNet-34/50 and
    SE-ResNeXt-50 encoders. ``num_extra_upsamples`` blocks without skips follow (stride 4 to
    stride 1 for ResNets: 2), so masks are predicted at full resolution.

    Args:
        in_channels (Sequence[int]): Channels of the selected backbone outputs, shallow to
            deep, e.g. ``[64, 128, 256, 512]`` for ResNet-34.
        dec_channels (Sequence[int]): Output channels of each up block, deep to shallow;
            one per skip plus one per extra upsample. ``channels`` must equal the last.
        num_extra_upsamples (int): Up blocks without skip after the last skip. Defaults to 2.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_index`` must select all inputs and
            ``input_transform='multiple_select'``).
    """

    def __init__(self, dec_channels: Sequence[int] = (256, 128, 64, 32, 16),
                 num_extra_upsamples: int = 2, **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(**kwargs)
        n_skips = len(self.in_channels) - 1
        if len(dec_channels) != n_skips + num_extra_upsamples:
            raise ValueError(f'dec_channels needs {n_skips + num_extra_upsamples} entries '
                             f'({n_skips} skips + {num_extra_upsamples} extra), '
                             f'got {len(dec_channels)}')
        if dec_channels[-1] != self.channels:
            raise ValueError(f'channels ({self.channels}) must equal dec_channels[-1] '
                             f'({dec_channels[-1]})')
        skips = list(self.in_channels[:-1])[::-1] + [0] * num_extra_upsamples
        prev = self.in_channels[-1]
        blocks: List[nn.Module] = []
        for skip, out in zip(skips, dec_channels):
            blocks.append(_UpBlock(prev, skip, out, self.conv_cfg, self.norm_cfg,
                                   self.act_cfg, self.align_corners))
            prev = out
        self.up_blocks = nn.ModuleList(blocks)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        feats = self._transform_inputs(inputs)
        x = feats[-1]
        skips = feats[:-1][::-1]
        for i, block in enumerate(self.up_blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return self.cls_seg(x)
