"""RSNAMetric's rsna/auc and rsna/recall@t from the highest box score per image (issue 16)."""
import math

import pytest
import torch

from mmchest.det.metrics import RSNAMetric

A = [0, 0, 10, 10]


def sample(img_id, gt, scores):
    pred = dict(bboxes=torch.tensor([A] * len(scores), dtype=torch.float32).reshape(-1, 4),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.zeros(len(scores), dtype=torch.int64))
    return dict(img_id=img_id, ori_shape=(64, 64), pred_instances=pred,
                instances=[dict(bbox=list(b), bbox_label=0, ignore_flag=0) for b in gt])


def evaluate(samples, **kwargs):
    metric = RSNAMetric(coco_bbox=False, **kwargs)
    metric.dataset_meta = dict(classes=('pneumonia',))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_auc_and_recall_from_max_box_score():
    samples = [sample(0, [A], [0.9, 0.2]),   # pos, max .9
               sample(1, [A], [0.3]),        # pos, max .3
               sample(2, [], [0.6]),         # neg, max .6
               sample(3, [], [])]            # neg, no box: 0
    res = evaluate(samples, recall_thrs=(0.5, 0.25))
    # pairs: (.9 > .6, .9 > 0, .3 < .6, .3 > 0) -> 3/4
    assert res['rsna/auc'] == pytest.approx(0.75)
    assert res['rsna/recall@0.5'] == pytest.approx(0.5)
    assert res['rsna/recall@0.25'] == pytest.approx(1.0)
    assert res['rsna/recall@0.5'] == res['rsna/img_recall@0.5']


def test_one_class_auc_is_nan():
    res = evaluate([sample(0, [], [0.4]), sample(1, [], [])])
    assert math.isnan(res['rsna/auc']) and res['rsna/recall@0.5'] == 0.0
