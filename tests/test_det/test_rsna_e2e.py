"""End to end as users run it: mim train -> mim test --checkpoint -> threshold and
submission tools."""
import csv
import glob
import json
import os
import re
import sys
from pathlib import Path

import cv2
import pytest

DEMO = 'configs/demo/mask_rcnn_rsna_synthetic.py'
MAIN = 'configs/mask_rcnn_rsna.py'


def data_options(root, size=64):
    """--cfg-options pointing all three loaders at ``root``, resizing to ``size``."""
    opts = []
    for loader, resize in (('train', 2), ('val', 1), ('test', 1)):
        opts += [f'{loader}_dataloader.dataset.data_root={root}',
                 f'{loader}_dataloader.dataset.pipeline.{resize}.scale=({size},{size})',
                 f'{loader}_dataloader.num_workers=0',
                 f'{loader}_dataloader.persistent_workers=False',
                 f'{loader}_dataloader.batch_size=2']
    return opts


@pytest.fixture(scope='module')
def rsna_root(synthetic_rsna):
    return Path(synthetic_rsna(num_test=3, seed=1))


def test_demo_train_test_and_submission(cli, rsna_root, tmp_path, latest_metrics):
    work_dir = tmp_path / 'work'
    opts = data_options(rsna_root) + ['train_cfg.max_epochs=1', 'param_scheduler.1.end=1',
                                      'train_dataloader.dataset.indices=4']
    cli(['mim', 'train', 'mmdet', DEMO, '--work-dir', work_dir, '--cfg-options', *opts])
    ckpt = (work_dir / 'last_checkpoint').read_text().strip()
    assert ckpt.endswith('epoch_1.pth') and os.path.isfile(ckpt)

    proc = cli(['mim', 'test', 'mmdet', DEMO, '--checkpoint', ckpt, '--work-dir', work_dir,
                '--show-dir', 'overlays', '--cfg-options', *opts])
    assert 'rsna/mAP' in proc.stdout
    # DicomDetVisualizationHook: one PNG per held-out DICOM, ground truth | prediction
    overlays = sorted(glob.glob(os.path.join(work_dir, '*', 'overlays', '*.png')))
    n_test = int(re.search(r"\[split 'test', seed 0\]: \d+ rows -> (\d+) images",
                           proc.stdout).group(1))
    assert len(overlays) == n_test > 0
    img = cv2.imread(overlays[0])
    assert img is not None and img.shape[:2] == (64, 128)
    metrics = latest_metrics(work_dir)
    for key in ('rsna/mAP', 'rsna/img_precision@0.2', 'rsna/img_recall@0.5',
                'rsna/img_f1@0.5', 'rsna/bbox_mAP'):
        assert key in metrics, key
    assert 0.0 <= metrics['rsna/img_recall@0.2'] <= 1.0

    # threshold sweep on the validation split: JSON, plot, and the printed choice agree
    thr_dir = tmp_path / 'thresholds'
    proc = cli([sys.executable, 'tools/rsna_thresholds.py', DEMO, ckpt, '--out-dir', thr_dir,
                '--thrs', '0.0,0.5,0.99', '--target-recall', '0.5', '--cfg-options', *opts])
    sweep = json.load(open(thr_dir / 'thresholds.json'))
    assert [r['score_thr'] for r in sweep['sweep']] == [0.0, 0.5, 0.99]
    assert sweep['num_images'] == int(re.search(
        r"\[split 'val', seed 0\]: \d+ rows -> (\d+) images", proc.stdout).group(1))
    recalls = [r['img_recall'] for r in sweep['sweep']]
    assert recalls == sorted(recalls, reverse=True)  # higher threshold, never more recall
    best = sweep['best']
    assert f"at score_thr={best['score_thr']:g}" in proc.stdout
    assert (thr_dir / 'thresholds.png').stat().st_size > 0

    out = tmp_path / 'submission.csv'
    proc = cli([sys.executable, 'tools/rsna_submission.py', DEMO, ckpt,
                '--img-dir', rsna_root / 'stage_2_test_images', '--out', out,
                '--score-thr', '0.0', '--cfg-options',
                'test_dataloader.dataset.pipeline.1.scale=(64,64)'])
    rows = list(csv.reader(open(out)))
    assert rows[0] == ['patientId', 'PredictionString']
    ids = sorted(f[:-4] for f in os.listdir(rsna_root / 'stage_2_test_images'))
    assert sorted(r[0] for r in rows[1:]) == ids
    for _, text in rows[1:]:
        values = [float(v) for v in text.split()]
        assert len(values) % 5 == 0
        for i in range(0, len(values), 5):
            score, x, y, w, h = values[i:i + 5]
            assert 0 < score <= 1 and w > 0 and h > 0
            assert x >= 0 and y >= 0 and x + w <= 64.05 and y + h <= 64.05
    assert f'wrote {out}: 3 images' in proc.stdout


def test_main_config_runs_on_synthetic_few_iterations(cli, rsna_root, tmp_path):
    """The acceptance run: the GPU config, pointed at synthetic data, a few iterations."""
    work_dir = tmp_path / 'work'
    opts = data_options(rsna_root) + [
        'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.indices=4', 'val_dataloader.dataset.indices=2']
    proc = cli(['mim', 'train', 'mmdet', MAIN, '--work-dir', work_dir, '--cfg-options', *opts])
    assert 'Epoch(train) [1][2/2]' in proc.stdout
    assert 'rsna/mAP' in proc.stdout


def test_missing_data_fails_with_one_clear_line(cli, tmp_path):
    import subprocess
    env = dict(os.environ)
    env['PATH'] = f'{os.path.dirname(sys.executable)}{os.pathsep}{env.get("PATH", "")}'
    proc = subprocess.run(
        ['mim', 'train', 'mmdet', MAIN, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
         'model.backbone.init_cfg=None',
         f'train_dataloader.dataset.data_root={tmp_path / "nowhere"}'],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stdout.splitlines() if 'DatasetNotFoundError' in ln]
    assert lines and 'datasets/rsna/README.md' in lines[-1]
    assert 'stage_2_train_labels.csv' in lines[-1]
