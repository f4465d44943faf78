"""Every config under configs/ loads with Config.fromfile and builds its model (no downloads)."""
from pathlib import Path

import pytest
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401
from mmchest.weights.offline import without_pretrained

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
CONFIGS += sorted((REPO / 'projects').rglob('configs/*.py'))
#: per host (default_scope): the mmchest subpackage its configs import, and its flip-TTA model
SUBPACKAGE = {'mmseg': 'mmchest.seg', 'mmdet': 'mmchest.det', 'mmpretrain': 'mmchest.cls'}
TTA_MODEL = {'mmseg': 'TripletSegTTAModel', 'mmdet': 'BoxDetTTAModel',
             'mmpretrain': 'AverageClsScoreTTA'}


def test_there_are_configs():
    names = {p.name for p in CONFIGS}
    assert {'unet_siim.py', 'unet_siim_synthetic.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_loads_and_builds_model(path):
    cfg = Config.fromfile(str(path))
    scope = cfg.get('default_scope')
    assert scope in SUBPACKAGE
    # the host's subpackage, not the whole package (nor another host's)
    assert cfg.custom_imports['imports'][0] == SUBPACKAGE[scope]
    assert cfg.custom_imports['allow_failed_imports'] is False
    assert 'work_dir' not in cfg and cfg.get('launcher') in (None, 'none')
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(ConfigDict(without_pretrained(cfg.model.to_dict())))
    assert sum(p.numel() for p in model.parameters()) > 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader]['dataset']['type']


@pytest.mark.parametrize('path', [p for p in CONFIGS if p.is_relative_to(REPO / 'configs')],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_config_has_a_flip_tta_that_builds(path):
    """`mim test --tta`: every entry and demo config names its TTA model and a flip pipeline."""
    cfg = Config.fromfile(str(path))
    scope = cfg.default_scope
    assert cfg.tta_model.type == TTA_MODEL[scope]
    load, tta = cfg.tta_pipeline
    assert load.type == cfg.test_dataloader.dataset.pipeline[0].type
    assert tta.type == 'TestTimeAug'
    assert [t.prob for t in tta.transforms[1]] == [0.0, 1.0]
    # the loaded labels come after the flip: they stay as the file has them (a classifier's
    # label is in the data_info: no loader)
    if scope != 'mmpretrain':
        assert 'Load' in tta.transforms[2][0].type
    assert 'Pack' in tta.transforms[-1][0].type
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    tta_model = registry.build(ConfigDict(cfg.tta_model.to_dict(),
                                          module=without_pretrained(cfg.model.to_dict())))
    assert type(tta_model).__name__ == cfg.tta_model.type


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_uint8_labels_meet_a_preprocessor_that_casts_them(path):
    """PackSegInputsUint8 leaves labels uint8: the model's data preprocessor must cast them
    (mmseg's losses index with the labels)."""
    cfg = Config.fromfile(str(path))
    packs = [t.type for t in cfg.train_dataloader.dataset.pipeline if 'Pack' in t.type]
    if 'PackSegInputsUint8' in packs:
        assert cfg.model.data_preprocessor.type == 'Uint8LabelSegDataPreProcessor'



#: run in a fresh interpreter: the configs' custom_imports are the only mmchest imports
_RESOLVE_TYPES = r'''
import importlib, json, sys
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

NOT_REGISTERED = {'nms', 'soft_nms', 'RoIAlign'}  # mmcv ops, looked up by name
def types(node):
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for v in node.values():
            yield from types(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from types(v)
assert 'mmchest' not in sys.modules
missing, scopes = {}, set()
for path in json.loads(sys.argv[1]):
    cfg = Config.fromfile(path)  # imports custom_imports
    scopes.add(cfg.default_scope)
    init_default_scope(cfg.default_scope)
    reg = importlib.import_module(f'{cfg.default_scope}.registry')
    registries = [r for r in vars(reg).values() if isinstance(r, Registry)]
    for t in sorted(set(types(cfg.to_dict())) - NOT_REGISTERED):
        if not any(r.get(t) is not None for r in registries):
            missing.setdefault(path, []).append(t)
print(json.dumps(dict(missing=missing, scopes=sorted(scopes))))
'''


def test_custom_imports_register_every_type_the_configs_name():
    """Each config's `custom_imports` (mmchest.seg / .det / .cls), in a fresh interpreter
    with no other mmchest import, registers every `type` the config names."""
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, '-c', _RESOLVE_TYPES,
                           json.dumps([str(p) for p in CONFIGS])],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['scopes'] == sorted(SUBPACKAGE)
    assert not result['missing'], f'types unknown after custom_imports: {result["missing"]}'
