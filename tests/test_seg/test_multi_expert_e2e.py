"""Multi-expert configs: every one loads and builds; the CPU demo config runs `mim train`
(2 iterations) and `mim test`, reporting model-vs-expert next to expert-vs-expert Dice."""
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('mmseg')
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmchest.seg.datasets.multi_expert_pneumonia import SplitLeakWarning  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ['configs/unet_multi_expert_pneumonia.py', 'configs/unet_multi_expert_pneumonia_lat.py',
           'configs/demo/unet_multi_expert_pneumonia_synthetic.py']

CHILD = """
_base_ = [{base!r}]
_ds = dict(data_root={root!r})
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=_ds)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=_ds)
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
"""


def write_tiny_set(root: Path, n: int = 6, size=(24, 32), seed: int = 0) -> Path:
    """n pneumonia + n normal studies (ids repeat across classes), both views, 3 experts
    (png/npz mix, lesion edges differ by expert), indices.json with a leaking dup group."""
    rng = np.random.default_rng(seed)
    h, w = size
    for cls in ('pneumonia', 'norma'):
        for i in range(1, n + 1):
            for view in ('pa', 'lat'):
                img = rng.integers(20, 60, size=(h, w)).astype(np.uint8)
                stem = f'{i}_{view}'
                if cls == 'pneumonia':
                    y, x = rng.integers(4, h - 10), rng.integers(4, w - 12)
                    img[y:y + 6, x:x + 8] += 120
                    for k in (1, 2, 3):
                        mask = np.zeros((h, w), np.uint8)
                        mask[y:y + 6, x + k - 2:x + 8 + k - 2] = 1  # shifted edges
                        out = root / 'masks' / f'expert{k}'
                        out.mkdir(parents=True, exist_ok=True)
                        if (i + k) % 2:
                            cv2.imwrite(str(out / f'{stem}.png'), mask)
                        else:
                            np.savez_compressed(out / f'{stem}.npz', mask=mask)
                (root / 'images' / cls).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / 'images' / cls / f'{stem}.png'), img)
    ids = list(range(1, n + 1))
    third = n // 3
    split = {'train': {'pneumonia': ids[:third], 'norma': ids[:third]},
             'val': {'pneumonia': ids[third:2 * third], 'norma': ids[third:2 * third]},
             'test': {'pneumonia': ids[2 * third:], 'norma': ids[2 * third:]}}
    (root / 'indices.json').write_text(json.dumps(split))
    # one patient in train + val, another in val + test: every split leaks
    groups = {'case_1': [ids[0], ids[third]], 'case_2': [ids[third + 1], ids[2 * third]]}
    (root / 'masks' / 'dup_list.json').write_text(json.dumps(groups))
    return root


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_and_builds(config, tmp_path):
    from mmseg.registry import DATASETS, METRICS, MODELS

    import mmchest.seg  # noqa: F401  registers the classes
    cfg = Config.fromfile(REPO / config)
    assert cfg.custom_imports['imports'] == ['mmchest.seg']
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert model.decode_head.num_classes == 2 and not model.with_auxiliary_head
    root = write_tiny_set(tmp_path / 'mep')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds_cfg = cfg[name].dataset.copy()
        ds_cfg.data_root = str(root)
        if 'synthetic' in config:  # the demo pins the set's indices.json (it leaks)
            assert ds_cfg.ann_file == 'indices.json'
            with pytest.warns(UserWarning, match='same-patient'):
                ds = DATASETS.build(ds_cfg)
        else:  # the seeded patient-grouped split: indices.json is ignored, nothing leaks
            assert ds_cfg.ann_file is None
            with warnings.catch_warnings():
                warnings.simplefilter('error', SplitLeakWarning)
                ds = DATASETS.build(ds_cfg)
            assert 'seeded patient-grouped split' in ds.split_description
        views = {ds.get_data_info(i)['view'] for i in range(len(ds))}
        expected = {'lat'} if config.endswith('_lat.py') else (
            {'pa', 'lat'} if 'synthetic' in config else {'pa'})
        assert views == expected
        sample = ds[0]
        if name == 'train_dataloader':  # mask cropped/resized with the image
            assert sample['data_samples'].gt_sem_seg.data.shape[-2:] == \
                sample['inputs'].shape[-2:]
        else:  # what the metric needs to read every expert's mask
            assert set(sample['data_samples'].expert_mask_paths) == {
                'expert1', 'expert2', 'expert3'}
            assert sample['data_samples'].view in ('pa', 'lat')
    assert METRICS.build(cfg.val_evaluator).fusion == 'majority'


