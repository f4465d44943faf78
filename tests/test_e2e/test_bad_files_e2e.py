"""A SIIM download with one truncated DICOM in train and one in val, through `mim train`.

Default (``bad_files='error'``): the run stops before the first iteration and names both
files. ``bad_files='skip'``: it trains, names both, and validates exactly the other images.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.registry import init_default_scope

from mmchest.synthetic import write_siim

BIN = Path(sys.executable).parent
SPLITS = dict(train=0.7, val=0.15, test=0.15)
CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
_splits = {splits!r}
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, split_ratios=_splits))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, split_ratios=_splits))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(data_root=data_root, split_ratios=_splits))
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=1000), logger=dict(interval=1))
"""


def _mim(args, cwd):
    env = dict(os.environ, PATH=f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}')
    env.setdefault('OMP_NUM_THREADS', '2')
    return subprocess.run(['mim', *map(str, args)], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)


def _truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])


@pytest.fixture(scope='module')
def broken_siim(tmp_path_factory):
    """Synthetic SIIM with the first train and the first val image cut in half."""
    init_default_scope('mmseg')
    from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
    root = tmp_path_factory.mktemp('broken')
    info = write_siim(root, num_train=40, num_test=0, size=64, seed=0)
    kw = dict(data_root=info['root'], pipeline=[], split_ratios=SPLITS)
    sizes = {s: len(SIIMPneumothoraxDataset(split=s, **kw)) for s in ('train', 'val')}
    bad = {s: SIIMPneumothoraxDataset(split=s, **kw).get_data_info(0)['img_path']
           for s in ('train', 'val')}
    for path in bad.values():
        _truncate(path)
    return dict(root=info['root'], bad=bad, sizes=sizes)


def _config(tmp_path, repo_root, root):
    cfg = tmp_path / 'siim_broken.py'
    cfg.write_text(CONFIG.format(base=str(repo_root / 'configs/demo/unet_siim_synthetic.py'),
                                 root=root, splits=SPLITS))
    return cfg


def test_default_stops_before_first_iteration_naming_both(broken_siim, tmp_path, repo_root):
    cfg = _config(tmp_path, repo_root, broken_siim['root'])
    proc = _mim(['train', 'mmseg', cfg, '--work-dir', tmp_path / 'work'], tmp_path)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    assert 'Iter(train)' not in out
    assert 'BadFilesError' in out
    for path in broken_siim['bad'].values():
        assert path in out
    assert 'file truncated' in out
    lists = list((tmp_path / 'work').rglob('bad_files_*.txt'))
    assert lists and all(p in lists[0].read_text()
                         for p in (os.path.basename(b) for b in broken_siim['bad'].values()))


def test_skip_trains_and_evaluates_the_rest(broken_siim, tmp_path, repo_root):
    cfg = _config(tmp_path, repo_root, broken_siim['root'])
    work = tmp_path / 'work'
    proc = _mim(['train', 'mmseg', cfg, '--work-dir', work, '--cfg-options',
                 'train_dataloader.dataset.bad_files=skip',
                 'val_dataloader.dataset.bad_files=skip'], tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(train) [2/2]' in out
    for path in broken_siim['bad'].values():
        assert path in out
    n_val = broken_siim['sizes']['val']
    note = re.search(r'evaluated (\d+) of (\d+) images \(1 skipped: see (\S+)\)', out)
    assert note, out[-3000:]
    assert (int(note[1]), int(note[2])) == (n_val - 1, n_val)
    assert f'SIIM: {n_val - 1} images' in out  # exactly the remaining images, none twice
    listed = Path(note[3])
    assert work in listed.parents and listed.is_file()
    assert os.path.basename(broken_siim['bad']['val']) in listed.read_text()
