"""mmchest/engine/compat.py: the version gates, and the CPU-distributed patch's hand-over to
mmengine's own function when an accelerator is present or another init backend is asked for."""
import dataclasses
import subprocess
import sys

import mmengine.device
import pytest
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils
from packaging.version import Version

import mmchest  # noqa: F401  (installs the patches)
from mmchest.engine import compat

AFFECTED = {'mmengine': Version('0.10.7'), 'torch': Version('2.6.0')}
NEWER_MMENGINE = {'mmengine': Version('0.11.0'), 'torch': Version('2.6.0')}


def test_installed_stack_gets_every_patch():
    assert compat.status() == {p.name: True for p in compat.PATCHES}
    assert getattr(dist_utils._init_dist_pytorch, '_mmchest_cpu_patch', False)
    for patch in compat.PATCHES:
        assert 'Fixes:' in patch.doc and 'Can go when' in patch.doc, patch.name


def test_gates():
    by_name = {p.name: p for p in compat.PATCHES}
    assert all(p.applies(AFFECTED) for p in compat.PATCHES)
    assert not any(p.applies(NEWER_MMENGINE) for p in compat.PATCHES)
    older_torch = {'mmengine': Version('0.10.7'), 'torch': Version('2.5.1')}
    assert not by_name['mmengine_checkpoint_globals'].applies(older_torch)
    assert by_name['mmengine_safe_checkpoint_loader'].applies(older_torch)
    # local and pre-release versions are compared by their release
    assert by_name['mmengine_checkpoint_globals'].applies(
        {'mmengine': Version('0.10.7'), 'torch': Version('2.14.1+cu130')})
    assert by_name['mmengine_checkpoint_globals'].applies(
        {'mmengine': Version('0.10.7'), 'torch': Version('2.7.0a0')})


def test_install_applies_only_the_gated_patches(monkeypatch):
    calls = []
    patches = tuple(dataclasses.replace(p, apply=lambda name=p.name: calls.append(name))
                    for p in compat.PATCHES)
    monkeypatch.setattr(compat, 'PATCHES', patches)
    monkeypatch.setattr(compat, 'installed_versions', lambda: NEWER_MMENGINE)
    assert compat.install() == [] and calls == []
    older_torch = {'mmengine': Version('0.10.7'), 'torch': Version('2.5.1')}
    assert compat.install(older_torch) == calls == [
        'mmengine_safe_checkpoint_loader', 'mmengine_strict_evaluation_load',
        'mmengine_cpu_distributed']


def test_an_unaffected_mmengine_is_left_alone(tmp_path):
    """In a fresh process where mmengine says it is 0.11.0, ``import mmchest`` patches nothing."""
    code = ('import mmengine; mmengine.__version__ = "0.11.0"\n'
            'import mmchest\n'
            'from mmengine.dist import utils\n'
            'from mmengine.runner import Runner\n'
            'from mmengine.runner.checkpoint import CheckpointLoader\n'
            'print(any(mmchest.engine.compat.status().values()),\n'
            '      hasattr(utils._init_dist_pytorch, "_mmchest_cpu_patch"),\n'
            '      hasattr(Runner.load_checkpoint, "_mmchest_fit"),\n'
            '      hasattr(CheckpointLoader._schemes[""], "_mmchest_wrapped"))\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['False'] * 4


@pytest.fixture
def dist(monkeypatch):
    """The CPU patch installed over a recording stand-in for mmengine's original, and
    ``init_process_group`` recorded; no accelerator unless a test says otherwise."""
    calls = {'original': [], 'init_process_group': []}

    def original(backend, init_backend='torch', **kwargs):
        calls['original'].append((backend, init_backend, kwargs))

    monkeypatch.setattr(dist_utils, '_init_dist_pytorch', original)
    monkeypatch.setattr(torch_dist, 'init_process_group',
                        lambda **kw: calls['init_process_group'].append(kw))
    for kind in compat.ACCELERATORS:
        monkeypatch.setattr(mmengine.device, f'is_{kind}_available', lambda: False,
                            raising=False)
    monkeypatch.setenv('RANK', '1')
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('LOCAL_RANK', '1')
    compat._mmengine_cpu_distributed()
    assert dist_utils._init_dist_pytorch is not original
    return calls


def test_cpu_only_uses_gloo_without_touching_a_device(dist):
    assert compat.accelerator_present() is None
    dist_utils._init_dist_pytorch('nccl', timeout=5)
    assert dist['original'] == []
    assert dist['init_process_group'] == [dict(backend='gloo', rank=1, world_size=2, timeout=5)]
    dist_utils._init_dist_pytorch('gloo', init_backend='torch')
    assert dist['init_process_group'][-1]['backend'] == 'gloo'


@pytest.mark.parametrize('kind', ['cuda', 'npu', 'mlu', 'musa', 'mps'])
def test_any_accelerator_runs_mmengines_own_function(dist, monkeypatch, kind):
    monkeypatch.setattr(mmengine.device, f'is_{kind}_available', lambda: True)
    assert compat.accelerator_present() == kind
    dist_utils._init_dist_pytorch('nccl', timeout=5)
    assert dist['original'] == [('nccl', 'torch', dict(timeout=5))]
    assert dist['init_process_group'] == []


@pytest.mark.parametrize('init_backend', ['deepspeed', 'colossalai'])
def test_other_init_backends_are_mmengines(dist, init_backend):
    dist_utils._init_dist_pytorch('nccl', init_backend=init_backend)
    assert dist['original'] == [('nccl', init_backend, {})]
    assert dist['init_process_group'] == []


def test_patches_are_idempotent(dist):
    patched = dist_utils._init_dist_pytorch
    compat._mmengine_cpu_distributed()
    assert dist_utils._init_dist_pytorch is patched
