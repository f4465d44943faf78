"""mmchest.analysis.check_dataset: full decoding of every split, and the exclude list."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmchest.analysis.check_dataset import check_dataset
from mmchest.engine.bad_files import read_exclude_file
from mmchest.io.image_check import check_image
from mmchest.synthetic import write_siim

SPLITS = dict(train=0.7, val=0.15, test=0.15)


def _config(repo_root, root):
    cfg = Config.fromfile(str(repo_root / 'configs/demo/unet_siim_synthetic.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
        cfg[key].dataset.split_ratios = SPLITS
    return cfg


@pytest.fixture
def broken(tmp_path):
    """One truncated DICOM in train, one in val, and one in test whose header is intact but
    whose JPEG stream is not (only a full decode finds it)."""
    init_default_scope('mmseg')
    from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
    info = write_siim(tmp_path, num_train=30, num_test=0, size=64, seed=5)
    kw = dict(data_root=info['root'], pipeline=[], split_ratios=SPLITS)
    bad = {s: SIIMPneumothoraxDataset(split=s, **kw).get_data_info(0)['img_path']
           for s in ('train', 'val', 'test')}
    for split in ('train', 'val'):
        data = Path(bad[split]).read_bytes()
        Path(bad[split]).write_bytes(data[:len(data) // 2])
    data = bytearray(Path(bad['test']).read_bytes())
    soi = data.index(b'\xff\xd8\xff')
    data[soi:soi + 64] = b'\x00' * 64  # the JPEG headers gone, the DICOM structure intact
    Path(bad['test']).write_bytes(bytes(data))
    assert check_image(bad['test']) is None
    return dict(root=info['root'], bad=bad)


@pytest.mark.parametrize('workers', [0, 2])
def test_lists_every_bad_file_of_every_split(broken, repo_root, tmp_path, workers):
    out = tmp_path / 'exclude.txt'
    report = check_dataset(_config(repo_root, broken['root']), workers=workers, out=str(out),
                           progress=False)
    assert report['checked'] == 30
    by_path = {p: (r, s) for p, r, s in report['bad']}
    assert set(by_path) == set(broken['bad'].values())
    for split, path in broken['bad'].items():
        assert by_path[path][1] == [split]
    assert 'file truncated' in by_path[broken['bad']['train']][0]
    assert 'cannot decode' in by_path[broken['bad']['test']][0]
    listed = read_exclude_file(str(out), broken['root'])
    assert set(listed) == {str(Path(p).resolve()) for p in broken['bad'].values()}
    assert all(not line.startswith('/') for line in out.read_text().splitlines()
               if not line.startswith('#'))  # relative to data_root


def test_the_datasets_accept_the_list(broken, repo_root, tmp_path):
    cfg = _config(repo_root, broken['root'])
    check_dataset(cfg, splits=['train', 'val', 'test'], workers=0, progress=False)
    assert (Path(broken['root']) / 'exclude.txt').is_file()  # default: <data_root>/exclude.txt
    from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
    for split in ('train', 'val', 'test'):  # default bad_files='error' builds with the list
        ds = SIIMPneumothoraxDataset(data_root=broken['root'], pipeline=[], split=split,
                                     split_ratios=SPLITS, exclude_file='exclude.txt')
        paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
        assert broken['bad'][split] not in paths
        assert ds.metainfo['bad_files']['skipped'] == 1
