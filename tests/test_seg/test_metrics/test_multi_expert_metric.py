"""MultiExpertDiceMetric (model vs experts, expert vs expert) and SoftVoteCrossEntropyLoss,
with hand-computed expectations."""
import math

import cv2
import numpy as np
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('mmseg')
from mmchest.seg.metrics.multi_expert_metric import MultiExpertDiceMetric  # noqa: E402
from mmchest.seg.models.soft_vote_loss import SoftVoteCrossEntropyLoss  # noqa: E402

H, W = 4, 6


def _row(cols):
    m = np.zeros((H, W), np.uint8)
    m[0, cols] = 1
    return m


E1, E2, E3 = _row([0, 1, 2]), _row([1, 2, 3]), _row([2, 3, 4])
MAJORITY = _row([1, 2, 3])
FULL = np.ones((H, W), np.uint8)


def _sample(pred, paths, view, cls):
    return {'pred_sem_seg': {'data': torch.from_numpy(pred.astype(np.int64))[None]},
            'expert_mask_paths': paths, 'view': view, 'image_class': cls,
            'img_path': f'{cls}_{view}.png'}


@pytest.fixture
def samples(tmp_path):
    def save(name, mask, npz=False):
        if npz:
            np.savez(tmp_path / f'{name}.npz', mask=mask)
            return str(tmp_path / f'{name}.npz')
        cv2.imwrite(str(tmp_path / f'{name}.png'), mask)
        return str(tmp_path / f'{name}.png')

    a = {'expert1': save('a1', E1), 'expert2': save('a2', E2, npz=True),
         'expert3': save('a3', E3)}
    c = {f'expert{k}': save(f'c{k}', FULL) for k in (1, 2, 3)}
    none = {f'expert{k}': None for k in (1, 2, 3)}
    return [
        _sample(MAJORITY, a, 'pa', 'pneumonia'),          # A: exact majority
        _sample(np.zeros((H, W)), none, 'lat', 'norma'),  # B: normal, empty pred
        _sample(np.zeros((H, W)), c, 'lat', 'pneumonia'),  # C: missed lesion
    ]


def _evaluate(samples, **kwargs):
    metric = MultiExpertDiceMetric(**kwargs)
    metric.dataset_meta = dict(classes=('background', 'pneumonia'))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_model_vs_expert_and_agreement_overall(samples):
    out = _evaluate(samples)
    exp = {
        'dice_majority': (1 + 1 + 0) / 3, 'iou_majority': (1 + 1 + 0) / 3,
        'dice_expert1': (2 / 3 + 1 + 0) / 3, 'iou_expert1': (0.5 + 1 + 0) / 3,
        'dice_expert2': (1 + 1 + 0) / 3,
        'dice_expert3': (2 / 3 + 1 + 0) / 3,
        'dice_experts_mean': ((2 / 3 + 1 + 0) / 3 * 2 + 2 / 3) / 3,
        # expert pairs on A: e1-e2 2/3, e1-e3 1/3, e2-e3 2/3; B and C agree fully
        'agreement_expert1_expert2': (2 / 3 + 1 + 1) / 3,
        'agreement_expert1_expert3': (1 / 3 + 1 + 1) / 3,
        'agreement_expert2_expert3': (2 / 3 + 1 + 1) / 3,
        'agreement_mean': ((2 / 3 + 2) / 3 * 2 + (1 / 3 + 2) / 3) / 3,
    }
    for key, value in exp.items():
        assert out[f'expert/{key}'] == pytest.approx(value), key


def test_per_view_and_pneumonia_breakdown(samples):
    out = _evaluate(samples)
    assert out['expert/dice_majority_pa'] == pytest.approx(1.0)
    assert out['expert/dice_expert1_pa'] == pytest.approx(2 / 3)
    assert out['expert/iou_expert3_pa'] == pytest.approx(0.5)
    assert out['expert/dice_experts_mean_pa'] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert out['expert/agreement_mean_pa'] == pytest.approx((2 / 3 + 1 / 3 + 2 / 3) / 3)
    assert out['expert/dice_majority_lat'] == pytest.approx(0.5)
    assert out['expert/agreement_mean_lat'] == pytest.approx(1.0)
    assert out['expert/dice_majority_pneumonia'] == pytest.approx(0.5)
    assert out['expert/agreement_expert1_expert3_pneumonia'] == pytest.approx((1 / 3 + 1) / 2)


def test_union_reference_and_empty_score(samples):
    out = _evaluate(samples, fusion='union', empty_score=0.0)
    # A: pred {1,2,3} vs union {0..4}: 6/8; B: both empty -> 0; C: 0
    assert out['expert/dice_union'] == pytest.approx((6 / 8 + 0 + 0) / 3)
    assert 'expert/dice_majority' not in out


def test_agreement_on_hand_made_masks_only_one_view(samples):
    out = _evaluate(samples[:1])
    assert out['expert/agreement_expert1_expert2'] == pytest.approx(2 / 3)
    assert out['expert/agreement_expert1_expert3'] == pytest.approx(1 / 3)
    assert out['expert/agreement_mean'] == pytest.approx(5 / 9)
    assert not any(k.endswith('_lat') for k in out)


def test_missing_metainfo_and_bad_fusion(samples):
    sample = dict(samples[0])
    del sample['expert_mask_paths']
    metric = MultiExpertDiceMetric()
    with pytest.raises(KeyError, match="add 'expert_mask_paths'.*meta_keys"):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='binary reference'):
        MultiExpertDiceMetric(fusion='mean')


def test_mask_size_must_match_prediction(samples):
    sample = dict(samples[0], pred_sem_seg={'data': torch.zeros(1, 5, 5, dtype=torch.int64)})
    with pytest.raises(ValueError, match=r'a1.png: mask shape \(4, 6\) != image shape \(5, 5\)'):
        MultiExpertDiceMetric().process({}, [sample])


def _bce(x, p):
    return math.log1p(math.exp(x)) - p * x


def test_soft_vote_loss_sigmoid_and_softmax_agree_with_hand_values():
    loss = SoftVoteCrossEntropyLoss(num_votes=3)
    logits = torch.tensor([[[[0.0, 2.0, -1.0, 5.0]]]])  # (1, 1, 1, 4)
    votes = torch.tensor([[[0, 2, 3, 255]]])  # last pixel ignored
    expected = (_bce(0.0, 0) + _bce(2.0, 2 / 3) + _bce(-1.0, 1)) / 3
    assert float(loss(logits, votes)) == pytest.approx(expected, rel=1e-6)
    two = torch.cat([torch.zeros_like(logits), logits], dim=1)  # softmax([0, x])[1] = sigmoid(x)
    assert float(loss(two, votes)) == pytest.approx(expected, rel=1e-6)
    assert loss.loss_name.startswith('loss_')


def test_soft_vote_loss_rejects_class_labels_beyond_votes():
    with pytest.raises(ValueError, match=r'vote counts in 0..2'):
        SoftVoteCrossEntropyLoss(num_votes=2)(torch.zeros(1, 1, 1, 2),
                                              torch.tensor([[[0, 3]]]))
