"""Load and fuse the experts' masks of one image (multi-expert pneumonia pipelines).

The reading and fusing are :mod:`mmchest.io.expert_masks`; this transform reads and writes
the results dict.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmchest.io.expert_masks import FUSE_MODES, fuse_masks, load_expert_masks

from .rle_mask import set_gt_seg_map

__all__ = ['LoadExpertMasks']


@TRANSFORMS.register_module()
class LoadExpertMasks(BaseTransform):
    """Build ``gt_seg_map`` from one or several experts' masks (png/npz), fused.

    Masks are read at the image's original size (``ori_shape``): place this after
    ``LoadImageFromFile`` and before geometric transforms when training; after ``Resize``
    when testing keeps the target at the original size, as mmseg's ``LoadAnnotations``.

    Fusion (from the sample's ``fusion`` unless overridden): 'single' takes the one expert
    in ``mask_experts``; 'majority' / 'union' / 'intersection' give 0/1 via
    :func:`mmchest.io.expert_masks.fuse_masks`; 'mean' gives the soft target as an
    integer vote count ``k`` in 0..n (the fraction is ``k / n``) because ``PackSegInputs``
    casts targets to int64: train it with ``SoftVoteCrossEntropyLoss(num_votes=n)``, never
    with the plain cross-entropy (which would read k as a class index).

    Required Keys:

    - ori_shape
    - expert_mask_paths (dict[str, str | None])
    - mask_experts (list[str])
    - fusion (str, unless ``fusion`` is given here)

    Added Keys:

    - gt_seg_map (np.uint8: 0/1, or vote counts 0..n for 'mean')
    - soft_target_votes (int, the n of 'mean'; only for 'mean')

    Modified Keys:

    - seg_fields (``'gt_seg_map'`` appended, so crops and flips move the mask with the image)

    Args:
        fusion (str, optional): Override the sample's fusion ('single', 'majority', 'union',
            'intersection' or 'mean'). Defaults to None.
    """

    def __init__(self, fusion: Optional[str] = None) -> None:
        allowed = ('single',) + FUSE_MODES
        if fusion is not None and fusion not in allowed:
            raise ValueError(f'fusion must be one of {allowed} or None, got {fusion!r}')
        self.fusion = fusion

    def transform(self, results: dict) -> dict:
        mode = self.fusion or results['fusion']
        experts = list(results['mask_experts'])
        image = results.get('img_path', 'image')
        masks = load_expert_masks(results['expert_mask_paths'], experts,
                                  tuple(results['ori_shape'][:2]), image)
        if mode == 'single':
            if len(masks) != 1:
                raise ValueError(f"{image}: fusion 'single' needs one expert, got {experts}")
            gt = masks[0]
        elif mode == 'mean':
            gt = np.rint(fuse_masks(masks, 'mean') * len(masks)).astype(np.uint8)
            results['soft_target_votes'] = len(masks)
        else:
            gt = fuse_masks(masks, mode)
        set_gt_seg_map(results, gt)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(fusion={self.fusion!r})'
