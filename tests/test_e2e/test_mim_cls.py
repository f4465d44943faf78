"""`mim train mmpretrain` / `mim test mmpretrain` on the classification configs, as users run
them: tiny synthetic RSNA data, a few iterations; mim test reports accuracy, AUC and recall,
and refuses a checkpoint that does not fit (or an empty file)."""
import os

import pytest
import torch

DEMO = 'configs/demo/resnet18_rsna_cls_synthetic.py'
RESNET50 = 'configs/resnet50_rsna.py'


@pytest.fixture(scope='module')
def rsna_root(synthetic_rsna):
    return synthetic_rsna(seed=1)


def options(root, size=64):
    opts = []
    for loader in ('train', 'val', 'test'):
        opts += [f'{loader}_dataloader.dataset.data_root={root}',
                 f'{loader}_dataloader.dataset.pipeline.1.scale=({size},{size})',
                 f'{loader}_dataloader.num_workers=0',
                 f'{loader}_dataloader.persistent_workers=False',
                 f'{loader}_dataloader.batch_size=4']
    return opts + ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                   'train_dataloader.dataset.indices=8']


def test_demo_train_then_test_reports_accuracy_auc_recall(cli, rsna_root, tmp_path,
                                                          latest_metrics):
    work = tmp_path / 'work'
    opts = options(rsna_root) + ['param_scheduler.1.end=1']
    proc = cli(['mim', 'train', 'mmpretrain', DEMO, '--work-dir', work, '--cfg-options', *opts])
    assert 'cls/auc' in proc.stdout  # validation after the epoch
    ckpt = (work / 'last_checkpoint').read_text().strip()
    assert ckpt.endswith('epoch_1.pth') and os.path.isfile(ckpt)

    proc = cli(['mim', 'test', 'mmpretrain', DEMO, '--checkpoint', ckpt, '--work-dir', work,
                '--cfg-options', *opts])
    assert "[split 'test', seed 0]" in proc.stdout
    metrics = latest_metrics(work)
    for key in ('cls/accuracy', 'cls/auc', 'cls/recall@0.5', 'cls/precision@0.5'):
        assert key in metrics, key
    assert 0.0 <= metrics['cls/accuracy'] <= 100.0 and 0.0 <= metrics['cls/recall@0.5'] <= 1.0

    # --tta: AverageClsScoreTTA over the flip views (the tta_pipeline replaces the test
    # pipeline, so no pipeline override here)
    tta_opts = [o for o in opts if '.pipeline.' not in o]
    proc = cli(['mim', 'test', 'mmpretrain', DEMO, '--checkpoint', ckpt, '--work-dir',
                tmp_path / 'tta', '--tta', '--cfg-options', *tta_opts])
    assert 'cls/auc' in proc.stdout


def test_resnet50_config_trains_from_a_fresh_clone(cli, rsna_root, tmp_path):
    # no download in the test suite: from scratch (the config's ImageNet init_cfg dropped)
    work = tmp_path / 'r50'
    proc = cli(['mim', 'train', 'mmpretrain', RESNET50, '--work-dir', work, '--cfg-options',
                *options(rsna_root), 'model.backbone.init_cfg=None'])
    assert (work / 'epoch_1.pth').is_file()
    assert 'Epoch(val) [1]' in proc.stdout and 'cls/recall@0.5' in proc.stdout


def test_mim_test_refuses_a_checkpoint_that_does_not_fit(cli, rsna_root, tmp_path,
                                                         repo_root):
    from mmchest.apis import init_inferencer
    wider = init_inferencer(str(repo_root / DEMO), None, device='cpu', cfg_options={
        'model.backbone.base_channels': 32, 'model.backbone.stem_channels': 32,
        'model.head.in_channels': 256}).model
    ckpt = tmp_path / 'wider.pth'
    torch.save({'state_dict': wider.state_dict(), 'meta': {}}, ckpt)
    import subprocess
    import sys
    env = dict(os.environ, PATH=f'{os.path.dirname(sys.executable)}{os.pathsep}'
               f'{os.environ.get("PATH", "")}')
    for bad, expected in ((ckpt, 'does not fit the model of'),
                          (tmp_path / 'empty.pth', 'is empty (0 bytes)')):
        if bad.name == 'empty.pth':
            bad.write_bytes(b'')
        proc = subprocess.run(['mim', 'test', 'mmpretrain', DEMO, '--checkpoint', str(bad),
                               '--work-dir', str(tmp_path / bad.stem), '--cfg-options',
                               *options(rsna_root)], cwd=repo_root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
        assert proc.returncode != 0, proc.stdout[-3000:]
        assert expected in proc.stdout, proc.stdout[-3000:]
        assert 'cls/accuracy' not in proc.stdout  # no metrics from random weights
