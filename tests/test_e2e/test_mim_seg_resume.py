"""`mim train` (2 iters) -> `--resume` to 4 -> `mim test --checkpoint`, as a user runs them.

Covers the torch >= 2.6 weights_only checkpoint fix end to end: resuming and testing both
unpickle mmengine's message hub (HistoryBuffer, numpy) through mmchest's allow-list.
"""
import json
from pathlib import Path

from mmchest.synthetic import write_siim_png

CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
_png = dict(layout='png', data_root=data_root, ann_file='', split=None,
            data_prefix=dict(img_path='images/train', seg_map_path='masks/train'))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=_png)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=_png)
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=3),
                     logger=dict(interval=1))
"""


def test_mim_train_resume_then_test(tmp_path, cli, repo_root):
    info = write_siim_png(tmp_path / 'data', num_train=8, num_test=0, size=64, seed=0)
    cfg = tmp_path / 'tiny_siim_png.py'
    cfg.write_text(CONFIG.format(base=str(repo_root / 'configs/demo/unet_siim_synthetic.py'),
                                 root=info['root']))
    work = tmp_path / 'work'

    cli(['mim', 'train', 'mmseg', cfg, '--work-dir', work])
    assert (work / 'iter_2.pth').is_file()

    out = cli(['mim', 'train', 'mmseg', cfg, '--work-dir', work, '--resume',
               '--cfg-options', 'train_cfg.max_iters=4']).stdout
    assert 'resumed' in out.lower()
    assert 'Iter(train) [3/4]' in out and 'Iter(train) [1/4]' not in out
    assert (work / 'iter_4.pth').is_file()

    out = cli(['mim', 'test', 'mmseg', cfg, '--checkpoint', work / 'iter_4.pth',
               '--work-dir', work, '--show-dir', work / 'overlays']).stdout
    assert 'siim/dice' in out
    # DicomSegVisualizationHook reads the images and, by default, draws every one of them
    assert len(list((work / 'overlays').rglob('*.png'))) == 8
    results = sorted(Path(work).glob('*/*.json'))
    metrics = json.loads(results[-1].read_text())
    assert 0.0 <= metrics['siim/dice'] <= 1.0
