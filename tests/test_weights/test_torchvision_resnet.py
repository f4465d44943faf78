"""ResNet-34/50 U-Net encoders, offline: torchvision ImageNet weights (random here) load fully
from ``$TORCH_HOME/hub/checkpoints/`` under the ``torchvision://`` name, or from a local path."""
import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import get_torchvision_models

import mmchest  # noqa: F401

CASES = {  # config -> (torchvision model, file name under $TORCH_HOME/hub/checkpoints)
    'configs/unet_siim.py': ('resnet34', 'resnet34-b627a593.pth'),
    'configs/unet_resnet50_siim.py': ('resnet50', 'resnet50-0676ba61.pth'),
}


def torchvision_weights(arch: str, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    for m in model.modules():  # running statistics other than (0, 1)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.state_dict()


def build_and_init(cfg):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def count_loaded(backbone, weights):
    own = backbone.state_dict()
    return sum(k in weights and torch.equal(own[k], weights[k]) for k in own), len(own)


@pytest.mark.parametrize('config', sorted(CASES))
def test_torchvision_name_resolves_to_the_documented_file(config, repo_root):
    arch, filename = CASES[config]
    cfg = Config.fromfile(str(repo_root / config))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint=f'torchvision://{arch}')
    assert get_torchvision_models()[arch].rsplit('/', 1)[1] == filename


@pytest.mark.parametrize('config', sorted(CASES))
def test_offline_from_torch_home(config, repo_root, tmp_path, monkeypatch):
    arch, filename = CASES[config]
    weights = torchvision_weights(arch)
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    torch.save(weights, cache / filename)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    model = build_and_init(Config.fromfile(str(repo_root / config)))  # the config unchanged
    loaded, total = count_loaded(model.backbone, weights)
    assert loaded == total == len(weights) - 2  # all but torchvision's fc.weight / fc.bias


@pytest.mark.parametrize('config', sorted(CASES))
def test_offline_from_a_local_path(config, repo_root, tmp_path):
    arch, _ = CASES[config]
    weights = torchvision_weights(arch, seed=1)
    path = tmp_path / 'x' / f'{arch}.pth'
    path.parent.mkdir()
    torch.save(weights, path)
    cfg = Config.fromfile(str(repo_root / config))
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(path)})
    model = build_and_init(cfg)
    loaded, total = count_loaded(model.backbone, weights)
    assert loaded == total == len(weights) - 2
