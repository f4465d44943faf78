"""mmchest.engine.bad_files: the exclude-list format, the loader's budget, the metric note."""
import os

import pytest
from mmengine.dataset import Compose

import mmchest  # noqa: F401  (registers LoadDicomImageFromFile)
from mmchest.engine.bad_files import (loader_max_pixels, read_exclude_file, skipped_note,
                                      write_file_list)
from mmchest.io.dicom import DEFAULT_MAX_PIXELS


def test_exclude_list_round_trip(tmp_path):
    root = tmp_path / 'data'
    inside, outside = root / 'a' / 'x.dcm', tmp_path / 'elsewhere.dcm'
    out = write_file_list(str(root / 'exclude.txt'),
                          [(str(inside), 'file truncated:\tcut'), (str(outside), 'empty file')],
                          str(root), header=['made by a test'])
    lines = open(out).read().splitlines()
    assert lines[0] == '# made by a test'
    assert lines[1] == os.path.join('a', 'x.dcm') + '\tfile truncated: cut'  # relative, 1 tab
    assert lines[2] == f'{outside}\tempty file'  # outside data_root: absolute
    listed = read_exclude_file('exclude.txt', str(root))  # relative to data_root
    assert listed == {str(inside): 'file truncated: cut', str(outside): 'empty file'}
    (root / 'plain.txt').write_text('a/x.dcm\n\n# comment\n')
    assert read_exclude_file(str(root / 'plain.txt'), str(root)) == {str(inside): ''}
    with pytest.raises(FileNotFoundError, match='tools/check_dataset.py'):
        read_exclude_file('missing.txt', str(root))


def test_budget_comes_from_the_pipeline_loader():
    assert loader_max_pixels(Compose([])) == DEFAULT_MAX_PIXELS
    assert loader_max_pixels(Compose([dict(type='LoadDicomImageFromFile', max_pixels=100)])) \
        == 100
    assert loader_max_pixels(Compose([dict(type='LoadDicomImageFromFile',
                                           max_pixels=None)])) is None


def test_skipped_note():
    assert skipped_note(None) == '' and skipped_note({'classes': ('a',)}) == ''
    assert skipped_note({'bad_files': dict(total=5, skipped=0, list_file='f')}) == ''
    assert skipped_note({'bad_files': dict(total=5, skipped=2, list_file='/w/f.txt')}) == \
        '; evaluated 3 of 5 images (2 skipped: see /w/f.txt)'
