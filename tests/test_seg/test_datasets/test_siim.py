"""SIIMPneumothoraxDataset on the nested DICOM tree, the stage-2 CSV and the PNG layout."""
import os
import pickle

import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401
from mmchest.data_root import DatasetNotFoundError
from mmchest.io.rle import RLEError
from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
from mmchest.synthetic import siim_cases, write_siim, write_siim_png

NUM = 12


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')  # as the runner does for mmseg configs


@pytest.fixture(scope='module')
def siim_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    info = write_siim(root, num_train=NUM, num_test=3, size=64, seed=0)
    return info


def _masks():
    return {c.case_id: c.sample.mask for c in siim_cases(NUM, 3, size=64, seed=0)
            if c.split == 'train'}


def test_reads_nested_dicom_tree_and_stage1_csv(siim_root):
    ds = SIIMPneumothoraxDataset(data_root=siim_root['root'], pipeline=[])
    assert len(ds) == NUM
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('.dcm') and os.path.isfile(info['img_path'])
    assert info['img_path'].count(os.sep) - siim_root['root'].count(os.sep) == 4  # nested
    assert set(info) >= {'img_path', 'image_id', 'rle', 'rle_rows', 'label_map',
                         'reduce_zero_label', 'seg_fields', 'has_lesion'}
    assert info['seg_fields'] == []
    assert int(ds.get_positive_flags().sum()) == siim_root['positives']
    pickle.dumps(ds.data_list if hasattr(ds, 'data_list') else ds)  # plain entries
    assert all(isinstance(r, str) for i in range(len(ds)) for r in ds.get_data_info(i)['rle'])


def test_stage2_csv_gives_same_entries(siim_root):
    a = SIIMPneumothoraxDataset(data_root=siim_root['root'], pipeline=[])
    b = SIIMPneumothoraxDataset(data_root=siim_root['root'], ann_file='stage_2_train.csv',
                                pipeline=[])
    key = lambda d: (d['image_id'], tuple(d['rle']))  # noqa: E731
    assert sorted(key(a.get_data_info(i)) for i in range(len(a))) == \
        sorted(key(b.get_data_info(i)) for i in range(len(b)))


def test_pipeline_masks_match_generator(siim_root):
    ds = SIIMPneumothoraxDataset(
        data_root=siim_root['root'],
        pipeline=[dict(type='LoadDicomImageFromFile'), dict(type='LoadRLEMask')])
    truth = _masks()
    multi_row = 0
    for i in range(len(ds)):
        out = ds[i]
        np.testing.assert_array_equal(out['gt_seg_map'], truth[out['image_id']])
        assert out['img'].shape[:2] == out['gt_seg_map'].shape
        assert 'gt_seg_map' in out['seg_fields']
        multi_row += len(out['rle']) > 1
    assert sum(m.any() for m in truth.values()) > 0


def test_missing_images_skip_or_error(tmp_path):
    info = write_siim(tmp_path, num_train=6, num_test=0, size=64, seed=1)
    ds_all = SIIMPneumothoraxDataset(data_root=info['root'], pipeline=[])
    os.remove(ds_all.get_data_info(0)['img_path'])
    ds = SIIMPneumothoraxDataset(data_root=info['root'], pipeline=[], missing='skip')
    assert len(ds) == 5
    assert ds.missing_report['labelled_but_missing_image'] == 1
    with pytest.raises(FileNotFoundError, match='1 labelled image'):
        SIIMPneumothoraxDataset(data_root=info['root'], pipeline=[], missing='error')


def test_seeded_stratified_split(siim_root):
    kw = dict(data_root=siim_root['root'], pipeline=[], split_ratios=dict(train=0.75, val=0.25))
    tr = SIIMPneumothoraxDataset(split='train', **kw)
    va = SIIMPneumothoraxDataset(split='val', **kw)
    ids = lambda d: {d.get_data_info(i)['image_id'] for i in range(len(d))}  # noqa: E731
    assert not ids(tr) & ids(va)
    assert len(ids(tr) | ids(va)) == NUM
    assert va.get_positive_flags().any() and (~va.get_positive_flags()).any()
    assert ids(va) == ids(SIIMPneumothoraxDataset(split='val', **kw))  # deterministic


def test_split_file(siim_root, tmp_path):
    keep = siim_root['train'][:4]
    split = tmp_path / 'val.txt'
    split.write_text('\n'.join(keep) + '\n')
    ds = SIIMPneumothoraxDataset(data_root=siim_root['root'], pipeline=[],
                                 split_file=str(split))
    assert sorted(ds.get_data_info(i)['image_id'] for i in range(len(ds))) == sorted(keep)


def test_png_layout(tmp_path):
    info = write_siim_png(tmp_path, num_train=6, num_test=2, size=64, seed=0)
    ds = SIIMPneumothoraxDataset(
        data_root=info['root'], layout='png',
        pipeline=[dict(type='LoadDicomImageFromFile'), dict(type='LoadRLEMask')])
    assert len(ds) >= 1
    out = ds[0]
    assert out['img_path'].endswith('.png') and out['gt_seg_map'].dtype == np.uint8
    assert set(np.unique(out['gt_seg_map'])) <= {0, 1}
    assert len(ds.get_positive_flags()) == len(ds)


def test_missing_data_root_is_one_clear_line(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        SIIMPneumothoraxDataset(data_root=str(tmp_path / 'nowhere'), pipeline=[])
    msg = str(err.value)
    assert 'datasets/siim/README.md' in msg and 'make_synthetic_data.py' in msg
    assert '\n' not in msg


def test_malformed_csv_row_names_line(tmp_path, siim_root):
    bad = tmp_path / 'bad.csv'
    bad.write_text('ImageId, EncodedPixels\n'
                   f'{siim_root["train"][0]}, -1\n'
                   f'{siim_root["train"][1]}, 5 3 7\n')
    with pytest.raises(RLEError, match='line 3') as err:
        SIIMPneumothoraxDataset(data_root=siim_root['root'], ann_file=str(bad), pipeline=[])
    assert siim_root['train'][1] in str(err.value)


@pytest.mark.parametrize('config', ['configs/unet_siim.py', 'configs/demo/unet_siim_synthetic.py'])
def test_config_train_pipeline_runs_on_synthetic_dicoms(siim_root, repo_root, config):
    """The configs' own augmentation pipelines run on real-format samples (many draws)."""
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(str(repo_root / config))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = siim_root['root']
    ds = DATASETS.build(ds_cfg)
    np.random.seed(0)
    for i in range(3 * len(ds)):
        out = ds[i % len(ds)]
        img, seg = out['inputs'], out['data_samples'].gt_sem_seg.data
        assert img.shape[1:] == seg.shape[1:]
