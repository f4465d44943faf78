"""SIIMDiceMetric against hand-computed per-image Dice, including empty images."""
import math

import pytest
import torch

import mmchest  # noqa: F401
from mmchest.seg.metrics import SIIMDiceMetric


def _sample(pred, gt, prob=None):
    pred = torch.tensor(pred)[None]
    s = {'pred_sem_seg': {'data': pred}, 'gt_sem_seg': {'data': torch.tensor(gt)[None]}}
    if prob is not None:
        s['seg_logits'] = {'data': torch.tensor(prob, dtype=torch.float32)[None]}
    return s


def test_per_image_dice_with_empty_cases():
    metric = SIIMDiceMetric()
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    samples = [
        _sample([[0, 0], [0, 0]], [[0, 0], [0, 0]], [[0.1, 0.2], [0.1, 0.0]]),  # empty/empty: 1
        _sample([[1, 1], [0, 0]], [[1, 0], [0, 0]], [[0.9, 0.7], [0.1, 0.0]]),  # 2*1/(2+1)
        _sample([[0, 0], [0, 0]], [[0, 1], [0, 0]], [[0.3, 0.4], [0.1, 0.0]]),  # missed: 0
        _sample([[1, 0], [0, 0]], [[0, 0], [0, 0]], [[0.6, 0.1], [0.1, 0.0]]),  # FP: 0
    ]
    metric.process({}, samples)
    out = metric.evaluate(4)
    assert out['siim/dice'] == pytest.approx((1 + 2 / 3 + 0 + 0) / 4)
    assert out['siim/iou'] == pytest.approx((1 + 1 / 2) / 4)
    # image level from the predicted masks: positive 0 1 0 1, truth 0 1 1 0 -> TP 1 FP 1 FN 1
    assert out['siim/precision'] == pytest.approx(0.5)
    assert out['siim/recall'] == pytest.approx(0.5)
    assert out['siim/auc'] == pytest.approx(0.75)  # max probs .2 .9 .4 .6


def test_image_level_from_max_probability_threshold():
    metric = SIIMDiceMetric(score_threshold=0.3)
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    metric.process({}, [
        _sample([[0, 0]], [[0, 1]], [[0.35, 0.1]]),  # empty mask but max prob .35 > .3
        _sample([[0, 0]], [[0, 0]], [[0.2, 0.1]]),
    ])
    out = metric.evaluate(2)
    assert out['siim/recall'] == 1.0 and out['siim/precision'] == 1.0
    assert out['siim/dice'] == pytest.approx(0.5)


def test_softmax_logits_and_ignore_index():
    metric = SIIMDiceMetric(score_threshold=0.5)
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    logits = torch.tensor([[[5.0, -5.0]], [[-5.0, 5.0]]])  # 2 classes, 1x2 image
    s = {'pred_sem_seg': {'data': torch.tensor([[[0, 1]]])},
         'gt_sem_seg': {'data': torch.tensor([[[255, 1]]])},
         'seg_logits': {'data': logits}}
    metric.process({}, [s])
    out = metric.evaluate(1)
    assert out['siim/dice'] == 1.0
    assert out['siim/recall'] == 1.0
    assert math.isnan(out['siim/auc'])  # one class only