def test_demo_config_mim_train_and_test(tmp_path, cli):
    root = write_tiny_set(tmp_path / 'mep')
    cfg = tmp_path / 'tiny_mep.py'
    cfg.write_text(CHILD.format(base=str(REPO / CONFIGS[2]), root=str(root)))
    work = tmp_path / 'work'
    out = cli(['mim', 'train', 'mmseg', cfg, '--work-dir', work]).stdout
    assert 'same-patient group' in out
    assert (work / 'iter_2.pth').is_file()
    out = cli(['mim', 'test', 'mmseg', cfg, '--checkpoint', work / 'iter_2.pth',
               '--work-dir', work]).stdout
    assert 'other experts Dice' in out  # the side-by-side table
    metrics = json.loads(sorted(work.glob('*/*.json'))[-1].read_text())
    for key in ('dice_majority', 'dice_expert1', 'dice_experts_mean', 'agreement_mean',
                'agreement_expert1_expert2', 'dice_majority_pa', 'dice_majority_lat',
                'agreement_mean_pneumonia'):
        assert 0.0 <= metrics[f'expert/{key}'] <= 1.0, key
    # hand-made masks: on pneumonia images experts 1-2 and 2-3 overlap 7/8 of a 6x8 box,
    # 1-3 6/8; normal images agree fully (empty vs empty)
    assert metrics['expert/agreement_expert1_expert2_pneumonia'] == pytest.approx(7 / 8)
    assert metrics['expert/agreement_expert1_expert3_pneumonia'] == pytest.approx(6 / 8)
    assert metrics['expert/agreement_expert1_expert3'] == pytest.approx((6 / 8 + 1) / 2)


def test_entry_config_trains_on_the_zenodo_download_as_published(tmp_path, cli):
    """images/ and masks/ (with dup_list.json) only, no indices.json: the entry config,
    unchanged but for data_root and the schedule, trains on the seeded patient-grouped split,
    says so in the log, and `mim test` reports its held-out test split."""
    from mmchest.synthetic import write_multi_expert
    root = write_multi_expert(tmp_path / 'data', 8, 8, size=64, seed=1)['root']
    Path(root, 'indices.json').unlink()
    assert sorted(p.name for p in Path(root).iterdir()) == ['images', 'masks']
    work = tmp_path / 'work'
    config = REPO / CONFIGS[0]
    loaders = [f'{n}_dataloader.{k}' for n in ('train', 'val', 'test')
               for k in ('num_workers=0', 'persistent_workers=False')]
    roots = [f'{n}_dataloader.dataset.data_root={root}' for n in ('train', 'val', 'test')]
    out = cli(['mim', 'train', 'mmseg', config, '--work-dir', work, '--cfg-options', *roots,
               *loaders, 'train_dataloader.batch_size=1', 'train_cfg.max_iters=1',
               'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
               'param_scheduler=[]']).stdout
    assert (work / 'iter_1.pth').is_file()
    for split in ('train', 'val'):
        assert (f"split '{split}': seeded patient-grouped split (seed 0, train/val/test = "
                '0.7/0.1/0.2') in out
    assert "NOT the authors' indices.json; scores are not comparable with the paper's" in out
    assert 'may be optimistic' not in out  # no SplitLeakWarning: grouped by patient
    out = cli(['mim', 'test', 'mmseg', config, '--checkpoint', work / 'iter_1.pth',
               '--work-dir', work, '--cfg-options', *roots, *loaders]).stdout
    assert "split 'test': seeded patient-grouped split" in out
    assert 'expert/dice_majority' in out


def _loss_on_two_samples(cfg, root, fusion):
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS, MODELS

    import mmchest  # noqa: F401
    init_default_scope('mmseg')
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.update(data_root=str(root), fusion=fusion, dup_list=None)
    ds = DATASETS.build(ds_cfg)
    pneumonia = [i for i in range(len(ds))
                 if ds.get_data_info(i)['image_class'] == 'pneumonia'][:2]
    batch = pseudo_collate([ds[i] for i in pneumonia])
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(batch, training=True)
    return model.loss(data['inputs'], data['data_samples']), data['data_samples']


def test_mean_fusion_trains_with_soft_vote_loss(tmp_path):
    root = write_tiny_set(tmp_path / 'mep')
    cfg = Config.fromfile(REPO / CONFIGS[2])
    cfg.model.decode_head.loss_decode = [dict(type='SoftVoteCrossEntropyLoss', num_votes=3)]
    losses, samples = _loss_on_two_samples(cfg, root, 'mean')
    votes = set(np.unique(samples[0].gt_sem_seg.data.numpy()).tolist())
    assert {0, 1, 2, 3} <= votes  # lesion edges marked by one or two of the three experts
    assert torch_isfinite(losses['decode.loss_soft_vote_ce'])
    # the default losses read vote counts as class labels and refuse them
    with pytest.raises(AssertionError, match='at most 2 classes'):
        _loss_on_two_samples(Config.fromfile(REPO / CONFIGS[2]), root, 'mean')
    losses, _ = _loss_on_two_samples(Config.fromfile(REPO / CONFIGS[2]), root, 'majority')
    assert {'decode.loss_ce', 'decode.loss_dice'} <= set(losses)


def torch_isfinite(value):
    import torch
    return bool(torch.isfinite(value).all())
