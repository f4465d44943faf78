from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401
from mmchest.data_root import DatasetNotFoundError

REPO = Path(__file__).resolve().parents[2]


def load(name):
    return Config.fromfile(str(REPO / 'configs' / name))


def find(pipeline, type_):
    return [t for t in pipeline if t['type'] == type_]


@pytest.mark.parametrize('name', ['mask_rcnn_rsna.py', 'faster_rcnn_rsna.py'])
def test_gpu_configs(name):
    cfg = load(name)
    assert cfg.model.roi_head.bbox_head.num_classes == 1
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='torchvision://resnet50')
    assert cfg.val_evaluator.type == 'RSNAMetric' and cfg.test_evaluator.type == 'RSNAMetric'
    splits = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert ds.type == 'RSNAPneumoniaDataset'
        assert ds.data_root == 'datasets/rsna'
        assert ds.metainfo == dict(classes=('pneumonia', ))
        assert find(ds.pipeline, 'Resize')[0]['scale'] == (512, 512)
        assert find(ds.pipeline, 'LoadDicomImageFromFile')
        meta = find(ds.pipeline, 'PackDetInputs')[0]['meta_keys']
        assert {'view_position', 'class_label'} <= set(meta)
        splits.append(ds.split)
        assert ds.split_seed == cfg.train_dataloader.dataset.split_seed
    assert splits == ['train', 'val', 'test']
    assert cfg.val_dataloader.dataset.test_mode and cfg.test_dataloader.dataset.test_mode
    with_mask = find(cfg.train_dataloader.dataset.pipeline, 'LoadAnnotations')[0].get(
        'with_mask', False)
    if name.startswith('mask'):
        assert cfg.model.roi_head.mask_head.num_classes == 1 and with_mask
    else:
        assert 'mask_head' not in cfg.model.roi_head and not with_mask


def test_demo_config_is_cpu_sized():
    cfg = load('demo/mask_rcnn_rsna_synthetic.py')
    assert cfg.model.backbone.init_cfg is None
    assert cfg.model.roi_head.mask_head.num_classes == 1
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert ds.data_root == 'datasets/synthetic/rsna'
        assert find(ds.pipeline, 'Resize')[0]['scale'] == (256, 256)
    assert cfg.test_dataloader.dataset.split == 'test'


def test_missing_data_root_is_a_clear_error(tmp_path):
    from mmdet.registry import DATASETS
    cfg = load('mask_rcnn_rsna.py')
    init_default_scope('mmdet')
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = str(tmp_path / 'rsna')
    with pytest.raises(DatasetNotFoundError, match='datasets/rsna/README.md'):
        DATASETS.build(ds_cfg)
