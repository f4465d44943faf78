"""`make demo-rsna` (tools/demo_rsna.sh) end to end on a tiny synthetic set and schedule."""
import csv
import glob
import os
import re

from mmchest.synthetic import write_rsna

TINY = ['train_cfg.max_epochs=1', 'param_scheduler.1.end=1',
        'train_dataloader.dataset.indices=4', 'default_hooks.logger.interval=1']
for _loader, _resize in (('train', 2), ('val', 1), ('test', 1)):
    TINY += [f'{_loader}_dataloader.dataset.pipeline.{_resize}.scale=(64,64)',
             f'{_loader}_dataloader.num_workers=0',
             f'{_loader}_dataloader.persistent_workers=False',
             f'{_loader}_dataloader.batch_size=2']


def test_demo_rsna_script(cli, tmp_path):
    write_rsna(tmp_path / 'data', num_train=20, num_test=3, size=64, seed=3)
    work_dir = tmp_path / 'work'
    proc = cli(['bash', 'tools/demo_rsna.sh'],
               env={'RSNA_ROOT': str(tmp_path / 'data' / 'rsna'), 'WORK_DIR': str(work_dir),
                    'CFG_OPTIONS': ' '.join(TINY)})
    assert 'generating' not in proc.stdout  # the given data root was used as it is
    assert 'Epoch(train) [1][2/2]' in proc.stdout
    summary = re.search(r'held-out synthetic RSNA \(test split\): rsna/mAP = (\S+)',
                        proc.stdout).group(1)
    assert 0.0 <= float(summary) <= 1.0  # the mim test metrics, not NaN
    overlays = glob.glob(os.path.join(work_dir, '*', 'overlays', '*.png'))
    assert len(overlays) >= 1 and f'{len(overlays)} overlays' in proc.stdout
    assert os.path.isfile(work_dir / 'thresholds' / 'thresholds.png')
    assert 'tools/rsna_submission.py on ' in proc.stdout and '(--score-thr 0.' in proc.stdout
    rows = list(csv.reader(open(work_dir / 'submission.csv')))
    assert rows[0] == ['patientId', 'PredictionString'] and len(rows) == 1 + 3
