"""COCO -> RSNA fine-tuning, offline: an 80-class mmdet Mask R-CNN / Faster R-CNN (random
weights, built from mmdet's own COCO configs) loads into the one-class RSNA configs through
``load_from`` exactly as ``mim train`` does; FineTuneLoadHook skips only the class layers."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401
from mmchest.engine import FineTuneLoadHook
from mmchest.weights import shape_mismatches

COCO = {
    'mask_rcnn_rsna.py': ('mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                          'https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
                          'mask_rcnn_r50_fpn_1x_coco/'
                          'mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth'),
    'faster_rcnn_rsna.py': ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                            'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
                            'faster_rcnn_r50_fpn_1x_coco/'
                            'faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth'),
}
CLASS_LAYERS = {
    'mask_rcnn_rsna.py': {f'roi_head.{layer}.{p}' for layer in
                          ('bbox_head.fc_cls', 'bbox_head.fc_reg', 'mask_head.conv_logits')
                          for p in ('weight', 'bias')},
    'faster_rcnn_rsna.py': {f'roi_head.bbox_head.{layer}.{p}' for layer in ('fc_cls', 'fc_reg')
                            for p in ('weight', 'bias')},
}


def coco_checkpoint(mmdet_config: str, path) -> dict:
    """Save mmdet's 80-class COCO model (random weights) as a model-zoo style checkpoint.

    ``mmdet_config`` is relative to mmdet's own configs (``mmdet/.mim/configs``).
    """
    import mmdet
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(Path(mmdet.__file__).parent / '.mim' / 'configs' / mmdet_config))
    assert cfg.model.roi_head.bbox_head.num_classes == 80
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': state, 'meta': {'CLASSES': tuple(range(80))}}, path)
    return state


def test_shape_mismatches_ignores_module_prefix():
    ckpt = {'module.a': torch.zeros(2), 'b': torch.zeros(3), 'c': torch.zeros(1)}
    model = {'a': torch.zeros(2), 'b': torch.zeros(4)}
    assert shape_mismatches(ckpt, model) == {'b': ((3, ), (4, ))}


@pytest.mark.parametrize('name', sorted(COCO))
def test_documented_load_from_skips_exactly_the_class_layers(name, tmp_path, monkeypatch,
                                                              rsna_writer, train_prelude,
                                                              repo_root):
    mmdet_config, url = COCO[name]
    # The documented URL, served from torch's hub cache ($TORCH_HOME/hub/checkpoints/), which
    # is also the offline route: no network is touched.
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    coco = coco_checkpoint(mmdet_config,
                           tmp_path / 'torch' / 'hub' / 'checkpoints' / url.rsplit('/', 1)[1])
    root = rsna_writer(tmp_path / 'rsna', [(f'p{i:02d}', [(8, 8, 20, 24)] if i % 2 else [])
                                           for i in range(20)])
    cfg = Config.fromfile(str(repo_root / 'configs' / name))
    assert cfg.custom_hooks == [dict(type='FineTuneLoadHook')]
    # what the config header documents, plus the synthetic data
    cfg.merge_from_dict({'model.backbone.init_cfg': None, 'load_from': url})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
    init_default_scope('mmdet')
    runner = train_prelude(cfg, tmp_path / 'work')

    hook = next(h for h in runner.hooks if isinstance(h, FineTuneLoadHook))
    assert set(hook.skipped) == CLASS_LAYERS[name]
    state = runner.model.state_dict()
    assert set(state) == set(coco)
    equal = {k for k in state if state[k].shape == coco[k].shape and torch.equal(state[k], coco[k])}
    assert equal == set(coco) - CLASS_LAYERS[name]
    assert len(equal) == len(coco) - len(CLASS_LAYERS[name])
    assert runner.model.roi_head.bbox_head.fc_cls.out_features == 2  # one class + background
    log = (tmp_path / 'work').rglob('*.log')
    text = '\n'.join(p.read_text() for p in log)
    lines = [line for line in text.splitlines() if 'FineTuneLoadHook:' in line]
    assert len(lines) == 1 and 'roi_head.bbox_head.fc_cls.weight (81, 1024)->(2, 1024)' in lines[0]
    assert f'the other {len(equal)} are loaded' in lines[0]
    assert 'size mismatch' not in text and 'missing keys' not in text


def test_not_applied_outside_training(tmp_path, monkeypatch, repo_root, rsna_writer):
    """mim test (no optimizer built): the hook skips nothing, and the COCO checkpoint, whose
    class layers cannot hold one class, is refused (mmchest.engine.checkpoint_fit) instead of
    being evaluated with random class layers."""
    from mmengine.runner import Runner

    from mmchest.engine.checkpoint_fit import CheckpointMismatchError
    name = 'faster_rcnn_rsna.py'
    path = tmp_path / 'coco.pth'
    coco_checkpoint(COCO[name][0], path)
    root = rsna_writer(tmp_path / 'rsna', [(f'p{i}', []) for i in range(4)])
    cfg = Config.fromfile(str(repo_root / 'configs' / name))
    cfg.merge_from_dict({'model.backbone.init_cfg': None, 'load_from': str(path),
                         'work_dir': str(tmp_path / 'work')})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
    init_default_scope('mmdet')
    runner = Runner.from_cfg(cfg)
    before = runner.model.roi_head.bbox_head.fc_cls.weight.clone()
    with pytest.raises(CheckpointMismatchError) as info:
        runner.load_or_resume()
    hook = next(h for h in runner.hooks if isinstance(h, FineTuneLoadHook))
    assert hook.skipped is None
    assert set(info.value.mismatched) == CLASS_LAYERS[name] and not info.value.missing
    assert 'roi_head.bbox_head.fc_cls.weight (81, 1024)->(2, 1024)' in str(info.value)
    fc_cls = runner.model.roi_head.bbox_head.fc_cls.weight
    assert fc_cls.shape == (2, 1024) and torch.equal(fc_cls, before)  # nothing was loaded
