"""Checkpoints load with weights_only=True; anything beyond mmengine's own types is refused,
and bad files get messages a user can act on."""
import builtins
import fractions
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import mmchest  # noqa: F401  (installs the allow-list and the loader patch)
from mmchest.engine.safe_checkpoint import (TRUSTED_GLOBALS_ENV, CheckpointReadError,
                                            CheckpointRefusedError, safe_torch_load)


class _ExecPayload:
    """Pickles as ``exec(code)``: what a malicious checkpoint would carry."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (builtins.exec, (self.code,))


class _GetattrEscape:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: not a statistics method."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def _mmengine_like_checkpoint() -> dict:
    hub = MessageHub.get_instance('mmchest_test_hub')
    for i in range(5):
        hub.update_scalar('train/loss', float(i))
    hub.update_info('iter', 5)
    hub.update_info('np_scalar', np.float64(0.25))
    return {
        'meta': {'iter': 5, 'epoch': 0, 'dataset_meta': {'classes': ('background', 'lesion')}},
        'state_dict': {'w': torch.ones(2, 2)},
        'message_hub': hub.state_dict(),
        'extra_array': np.arange(6, dtype=np.int16).reshape(2, 3),
    }


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    # Without the allow-list torch refuses this file: the fix is really needed.
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=True)
    finally:
        torch.serialization.add_safe_globals(saved)
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(2.0)  # statistics methods survive the round trip
    assert buf.max() == 4.0
    assert ckpt['message_hub']['runtime_info']['np_scalar'] == 0.25
    np.testing.assert_array_equal(ckpt['extra_array'], np.arange(6).reshape(2, 3))
    assert ckpt['extra_array'].dtype == np.int16


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    payload = _ExecPayload(f'open({str(marker)!r}, "w").write("pwned")')
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': payload}, path)

    with pytest.raises(CheckpointRefusedError) as info:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(info.value)
    assert 'evil.pth' in message and 'builtins.exec' in message
    assert TRUSTED_GLOBALS_ENV in message  # explains the explicit opt-in
    assert not marker.exists()

    # The payload is real: an unrestricted unpickler would have run it.
    with zipfile.ZipFile(path) as zf:
        data = zf.read([n for n in zf.namelist() if n.endswith('data.pkl')][0])
    pickle.loads(data)
    assert marker.read_text() == 'pwned'


def test_getattr_stand_in_only_returns_statistics_methods(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'fn': _GetattrEscape()}, path)
    with pytest.raises(CheckpointRefusedError, match='getattr'):
        safe_torch_load(str(path))


def test_explicit_opt_in_extends_allow_list(tmp_path, monkeypatch):
    path = tmp_path / 'fraction.pth'
    torch.save({'ratio': fractions.Fraction(3, 4)}, path)
    monkeypatch.delenv(TRUSTED_GLOBALS_ENV, raising=False)
    with pytest.raises(CheckpointRefusedError, match='fractions.Fraction'):
        safe_torch_load(str(path))
    monkeypatch.setenv(TRUSTED_GLOBALS_ENV, 'fractions.Fraction')
    assert safe_torch_load(str(path))['ratio'] == fractions.Fraction(3, 4)


def test_builtins_can_never_be_trusted(tmp_path, monkeypatch):
    path = tmp_path / 'ok.pth'
    torch.save({'w': torch.zeros(1)}, path)
    monkeypatch.setenv(TRUSTED_GLOBALS_ENV, 'builtins.exec')
    with pytest.raises(ValueError, match='builtins.exec'):
        safe_torch_load(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


class _EvalPayload:
    def __reduce__(self):
        return (builtins.eval, ('1',))


def _no_unsafe_advice(message: str) -> None:
    assert 'False' not in message  # torch's "retry with weights_only=False" is never passed on
    assert f'{TRUSTED_GLOBALS_ENV}="builtins' not in message
    assert 'add_safe_globals' not in message


def test_empty_checkpoint_names_the_file(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(CheckpointReadError, match=r"checkpoint '.*empty\.pth' is empty "
                                                  r'\(0 bytes\)') as info:
        _load_checkpoint(str(path), map_location='cpu')
    assert info.value.path == str(path)


@pytest.mark.parametrize('content', ['half_zip', 'half_legacy', 'text', 'plain_pickle'])
def test_truncated_or_foreign_file_names_the_file(tmp_path, content):
    good, legacy = tmp_path / 'good.pth', tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(64)}}, good)
    torch.save({'state_dict': {'w': torch.ones(64)}}, legacy,
               _use_new_zipfile_serialization=False)
    data = {'half_zip': good.read_bytes()[:good.stat().st_size // 2],
            'half_legacy': legacy.read_bytes()[:legacy.stat().st_size // 2],
            'text': b'model weights: see README\n',
            'plain_pickle': pickle.dumps({'w': [1.0, 2.0]}, protocol=2)}[content]
    path = tmp_path / f'{content}.pth'
    path.write_bytes(data)
    with pytest.raises(CheckpointReadError) as info:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(info.value)
    assert f"checkpoint '{path}' is truncated or not a torch checkpoint ({len(data)} bytes" \
        in message
    _no_unsafe_advice(message)


def test_refusal_suggests_only_non_builtins(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUSTED_GLOBALS_ENV, raising=False)
    path = tmp_path / 'mixed.pth'
    torch.save({'state_dict': {}, 'ratio': fractions.Fraction(1, 2), 'x': _EvalPayload()}, path)
    with pytest.raises(CheckpointRefusedError) as info:
        safe_torch_load(str(path))
    message = str(info.value)
    assert f'{TRUSTED_GLOBALS_ENV}="fractions.Fraction".' in message
    assert 'builtins.eval can never be allowed' in message
    _no_unsafe_advice(message)


@pytest.mark.parametrize('payload,unsafe', [
    (fractions.Fraction(3, 4), 'fractions.Fraction'), (_EvalPayload(), 'builtins.eval')])
def test_legacy_format_refusal_lists_globals_without_torch_advice(tmp_path, monkeypatch,
                                                                  payload, unsafe):
    monkeypatch.delenv(TRUSTED_GLOBALS_ENV, raising=False)
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'x': payload}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointRefusedError) as info:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(info.value)
    assert f'allow-list ({unsafe})' in message and 'legacy' in message
    assert 're-save them with a current torch as a plain state dict' in message
    _no_unsafe_advice(message)
    if unsafe.startswith('builtins.'):
        assert f'{unsafe} can never be allowed' in message
        assert '__builtin__' not in message
    else:  # the suggestion works
        assert f'{TRUSTED_GLOBALS_ENV}="{unsafe}"' in message
        monkeypatch.setenv(TRUSTED_GLOBALS_ENV, unsafe)
        assert safe_torch_load(str(path))['x'] == payload
