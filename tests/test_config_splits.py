"""Every SIIM, RSNA (detection and classification) and multi-expert config holds out a test
split: its train/val/test datasets, built on synthetic downloads, are non-empty and share no
image (and, for the multi-expert seeded split, no patient)."""
import json
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401  registers the datasets
from mmchest.synthetic import write_multi_expert, write_rsna, write_siim, write_siim_png

REPO = Path(__file__).resolve().parents[1]
ALL = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
ALL += sorted((REPO / 'projects').rglob('configs/*.py'))
SPLITS = ('train', 'val', 'test')
TYPES = ('SIIMPneumothoraxDataset', 'RSNAPneumoniaDataset', 'MultiExpertPneumoniaDataset',
         'RSNAClassificationDataset')


def _dataset_type(path):
    return Config.fromfile(str(path)).train_dataloader.dataset.type


CONFIGS = [p for p in ALL if _dataset_type(p) in TYPES]


def test_every_dataset_config_is_covered():
    names = {str(p.relative_to(REPO)) for p in CONFIGS}
    assert {'configs/unet_siim.py', 'configs/unet_resnet50_siim.py',
            'configs/unet_seresnext50_siim.py', 'configs/mask_rcnn_rsna.py',
            'configs/faster_rcnn_rsna.py', 'configs/demo/unet_siim_synthetic.py',
            'configs/demo/mask_rcnn_rsna_synthetic.py',
            'configs/unet_multi_expert_pneumonia.py'} <= names
    for project in ('siim_unet', 'chest_image_pneum_unet', 'rsna_mask_rcnn'):
        assert any(f'projects/{project}/' in n for n in names), project


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """Synthetic downloads, 40 labelled images (or studies) each, 64 px."""
    tmp = tmp_path_factory.mktemp('downloads')
    return dict(siim=write_siim(tmp, 40, 0, size=64, seed=5)['root'],
                siim_png=write_siim_png(tmp, 40, 2, size=64, seed=5)['root'],
                rsna=write_rsna(tmp, 40, 0, size=64, seed=5)['root'],
                multi_expert=write_multi_expert(tmp, 20, 20, size=64, seed=5)['root'])


def _root_for(ds_cfg, roots):
    if ds_cfg.type == 'SIIMPneumothoraxDataset':
        return roots['siim_png' if ds_cfg.get('layout') == 'png' else 'siim']
    return roots['multi_expert' if ds_cfg.type == 'MultiExpertPneumoniaDataset' else 'rsna']


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_test_split_is_held_out(path, roots):
    cfg = Config.fromfile(str(path))
    init_default_scope(cfg.default_scope)
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['DATASETS']).DATASETS
    images, datasets = {}, {}
    for split in SPLITS:
        ds_cfg = cfg[f'{split}_dataloader'].dataset.copy()
        assert ds_cfg.get('split') == split, f'{split}_dataloader reads split {ds_cfg.split!r}'
        ds_cfg.update(data_root=_root_for(ds_cfg, roots), pipeline=[])
        ds = registry.build(ds_cfg)
        images[split] = {ds.get_data_info(i)['img_path'] for i in range(len(ds))}
        datasets[split] = ds
        assert images[split], f'{split} split is empty'
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        shared = images[a] & images[b]
        assert not shared, f'{a} and {b} share {len(shared)} image(s), e.g. {min(shared)}'
    if cfg.train_dataloader.dataset.type == 'MultiExpertPneumoniaDataset' and \
            cfg.train_dataloader.dataset.ann_file is None:
        assert all('seeded patient-grouped split' in ds.split_description
                   for ds in datasets.values())
        where = {ds.get_data_info(i)['study']: split for split, ds in datasets.items()
                 for i in range(len(ds))}
        groups = json.loads(Path(roots['multi_expert'], 'masks/dup_list.json').read_text())
        assert groups
        for members in groups.values():  # one patient, one split
            assert len({where.get(f'pneumonia/{i}') for i in members} - {None}) == 1
