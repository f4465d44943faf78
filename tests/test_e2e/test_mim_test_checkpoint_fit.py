"""`mim test` with a checkpoint that does not fit, or an empty one, exits non-zero saying why.

Before, mmengine loaded any checkpoint with strict=False: `mim test` with another model's
checkpoint exited 0 and reported metrics from random weights (issue 12).
"""
import os
import subprocess
import sys
from pathlib import Path

import torch

from mmchest.synthetic import write_siim_png

BIN = Path(sys.executable).parent

CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
_png = dict(layout='png', data_root=data_root, ann_file='', split=None,
            data_prefix=dict(img_path='images/train', seg_map_path='masks/train'))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=_png)
test_dataloader = val_dataloader
"""


def _mim_test(cfg, ckpt, work, repo_root):
    env = dict(os.environ, PATH=f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}')
    env.setdefault('OMP_NUM_THREADS', '2')
    return subprocess.run(['mim', 'test', 'mmseg', str(cfg), '--checkpoint', str(ckpt),
                           '--work-dir', str(work)], cwd=repo_root, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=900)


def test_mim_test_refuses_another_model_and_an_empty_file(tmp_path, repo_root):
    from mmchest.apis import load_segmentor
    info = write_siim_png(tmp_path / 'data', num_train=2, num_test=0, size=64, seed=0)
    cfg = tmp_path / 'tiny_siim_png.py'
    cfg.write_text(CONFIG.format(base=str(repo_root / 'configs/demo/unet_siim_synthetic.py'),
                                 root=info['root']))
    other = load_segmentor(str(repo_root / 'configs/demo/'
                               'unet_multi_expert_pneumonia_synthetic.py'), None, device='cpu')
    ckpt = tmp_path / 'multi_expert.pth'
    torch.save({'state_dict': other.state_dict(), 'meta': {}}, ckpt)

    proc = _mim_test(cfg, ckpt, tmp_path / 'work', repo_root)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert 'CheckpointMismatchError' in proc.stdout
    assert "checkpoint '" in proc.stdout and 'multi_expert.pth' in proc.stdout
    assert 'does not fit the model of' in proc.stdout and 'backbone.' in proc.stdout
    assert 'siim/dice' not in proc.stdout  # no metrics from random weights

    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    proc = _mim_test(cfg, empty, tmp_path / 'work2', repo_root)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert f"checkpoint '{empty}' is empty (0 bytes)" in proc.stdout
    assert 'EOFError' not in proc.stdout
