"""Multi-expert pneumonia: every image of the download is checked when a split is built."""
from pathlib import Path

import pytest

from mmchest.engine.bad_files import BadFilesError
from mmchest.seg.datasets.multi_expert_pneumonia import MultiExpertPneumoniaDataset
from mmchest.synthetic import write_multi_expert


def _build(root, split, **kw):
    return MultiExpertPneumoniaDataset(data_root=root, pipeline=[], split=split, **kw)


def _paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def test_truncated_png_named_at_build_skipped_on_request(tmp_path):
    root = write_multi_expert(tmp_path, num_pneumonia=10, num_normal=10, size=64)['root']
    paths = {s: _paths(_build(root, s)) for s in ('train', 'val', 'test')}
    bad = {s: paths[s][0] for s in ('train', 'val')}
    for path in bad.values():
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[:len(data) - 30])
    with pytest.raises(BadFilesError) as err:
        _build(root, 'val')
    assert all(p in str(err.value) for p in bad.values())
    assert 'PNG without IEND' in str(err.value)
    each = _build(root, 'train', bad_files='skip', fusion='each')  # 3 samples per image
    assert bad['train'] not in _paths(each)
    assert len(each) == 3 * (len(paths['train']) - 1)
    assert each.metainfo['bad_files']['total'] == len(paths['train'])
    assert each.metainfo['bad_files']['skipped'] == 1
    assert _paths(_build(root, 'test')) == paths['test']
