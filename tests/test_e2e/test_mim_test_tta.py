"""`mim test --tta` on the SIIM, multi-expert and RSNA demo configs, as users run it: the
configs' tta_model/tta_pipeline are used, and the metrics print.

The checkpoints hold the demo models' random initial weights (what is tested is the TTA
path, not a score); the data are tiny synthetic downloads.
"""
import json
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmchest import synthetic

REPO = Path(__file__).resolve().parents[2]
SIIM = 'configs/demo/unet_siim_synthetic.py'
MULTI_EXPERT = 'configs/demo/unet_multi_expert_pneumonia_synthetic.py'
RSNA = 'configs/demo/mask_rcnn_rsna_synthetic.py'


def _random_checkpoint(config: str, path: Path, scope: str) -> Path:
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    torch.manual_seed(0)
    model = registry.build(Config.fromfile(str(REPO / config)).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def _test_options(root):
    return [f'test_dataloader.dataset.data_root={root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']


def _metrics(work: Path) -> dict:
    return json.loads(sorted(work.glob('*/*.json'))[-1].read_text())


def _mim_test_tta(cli, tmp_path, config, scope, root, *options):
    """`mim test <scope> <config> --tta` with a random checkpoint on the data under ``root``
    (``options``: more ``--cfg-options``); returns the printed output and the metrics."""
    ckpt = _random_checkpoint(config, tmp_path / 'model.pth', scope)
    work = tmp_path / 'work'
    out = cli(['mim', 'test', scope, config, '--checkpoint', ckpt, '--work-dir', work,
               '--tta', '--cfg-options', *_test_options(root), *options]).stdout
    return out, _metrics(work)


def test_siim_demo_tta(tmp_path, cli):
    root = synthetic.write_siim(tmp_path / 'data', num_train=20, num_test=0, size=64,
                                seed=2)['root']
    out, metrics = _mim_test_tta(cli, tmp_path, SIIM, 'mmseg', root)
    assert "type='TripletSegTTAModel'" in out and "type='TestTimeAug'" in out
    assert 'siim/dice' in out
    assert 0.0 <= metrics['siim/dice'] <= 1.0 and 'mDice' in metrics


def test_multi_expert_demo_tta(tmp_path, cli):
    root = synthetic.write_multi_expert(tmp_path / 'data', 6, 6, size=64, seed=1)['root']
    out, metrics = _mim_test_tta(cli, tmp_path, MULTI_EXPERT, 'mmseg', root)
    assert "type='TripletSegTTAModel'" in out
    assert 'expert/dice_majority' in out
    assert 0.0 <= metrics['expert/dice_majority'] <= 1.0


def test_rsna_demo_tta(tmp_path, cli):
    root = synthetic.write_rsna(tmp_path / 'data', num_train=20, num_test=0, size=64,
                                seed=1)['root']
    out, metrics = _mim_test_tta(cli, tmp_path, RSNA, 'mmdet', root,
                                 'tta_pipeline.1.transforms.0.0.scale=(64,64)')
    assert "type='BoxDetTTAModel'" in out
    assert 'Cannot find ``tta_' not in out  # the config's, not mmdet's default TTA
    assert 'rsna/mAP' in out
    assert 0.0 <= metrics['rsna/mAP'] <= 1.0 and 'rsna/bbox_mAP' in metrics
