"""Import only what you use: each subpackage imports without the other hosts, the cores without
the training stack, and only a missing host is skipped. Each case runs in a fresh interpreter
with the absent packages blocked (``sys.modules[name] = None``, as if not installed)."""
import json
import subprocess
import sys
import textwrap

import pytest

#: Prints, as JSON, the ``type=`` strings of every config of one scope that no registry of
#: that scope resolves. ``nms`` and ``roi_layer`` name mmcv ops, not registered classes.
UNRESOLVED_TYPES = '''
import importlib
from pathlib import Path

from mmengine.config import Config
from mmengine.registry import Registry

repo = Path(REPO)
paths = sorted(p for p in (repo / 'configs').rglob('*.py') if '_base_' not in p.parts)
paths += sorted((repo / 'projects').rglob('configs/*.py'))
registries = [r for r in vars(importlib.import_module(SCOPE + '.registry')).values()
              if isinstance(r, Registry)]

def types(node, key=None):
    if isinstance(node, dict):
        if isinstance(node.get('type'), str) and key not in ('nms', 'roi_layer'):
            yield node['type']
        for k, v in node.items():
            yield from types(v, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from types(v, key)

checked, unresolved = [], {}
for path in paths:
    cfg = Config.fromfile(str(path), import_custom_modules=False)
    if cfg.get('default_scope') != SCOPE:
        continue
    checked.append(path.name)
    missing = sorted({t for t in types(cfg.to_dict())
                      if not any(r.get(t) is not None for r in registries)})
    if missing:
        unresolved[path.name] = missing
print(json.dumps(dict(checked=checked, unresolved=unresolved)))
'''


def _run(*parts, blocked=(), tmp_path=None):
    """Run the code ``parts`` in a fresh interpreter with ``blocked`` modules unimportable."""
    prelude = 'import json, sys\n' + ''.join(f'sys.modules[{m!r}] = None\n' for m in blocked)
    code = prelude + '\n'.join(textwrap.dedent(part) for part in parts)
    return subprocess.run([sys.executable, '-c', code],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=600)


def _json(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: What a config of either host needs besides the host's own classes.
COMMON = '''
from mmengine.registry import DATA_SAMPLERS
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.runner.checkpoint import CheckpointLoader
import mmchest
out = dict(
    all=sorted(mmchest.__all__),
    modules=sorted(m for m in ('mmchest.seg', 'mmchest.det', 'mmchest.cls') if m in sys.modules),
    root=[ROOT_TRANSFORMS.get('LoadDicomImageFromFile') is not None,
          DATA_SAMPLERS.get('PositiveRatioSampler') is not None,
          DATA_SAMPLERS.get('InfinitePositiveRatioSampler') is not None,
          ROOT_HOOKS.get('FineTuneLoadHook') is not None],
    safe_loader=getattr(CheckpointLoader._schemes[''], '_mmchest_wrapped', False),
    patches=mmchest.engine.compat.status())
'''


def test_seg_without_mmdet(tmp_path):
    out = _json(_run('''
        import mmchest.seg
        from mmseg.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS
        ''', COMMON, '''
        out['seg'] = [DATASETS.get('SIIMPneumothoraxDataset') is not None,
                      TRANSFORMS.get('LoadRLEMask') is not None,
                      METRICS.get('SIIMDiceMetric') is not None,
                      MODELS.get('Uint8LabelSegDataPreProcessor') is not None,
                      HOOKS.get('DicomSegVisualizationHook') is not None]
        out['mmdet'] = sys.modules['mmdet']
        print(json.dumps(out))
        ''', blocked=['mmdet'], tmp_path=tmp_path))
    assert out['all'] == ['__version__', 'engine', 'seg', 'transforms']
    assert out['modules'] == ['mmchest.seg']
    assert out['root'] == [True] * 4 and out['seg'] == [True] * 5
    assert out['safe_loader'] is True and all(out['patches'].values())
    assert out['mmdet'] is None


def test_det_without_mmseg(tmp_path):
    out = _json(_run('''
        import mmchest.det
        from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS
        ''', COMMON, '''
        out['det'] = [DATASETS.get('RSNAPneumoniaDataset') is not None,
                      METRICS.get('RSNAMetric') is not None,
                      MODELS.get('BoxDetTTAModel') is not None,
                      HOOKS.get('DicomDetVisualizationHook') is not None]
        print(json.dumps(out))
        ''', blocked=['mmseg'], tmp_path=tmp_path))
    assert out['all'] == ['__version__', 'det', 'engine', 'transforms']
    assert out['modules'] == ['mmchest.det']
    assert out['root'] == [True] * 4 and out['det'] == [True] * 4
    assert out['safe_loader'] is True and all(out['patches'].values())


@pytest.mark.parametrize('scope,blocked', [('mmseg', 'mmdet'), ('mmdet', 'mmseg')])
def test_subpackage_registers_every_type_its_configs_use(scope, blocked, repo_root, tmp_path):
    sub = {'mmseg': 'seg', 'mmdet': 'det'}[scope]
    code = (f'import mmchest.{sub}\nREPO, SCOPE = {str(repo_root)!r}, {scope!r}\n'
            + UNRESOLVED_TYPES)
    out = _json(_run(code, blocked=[blocked], tmp_path=tmp_path))
    assert len(out['checked']) >= 3, out
    assert out['unresolved'] == {}


@pytest.mark.parametrize('blocked', [('mmcv', 'mmseg', 'mmdet', 'mmpretrain'),
                                     ('mmcv', 'mmseg', 'mmdet', 'mmpretrain', 'mmengine',
                                      'torch')])
def test_framework_free_cores_without_the_training_stack(blocked, tmp_path):
    out = _json(_run('''
        import importlib, pkgutil
        import mmchest
        failed = {}
        for pkg in ('mmchest.io', 'mmchest.evaluation', 'mmchest.postprocessing'):
            for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
                try:
                    importlib.import_module(f'{pkg}.{info.name}')
                except ImportError as err:
                    failed[f'{pkg}.{info.name}'] = str(err)
        import mmchest.io.expert_masks, mmchest.io.rle, mmchest.evaluation.dice
        print(json.dumps(dict(all=mmchest.__all__, failed=failed,
                              hosts=[sys.modules[m] is None for m in BLOCKED])))
        '''.replace('BLOCKED', repr(list(blocked))), blocked=blocked, tmp_path=tmp_path))
    with_engine = 'mmengine' not in blocked
    assert out['all'] == (['__version__', 'engine'] if with_engine else ['__version__'])
    assert out['failed'] == {}
    assert all(out['hosts'])


def test_missing_dependency_of_an_installed_host_is_raised(tmp_path):
    # pycocotools is not a host: mmdet needs it, so `import mmchest` must say it is missing
    proc = _run('import mmchest', blocked=['pycocotools'], tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "ModuleNotFoundError: import of pycocotools halted" in proc.stderr


def test_missing_submodule_of_an_installed_host_is_raised(tmp_path):
    # a host that is installed but broken (like mmcv without its compiled ops) is not skipped
    proc = _run('import mmchest', blocked=['mmseg.datasets'], tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "import of mmseg.datasets halted" in proc.stderr


def test_import_mmchest_registers_every_installed_host(tmp_path):
    out = _json(_run(COMMON, 'print(json.dumps(out))', tmp_path=tmp_path))
    assert out['all'] == ['__version__', 'det', 'engine', 'seg', 'transforms']
    assert out['modules'] == ['mmchest.det', 'mmchest.seg']
    assert out['root'] == [True] * 4 and all(out['patches'].values())
