"""mmchest.io.output_dir: unique temporaries, the options manifest, the folder lock."""
import json
import os
import stat

import pytest

from mmchest.io.output_dir import (OptionsMismatchError, OutputDir, OutputDirBusyError,
                                   atomic_write, check_writable_dir, format_option,
                                   remove_stale_temporaries, tmp_prefix)

PREFIX = tmp_prefix('t')


def test_atomic_write_leaves_no_temporary_and_a_normal_mode(tmp_path):
    path = tmp_path / 'sub' / 'f.bin'
    atomic_write(str(path), b'abc', PREFIX)
    atomic_write(str(path), b'new', PREFIX)
    assert path.read_bytes() == b'new'
    assert os.listdir(path.parent) == ['f.bin']
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0o600


def test_remove_stale_temporaries_only_with_the_prefix(tmp_path):
    names = [f'{PREFIX}abc.tmp', '.x.123.tmp', 'y.tmp', f'{PREFIX}abc.txt',
             '.mmchest-other-abc.tmp']
    for name in names:
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'deeper').mkdir()
    (tmp_path / 'deeper' / f'{PREFIX}d.tmp').write_bytes(b'')
    assert remove_stale_temporaries([str(tmp_path), str(tmp_path / 'missing')], PREFIX) == 1
    assert sorted(os.listdir(tmp_path)) == sorted(names[1:] + ['deeper'])
    assert os.listdir(tmp_path / 'deeper') == [f'{PREFIX}d.tmp']  # not recursive


def test_manifest_created_compared_and_replaced(tmp_path):
    out = str(tmp_path / 'out')
    with OutputDir(out, 't', {'size': 512, 'norm': 'auto', 'flag': False}) as d:
        assert d.previous is None
    doc = json.loads((tmp_path / 'out' / '.mmchest_t.json').read_text())
    assert doc == {'tool': 't', 'format': 1,
                   'options': {'size': 512, 'norm': 'auto', 'flag': False}}
    with OutputDir(out, 't', {'size': 512, 'norm': 'auto', 'flag': False}):
        pass
    with pytest.raises(OptionsMismatchError) as info:
        OutputDir(out, 't', {'size': 256, 'norm': 'auto', 'flag': True})
    assert str(info.value) == (f'{out} was written with --size 512, no --flag; this run asks '
                               '--size 256, --flag: use another output folder, or '
                               '--overwrite to redo every file with these options')
    with OutputDir(out, 't', {'size': 256, 'norm': 'auto', 'flag': True},
                   overwrite=True) as d:
        assert d.changes(d.previous) == ['size', 'flag']
    assert json.loads((tmp_path / 'out' / '.mmchest_t.json').read_text())['options'][
        'size'] == 256
    assert sorted(os.listdir(out)) == ['.mmchest_t.json']


def test_unknown_outputs_and_foreign_manifest_are_refused(tmp_path):
    out = str(tmp_path)
    with pytest.raises(OptionsMismatchError, match='holds outputs but no .mmchest_t.json'):
        OutputDir(out, 't', {'a': 1}, has_outputs=lambda: True)
    (tmp_path / '.mmchest_t.json').write_text('{"tool": "other", "options": {}}')
    with pytest.raises(OptionsMismatchError, match='not a t manifest'):
        OutputDir(out, 't', {'a': 1})


@pytest.mark.skipif(os.name != 'posix', reason='flock')
def test_lock_overwrite_needs_the_folder_and_leftovers_stay_while_shared(tmp_path):
    out = str(tmp_path)
    first = OutputDir(out, 't', {'a': 1})  # holds a shared lock until closed
    try:
        (tmp_path / f'{PREFIX}live.tmp').write_bytes(b'another run is writing this')
        second = OutputDir(out, 't', {'a': 1})  # shares the folder, removes nothing
        assert second.removed == 0 and (tmp_path / f'{PREFIX}live.tmp').exists()
        second.close()
        with pytest.raises(OutputDirBusyError, match='needs the folder to itself'):
            OutputDir(out, 't', {'a': 2}, overwrite=True)
    finally:
        first.close()
    with OutputDir(out, 't', {'a': 1}) as alone:
        assert alone.removed == 1
    exclusive = OutputDir(out, 't', {'a': 1}, overwrite=True)
    try:
        with pytest.raises(OutputDirBusyError, match='with --overwrite'):
            OutputDir(out, 't', {'a': 1}, wait_s=0.3)
    finally:
        exclusive.close()


def test_check_writable_dir(tmp_path):
    check_writable_dir(str(tmp_path / 'new'), PREFIX, subdirs=('masks',))
    assert os.listdir(tmp_path / 'new') == []
    (tmp_path / 'new' / 'masks').write_text('')
    with pytest.raises(NotADirectoryError):
        check_writable_dir(str(tmp_path / 'new'), PREFIX, subdirs=('masks',))
    with pytest.raises(OSError):
        check_writable_dir(str(tmp_path / 'new' / 'masks' / 'x'), PREFIX)


def test_format_option():
    assert format_option('size', 512) == '--size 512'
    assert format_option('size', None) == 'no --size'
    assert format_option('voi-lut', True) == '--voi-lut'
    assert format_option('percentiles', [0.5, 99.5]) == '--percentiles 0.5 99.5'
    assert format_option('window', [40.0, 400.0]) == '--window 40 400'
