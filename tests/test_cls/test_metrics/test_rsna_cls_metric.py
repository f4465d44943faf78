"""RSNAClsMetric: accuracy, pneumonia AUC and recall, hand-computed."""
import math

import pytest
import torch

import mmchest.cls  # noqa: F401
from mmchest.cls import RSNAClsMetric


def run(scores, labels, classes, **kwargs):
    metric = RSNAClsMetric(**kwargs)
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [dict(pred_score=torch.tensor(s), gt_label=torch.tensor([y]))
                        for s, y in zip(scores, labels)])
    return metric.evaluate(len(labels))


def test_binary_hand_computed():
    # pneumonia probabilities 0.9 (pos), 0.3 (pos), 0.6 (neg), 0.1 (neg)
    scores = [[0.1, 0.9], [0.7, 0.3], [0.4, 0.6], [0.9, 0.1]]
    out = run(scores, [1, 1, 0, 0], ('normal', 'pneumonia'), recall_thrs=(0.5, 0.2))
    assert out['cls/accuracy'] == pytest.approx(50.0)  # arg-max right for 0.9 and 0.1
    assert out['cls/auc'] == pytest.approx(0.75)
    assert out['cls/recall@0.5'] == pytest.approx(0.5)
    assert out['cls/recall@0.2'] == pytest.approx(1.0)
    assert out['cls/precision@0.5'] == pytest.approx(0.5)


def test_detailed_uses_lung_opacity_against_the_rest():
    classes = ('Normal', 'No Lung Opacity / Not Normal', 'Lung Opacity')
    scores = [[0.1, 0.1, 0.8], [0.2, 0.6, 0.2], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]]
    # labels: opacity, not normal, normal, not normal -> the 0.4 negative scores below 0.8
    out = run(scores, [2, 1, 0, 1], classes)
    assert out['cls/accuracy'] == pytest.approx(75.0)
    assert out['cls/auc'] == pytest.approx(1.0)
    assert out['cls/recall@0.5'] == pytest.approx(1.0)


def test_one_class_auc_is_nan_and_unknown_positive_class_raises():
    out = run([[0.8, 0.2], [0.6, 0.4]], [0, 0], ('normal', 'pneumonia'))
    assert math.isnan(out['cls/auc']) and out['cls/recall@0.5'] == 0.0
    with pytest.raises(ValueError, match='positive_class'):
        run([[0.8, 0.2]], [0], ('normal', 'pneumonia'), positive_class='opacity')
