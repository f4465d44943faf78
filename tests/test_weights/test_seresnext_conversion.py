"""SE-ResNeXt-50 ImageNet route, offline: timm / pretrainedmodels weights (random here) ->
``convert_seresnext`` -> mmpretrain ``SEResNeXt``: every backbone tensor loaded, same features."""
import copy

import pytest
import timm
import torch
from mmengine.config import Config
from mmpretrain.models.backbones import SEResNeXt

from mmchest.weights import (WeightConversionError, convert_seresnext, detect_seresnext_source,
                             seresnext_keys, shape_mismatches)

NUM_TENSORS = 382  # SE-ResNeXt-50: 53 BatchNorms x 5, 53 convs, 16 SE layers x 4
NUM_BN = 53


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """BatchNorm running statistics other than (0, 1), so a misplaced one changes features."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1, ), generator=gen)))
    return model.eval()


def _timm_stages(model, x):
    if hasattr(model, 'layer0'):  # legacy / pretrainedmodels SENet
        x = model.pool0(model.layer0(x))
    else:  # timm ResNet
        x = model.maxpool(model.act1(model.bn1(model.conv1(x))))
    outs = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        outs.append(x)
    return outs


def _backbone(depth=50):
    model = SEResNeXt(depth=depth, groups=32, width_per_group=4, out_indices=(0, 1, 2, 3))
    model.eval()  # MMPretrain's ResNet.train() returns None, so no chaining
    return model


@pytest.fixture(scope='module')
def timm_seresnext():
    torch.manual_seed(0)
    return _randomise_bn(timm.create_model('seresnext50_32x4d', pretrained=False), seed=1)


@pytest.fixture(scope='module')
def timm_legacy():
    torch.manual_seed(1)
    return _randomise_bn(timm.create_model('legacy_seresnext50_32x4d', pretrained=False), seed=2)


def _load_counted(backbone, state_dict):
    """Load strictly; return how many backbone tensors now equal the converted ones."""
    backbone.load_state_dict(state_dict, strict=True)
    own = backbone.state_dict()
    return sum(torch.equal(own[k], state_dict[k]) for k in own), len(own)


def test_expected_keys_are_mmpretrain_backbone_keys():
    assert seresnext_keys(50) == list(_backbone(50).state_dict())
    assert len(seresnext_keys(50)) == NUM_TENSORS
    assert seresnext_keys(101) == list(_backbone(101).state_dict())


def test_timm_seresnext50_loads_fully_and_gives_the_same_features(timm_seresnext):
    result = convert_seresnext(timm_seresnext.state_dict())
    assert result.source == 'timm'
    assert result.dropped == ['fc.weight', 'fc.bias'] and result.filled == []
    assert result.renamed['layer1.0.se_layer.conv1.conv.weight'] == 'layer1.0.se.fc1.weight'
    backbone = _backbone()
    loaded, total = _load_counted(backbone, result.state_dict)
    assert (loaded, total) == (NUM_TENSORS, NUM_TENSORS)

    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = backbone(x)
        theirs = _timm_stages(timm_seresnext, x)
    assert [o.shape[1] for o in ours] == [256, 512, 1024, 2048]
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_pretrainedmodels_naming_loads_fully_and_gives_the_same_features(timm_legacy):
    """timm's legacy_seresnext50_32x4d has the pretrainedmodels package's names."""
    state = timm_legacy.state_dict()
    assert 'layer0.conv1.weight' in state and 'layer1.0.se_module.fc1.weight' in state
    result = convert_seresnext(state)
    assert result.source == 'pretrainedmodels'
    assert result.dropped == ['last_linear.weight', 'last_linear.bias']
    backbone = _backbone()
    assert _load_counted(backbone, result.state_dict) == (NUM_TENSORS, NUM_TENSORS)

    # The weights are the same; the stem max-pool differs (ceil_mode, no padding vs padding=1).
    # With MMPretrain's pool in the source model, every stage output matches.
    same_pool = copy.deepcopy(timm_legacy)
    same_pool.pool0 = torch.nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ours = backbone(x)
        theirs = _timm_stages(same_pool, x)
        legacy = _timm_stages(timm_legacy, x)
    for a, b, c in zip(ours, theirs, legacy):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        assert a.shape == c.shape


def test_pre_0_4_checkpoint_without_num_batches_tracked(timm_legacy):
    """Cadene's se_resnext50_32x4d-a260b3a4.pth predates num_batches_tracked: filled with 0."""
    state = {k: v for k, v in timm_legacy.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    result = convert_seresnext(state)
    assert len(result.filled) == NUM_BN
    assert all(int(result.state_dict[k]) == 0 for k in result.filled)
    assert _load_counted(_backbone(), result.state_dict) == (NUM_TENSORS, NUM_TENSORS)


def test_mmpretrain_classifier_checkpoint_and_module_prefix(timm_seresnext):
    converted = convert_seresnext(timm_seresnext.state_dict()).state_dict
    classifier = {f'module.backbone.{k}': v for k, v in converted.items()}
    classifier['module.head.fc.weight'] = torch.zeros(1000, 2048)
    again = convert_seresnext(classifier)
    assert again.source == 'mmpretrain' and again.dropped == ['module.head.fc.weight']
    assert list(again.state_dict) == list(converted)
    assert all(again.state_dict[k] is converted[k] for k in converted)


def test_unknown_and_missing_keys_are_refused_and_listed(timm_seresnext):
    state = dict(timm_seresnext.state_dict())
    state['layer5.0.conv1.weight'] = torch.zeros(1)
    del state['layer4.2.conv3.weight']
    with pytest.raises(WeightConversionError) as err:
        convert_seresnext(state)
    msg = str(err.value)
    assert 'layer5.0.conv1.weight' in msg and 'layer4.2.conv3.weight' in msg
    # a depth-101 file is not a depth-50 one
    with pytest.raises(WeightConversionError, match='missing'):
        convert_seresnext(timm_seresnext.state_dict(), depth=101)
    with pytest.raises(WeightConversionError, match='not an SE-ResNeXt'):
        detect_seresnext_source(list(timm.create_model('resnet18').state_dict()))


def test_shapes_are_checked_against_the_backbone(timm_seresnext):
    converted = convert_seresnext(timm_seresnext.state_dict()).state_dict
    own = _backbone().state_dict()
    assert shape_mismatches(converted, own) == {}
    bad = dict(converted, **{'conv1.weight': torch.zeros(64, 1, 7, 7)})
    assert shape_mismatches(bad, own) == {'conv1.weight': ((64, 1, 7, 7), (64, 3, 7, 7))}


def test_config_loads_the_converted_file_with_a_plain_pretrained_init(timm_seresnext, tmp_path,
                                                                      repo_root):
    """configs/unet_seresnext50_siim.py: init_cfg=dict(type='Pretrained', checkpoint=FILE)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmchest  # noqa: F401
    converted = convert_seresnext(timm_seresnext.state_dict()).state_dict
    path = tmp_path / 'seresnext50_32x4d_mmpretrain.pth'
    torch.save({'state_dict': converted, 'meta': {}}, path)
    cfg = Config.fromfile(str(repo_root / 'configs/unet_seresnext50_siim.py'))
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='checkpoints/seresnext50_32x4d_mmpretrain.pth')
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(path)})
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    own = model.backbone.state_dict()
    loaded = sum(torch.equal(own[k], converted[k]) for k in own)
    assert (loaded, len(own)) == (NUM_TENSORS, NUM_TENSORS)


def test_cli_converts_and_refuses(timm_seresnext, tmp_path, cli, repo_root):
    src = tmp_path / 'pytorch_model.bin'
    torch.save(timm_seresnext.state_dict(), src)
    out = tmp_path / 'out' / 'seresnext50_mmpretrain.pth'
    proc = cli(['python', repo_root / 'tools/convert_weights.py', src, out])
    assert f'checked: {NUM_TENSORS}/{NUM_TENSORS} tensors' in proc.stdout
    saved = torch.load(out, map_location='cpu', weights_only=True)
    assert list(saved['state_dict']) == seresnext_keys(50)
    assert not any(k.startswith('backbone.') for k in saved['state_dict'])

    bad = dict(timm_seresnext.state_dict(), **{'layer9.weight': torch.zeros(1)})
    torch.save(bad, src)
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(repo_root / 'tools/convert_weights.py'), str(src),
                           str(tmp_path / 'never.pth')], capture_output=True, text=True,
                          cwd=repo_root, timeout=300)
    assert proc.returncode != 0 and 'layer9.weight' in proc.stderr
    assert not (tmp_path / 'never.pth').exists()
