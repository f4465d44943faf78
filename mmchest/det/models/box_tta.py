"""Test-time augmentation for the RSNA detectors: mmdet's ``DetTTAModel`` on the boxes."""
from __future__ import annotations

from typing import List

from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

__all__ = ['BoxDetTTAModel']


@MODELS.register_module()
class BoxDetTTAModel(DetTTAModel):
    """mmdet's ``DetTTAModel`` for detectors that also predict masks (Mask R-CNN).

    ``DetTTAModel`` (mmdet 3.3.0) refuses views that carry instance masks ("TTA of instance
    segmentation does not support now"). The RSNA task is scored on boxes, and the mask head
    only helps training, so this drops each view's ``pred_instances.masks`` and merges the
    boxes exactly as ``DetTTAModel`` does: flipped views' boxes flipped back in the original
    image, all views' boxes pooled, ``tta_cfg.nms`` over them, ``tta_cfg.max_per_img`` kept.
    For a box-only detector (Faster R-CNN) it is ``DetTTAModel``.

    Args:
        tta_cfg (dict): ``dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)``.
        module (dict | nn.Module): The detector (``mim test --tta`` sets it to ``model``).
    """

    def merge_preds(self, data_samples_list: List[List[DetDataSample]]):
        for data_samples in data_samples_list:
            for sample in data_samples:
                pred = sample.get('pred_instances')
                if pred is not None and 'masks' in pred:
                    del pred.masks
        return super().merge_preds(data_samples_list)
