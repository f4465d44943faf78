import math

import numpy as np
import pytest
import torch

from mmchest.det.metrics import RSNAMetric

A = [0, 0, 10, 10]


def sample(img_id, gt, preds, scores, shape=(64, 64), gt_key='instances'):
    pred = dict(bboxes=torch.tensor(preds, dtype=torch.float32).reshape(-1, 4),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.zeros(len(scores), dtype=torch.int64))
    out = dict(img_id=img_id, ori_shape=shape, pred_instances=pred)
    if gt_key == 'instances':
        out['instances'] = [dict(bbox=list(b), bbox_label=0, ignore_flag=0) for b in gt]
    else:
        out['gt_instances'] = dict(bboxes=torch.tensor(gt, dtype=torch.float32).reshape(-1, 4))
    return out


def evaluate(samples, **kwargs):
    metric = RSNAMetric(**kwargs)
    metric.dataset_meta = dict(classes=('pneumonia',))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_several_boxes_hand_computed():
    # gt A and B; pred 1 = A (IoU 1), pred 2 covers half of B (IoU exactly 0.5):
    # t = 0.40, 0.45 -> 2 TP -> 1; t = 0.50 .. 0.75 (6) -> TP 1, FP 1, FN 1 -> 1/3
    res = evaluate([sample(0, [A, [20, 0, 30, 10]], [A, [20, 0, 30, 5]], [0.9, 0.8])],
                   coco_bbox=False)
    assert res['rsna/mAP'] == pytest.approx((2 * 1 + 6 / 3) / 8)


def test_false_positive_on_negative_image_and_empty_image_left_out():
    samples = [
        sample(0, [A], [A], [0.9]),            # 1.0
        sample(1, [], [[5, 5, 9, 9]], [0.7]),  # FP on a negative image -> 0
        sample(2, [], [], []),                 # nothing: left out
        sample(3, [], [[5, 5, 9, 9]], [0.3]),  # below score_thr 0.5: left out
    ]
    res = evaluate(samples, coco_bbox=False)
    assert res['rsna/mAP'] == pytest.approx(0.5)
    # with score_thr 0.2 the low-score FP counts too: (1 + 0 + 0) / 3
    assert evaluate(samples, score_thr=0.2, coco_bbox=False)['rsna/mAP'] == \
        pytest.approx(1 / 3)


def test_all_empty_is_nan():
    res = evaluate([sample(0, [], [], []), sample(1, [], [], [])], coco_bbox=False)
    assert math.isnan(res['rsna/mAP'])


def test_greedy_matching_follows_score_order():
    gts = [A, [5, 0, 15, 10]]
    p, q = A, [2, 0, 12, 10]  # q: IoU 2/3 with A, 7/13 with B; p: IoU 1 with A, 1/3 with B
    # p first: p->A, q->B while 7/13 > t (0.40, 0.45, 0.50) -> 1; else 1/3 (5 thresholds)
    res = evaluate([sample(0, gts, [p, q], [0.9, 0.8])], coco_bbox=False)
    assert res['rsna/mAP'] == pytest.approx((3 + 5 / 3) / 8)
    # q first takes A; p cannot match B -> 1/3 at every threshold
    res = evaluate([sample(0, gts, [p, q], [0.8, 0.9])], coco_bbox=False)
    assert res['rsna/mAP'] == pytest.approx(1 / 3)


def test_image_level_stats_and_score_grid():
    samples = [
        sample(0, [A], [A], [0.9]),                # positive, max 0.9
        sample(1, [A], [A], [0.3]),                # positive, max 0.3
        sample(2, [A], [], []),                    # positive, no box -> 0
        sample(3, [], [[1, 1, 5, 5]], [0.6]),      # negative, max 0.6
        sample(4, [], [[1, 1, 5, 5]], [0.1]),      # negative, max 0.1
    ]
    res = evaluate(samples, score_thr_grid=[0.2, 0.5, 0.7], coco_bbox=False)
    # @0.2: predicted positive 0, 1, 3 -> TP 2, FP 1, FN 1
    assert res['rsna/img_precision@0.2'] == pytest.approx(2 / 3)
    assert res['rsna/img_recall@0.2'] == pytest.approx(2 / 3)
    assert res['rsna/img_f1@0.2'] == pytest.approx(2 / 3)
    # @0.5: predicted positive 0, 3 -> TP 1, FP 1, FN 2
    assert res['rsna/img_precision@0.5'] == pytest.approx(1 / 2)
    assert res['rsna/img_recall@0.5'] == pytest.approx(1 / 3)
    assert res['rsna/img_f1@0.5'] == pytest.approx(0.4)
    # mAP @0.5: images 0 (1), 1 (0: gt, box below thr), 2 (0), 3 (0) -> 1/4
    assert res['rsna/mAP'] == pytest.approx(0.25)
    # @0.2: images 0 (1), 1 (1), 2 (0), 3 (0) -> 1/2 (image 4 left out); @0.7: 1/3
    assert res['rsna/best_mAP'] == pytest.approx(0.5)
    assert res['rsna/best_score_thr'] == 0.2
    res = evaluate(samples, image_thrs=(0.65,), coco_bbox=False)
    assert 'rsna/img_recall@0.65' in res and 'rsna/img_recall@0.2' not in res


def test_ground_truth_from_gt_instances_and_ignored_boxes():
    res = evaluate([sample(0, [A], [A], [0.9], gt_key='gt_instances')], coco_bbox=False)
    assert res['rsna/mAP'] == 1.0
    s = sample(0, [A], [], [])
    s['instances'][0]['ignore_flag'] = 1  # ignored gt: image has nothing -> left out
    s2 = sample(1, [A], [A], [0.9])
    assert evaluate([s, s2], coco_bbox=False)['rsna/mAP'] == 1.0
    with pytest.raises(KeyError, match='needs ground truth'):
        evaluate([dict(img_id=0, ori_shape=(8, 8), pred_instances=dict(
            bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0)))])


def test_coco_bbox_map_beside():
    boxes = [[10, 10, 30, 30], [5, 40, 25, 60]]
    samples = [sample(0, boxes[:1], boxes[:1], [0.9]), sample(1, boxes[1:], boxes[1:], [0.8]),
               sample(2, [], [], [])]
    res = evaluate(samples)
    assert res['rsna/bbox_mAP'] == pytest.approx(1.0)
    assert res['rsna/bbox_mAP_50'] == pytest.approx(1.0)
    assert res['rsna/mAP'] == 1.0
    # a prediction only on the wrong image: AP 0
    res = evaluate([sample(0, boxes[:1], [], []), sample(1, [], boxes[:1], [0.9])])
    assert res['rsna/bbox_mAP'] == 0.0 and res['rsna/mAP'] == 0.0
    # no prediction anywhere
    assert evaluate([sample(0, boxes[:1], [], [])])['rsna/bbox_mAP'] == 0.0
    # no ground truth anywhere: COCO skipped, rsna/mAP still reported
    res = evaluate([sample(0, [], boxes[:1], [0.9])])
    assert 'rsna/bbox_mAP' not in res and res['rsna/mAP'] == 0.0
    assert np.isfinite(res['rsna/img_precision@0.2'])
