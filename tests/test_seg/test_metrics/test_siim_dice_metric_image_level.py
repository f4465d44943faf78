"""SIIMDiceMetric's siim/auc and siim/recall@t (issue 16), hand-computed; other keys unchanged."""
import pytest
import torch

import mmchest  # noqa: F401
from mmchest.seg.metrics import SIIMDiceMetric


def _sample(pred, gt, prob):
    return {'pred_sem_seg': {'data': torch.tensor(pred)[None]},
            'gt_sem_seg': {'data': torch.tensor(gt)[None]},
            'seg_logits': {'data': torch.tensor(prob, dtype=torch.float32)[None]}}


SAMPLES = [
    _sample([[0, 0], [0, 0]], [[0, 0], [0, 0]], [[0.1, 0.2], [0.1, 0.0]]),  # neg, max .2
    _sample([[1, 1], [0, 0]], [[1, 0], [0, 0]], [[0.9, 0.7], [0.1, 0.0]]),  # pos, max .9
    _sample([[0, 0], [0, 0]], [[0, 1], [0, 0]], [[0.3, 0.4], [0.1, 0.0]]),  # pos, max .4
    _sample([[1, 0], [0, 0]], [[0, 0], [0, 0]], [[0.6, 0.1], [0.1, 0.0]]),  # neg, max .6
]


def test_auc_and_recall_at_thresholds():
    metric = SIIMDiceMetric(recall_thrs=(0.5, 0.3))
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    metric.process({}, SAMPLES)
    out = metric.evaluate(4)
    assert out['siim/auc'] == pytest.approx(0.75)
    assert out['siim/recall@0.5'] == pytest.approx(0.5)  # .9 above, .4 not
    assert out['siim/recall@0.3'] == pytest.approx(1.0)
    # the existing keys keep their values (precision/recall from the predicted masks)
    assert out['siim/dice'] == pytest.approx((1 + 2 / 3) / 4)
    assert out['siim/recall'] == pytest.approx(0.5) and out['siim/precision'] == pytest.approx(0.5)


def test_default_reports_recall_at_half():
    metric = SIIMDiceMetric()
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    metric.process({}, SAMPLES)
    assert 'siim/recall@0.5' in metric.evaluate(4)
