"""The threshold report (tools/threshold_analysis.py's package function) for a classifier, the
RSNA detector and the SIIM segmentor: random-init weights on tiny synthetic data; the files are
written and their values agree with the numpy core."""
import json
import math

import numpy as np
import pytest

from mmchest.analysis.threshold_report import (REPORT_FILES, run_threshold_analysis,
                                               write_threshold_report)
from mmchest.evaluation.threshold_analysis import threshold_analysis
from mmchest.synthetic import write_siim

CLS = 'configs/demo/resnet18_rsna_cls_synthetic.py'
DET = 'configs/demo/mask_rcnn_rsna_synthetic.py'
SEG = 'configs/demo/unet_siim_synthetic.py'


@pytest.fixture(scope='module')
def rsna_root(synthetic_rsna):
    return synthetic_rsna(seed=2)


def _check_report(out_dir, result, n_images, threshold=None):
    for name in REPORT_FILES:
        assert (out_dir / name).stat().st_size > 0, name
    saved = json.loads((out_dir / 'report.json').read_text())
    assert saved['n'] == n_images == len(saved['scores']) == len(saved['labels'])
    # the report is the core's analysis of the per-image scores
    again = threshold_analysis(np.array(saved['scores']), np.array(saved['labels']),
                               recall_target=0.9, threshold=threshold)
    assert saved['table'] == again['table']
    assert saved['chosen']['confusion_matrix'] == again['chosen']['confusion_matrix']
    assert saved['chosen']['threshold'] == again['chosen']['threshold']
    auc = saved['roc_auc']
    assert (auc is None and math.isnan(again['roc_auc'])) or auc == pytest.approx(
        again['roc_auc'])
    cm = np.array(saved['chosen']['confusion_matrix'])
    assert cm.sum() == n_images and cm[1].sum() == sum(saved['labels'])
    md = (out_dir / 'report.md').read_text()
    c = saved['chosen']
    assert f"| **negative** | {c['tn']} (TN) | {c['fp']} (FP) |" in md
    assert f"| **positive** | {c['fn']} (FN) | {c['tp']} (TP) |" in md
    row = next(r for r in saved['table'] if r['threshold'] == 0.5)
    assert (f"| 0.5 | {row['tp']} | {row['fp']} | {row['fn']} | {row['tn']} | "
            f"{row['precision']:.4f} | {row['recall']:.4f} |") in md or \
        c['threshold'] == 0.5
    return saved


def test_classifier(rsna_root, repo_root, tmp_path):
    import torch
    torch.manual_seed(0)
    out = tmp_path / 'cls'
    result = run_threshold_analysis(str(repo_root / CLS), None, str(out), split='val',
                                    device='cpu', cfg_options={
                                        'val_dataloader.dataset.data_root': rsna_root,
                                        'val_dataloader.dataset.pipeline.1.scale': (64, 64)})
    saved = _check_report(out, result, 2)
    assert saved['meta']['task'] == 'cls' and saved['n_positive'] == 1
    assert all(0.0 <= s <= 1.0 for s in saved['scores'])
    assert 'pneumonia class' in (out / 'report.md').read_text()


def test_detector(rsna_root, repo_root, tmp_path):
    out = tmp_path / 'det'
    result = run_threshold_analysis(str(repo_root / DET), None, str(out), split='val',
                                    device='cpu', threshold=0.3, cfg_options={
                                        'val_dataloader.dataset.data_root': rsna_root,
                                        'val_dataloader.dataset.pipeline.1.scale': (64, 64)})
    saved = _check_report(out, result, 2, threshold=0.3)
    assert saved['meta']['task'] == 'det' and saved['n_positive'] == 1
    assert saved['chosen']['threshold'] == 0.3 and 'given' in saved['chosen']['how']


def test_segmentor_probability_and_mask_scores(repo_root, tmp_path):
    info = write_siim(tmp_path / 'data', num_train=10, num_test=1, size=64, seed=3)
    opts = {'val_dataloader.dataset.data_root': info['root'],
            'val_dataloader.dataset.pipeline.1.scale': (64, 64)}
    out = tmp_path / 'seg'
    result = run_threshold_analysis(str(repo_root / SEG), None, str(out), split='val',
                                    device='cpu', cfg_options=opts)
    n = result['n']
    assert n >= 1
    _check_report(out, result, n)
    out_mask = tmp_path / 'seg_mask'
    masks = run_threshold_analysis(str(repo_root / SEG), None, str(out_mask), split='val',
                                   device='cpu', cfg_options=opts, seg_score='mask')
    saved = _check_report(out_mask, masks, n)
    assert set(saved['scores']) <= {0.0, 1.0}
    assert saved['labels'] == result['labels']


def test_write_report_hand_computed(tmp_path):
    result = write_threshold_report(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]),
                                    str(tmp_path), recall_target=0.9, title='t')
    assert result['chosen']['threshold'] == pytest.approx(0.34)
    md = (tmp_path / 'report.md').read_text()
    assert '**Chosen threshold: 0.34**' in md and 'ROC AUC' in md and '0.7500' in md
    assert '| **0.34** | 2 | 1 | 0 | 1 | 0.6667 | 1.0000 | 0.5000 | 0.8000 | 0.7500 |' in md
    saved = json.loads((tmp_path / 'report.json').read_text())
    assert saved['average_precision'] == pytest.approx(0.5 + 1 / 3)
