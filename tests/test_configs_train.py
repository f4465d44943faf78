"""Every config in configs/ (demos included) and projects/*/configs/ trains two iterations.

One smoke override (:func:`smoke_cfg`) shrinks a real config the way mmdet's testing helpers
shrink theirs (``mmdet/testing/_utils.py``): 64 px inputs, batch 1, no worker processes, two
training iterations then a validation pass on two images, no checkpoints, no pretrained
weights (nothing can be downloaded), the work dir in ``tmp_path`` and the data roots on tiny
synthetic downloads written once per module with :mod:`mmchest.synthetic`. Model, losses,
pipelines, sampler, optimizer, schedulers, hooks and evaluators stay the config's own. The
runner is mmengine's ``Runner.from_cfg``, in-process, as ``mim train`` builds it.
"""
import math
import time
import uuid
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import mmchest  # noqa: F401  registers the datasets, transforms, models, hooks
from mmchest.synthetic import write_multi_expert, write_rsna, write_siim, write_siim_png
from mmchest.weights.offline import without_pretrained

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
CONFIGS += sorted((REPO / 'projects').glob('*/configs/*.py'))
SIZE = 64  # synthetic images and every input scale / crop of the smoke runs
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: the synthetic download that stands in for each dataset type's real one
DOWNLOAD = {'SIIMPneumothoraxDataset': 'siim', 'RSNAPneumoniaDataset': 'rsna',
            'RSNAClassificationDataset': 'rsna', 'MultiExpertPneumoniaDataset': 'multi_expert'}
#: per host: the model's key that pads batches to a fixed size (None: the host has none)
PAD_SIZE_KEY = {'mmseg': 'size', 'mmdet': None, 'mmpretrain': None}


@pytest.fixture(scope='module')
def downloads(tmp_path_factory):
    """Synthetic downloads of every layout the configs read, 64 px."""
    tmp = tmp_path_factory.mktemp('downloads')
    return dict(siim=write_siim(tmp, 24, 0, size=SIZE, seed=3)['root'],
                siim_png=write_siim_png(tmp, 24, 2, size=SIZE, seed=3)['root'],
                rsna=write_rsna(tmp, 24, 0, size=SIZE, seed=3)['root'],
                multi_expert=write_multi_expert(tmp, 12, 12, size=SIZE, seed=3)['root'])


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads run tiny convolutions ~10x
    slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _small(value):
    """An input scale or crop size shrunk to SIZE, in the form it was written."""
    if isinstance(value, int):
        return SIZE
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return type(value)(SIZE for _ in value)
    if isinstance(value, (list, tuple)):  # a list of scales
        return type(value)(_small(v) for v in value)
    return value


def _shrink_pipeline(pipeline):
    """Every ``scale`` / ``crop_size`` of the pipeline (TestTimeAug branches too) at SIZE."""
    out = []
    for t in pipeline:
        t = dict(t)
        for key in ('scale', 'crop_size'):
            if key in t:
                t[key] = _small(t[key])
        if t.get('type') == 'TestTimeAug':
            t['transforms'] = [_shrink_pipeline(step) for step in t['transforms']]
        out.append(t)
    return out


def smoke_cfg(cfg: Config, downloads: dict, work_dir: Path) -> Config:
    """The shared smoke override: ``cfg`` shrunk to two training iterations on synthetic data.

    Args:
        cfg (Config): a config as ``Config.fromfile`` loads it (changed in place).
        downloads (dict): synthetic download roots by layout (``siim``, ``siim_png``,
            ``rsna``, ``multi_expert``).
        work_dir (Path): where the runner writes.

    Returns:
        Config: ``cfg``.
    """
    scope = cfg.default_scope
    assert scope in PAD_SIZE_KEY, f'no smoke override for default_scope={scope!r}'
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'smoke_{uuid.uuid4().hex[:8]}'  # one logger/message hub per run
    cfg.load_from, cfg.resume = None, False
    cfg.model = without_pretrained(cfg.model.to_dict())
    pad_key = PAD_SIZE_KEY[scope]
    if pad_key and cfg.model.get('data_preprocessor', {}).get(pad_key):
        cfg.model.data_preprocessor[pad_key] = (SIZE, SIZE)
    epoch_based = cfg.train_cfg.get('type') == 'EpochBasedTrainLoop' or \
        cfg.train_cfg.get('by_epoch', False)
    for loader in LOADERS:
        dl = cfg[loader]
        dl.update(batch_size=1, num_workers=0, persistent_workers=False)
        ds = dl.dataset
        layout = DOWNLOAD[ds.type]
        if layout == 'siim' and ds.get('layout') == 'png':
            layout = 'siim_png'
        ds.data_root = str(downloads[layout])
        ds.pipeline = _shrink_pipeline(ds.pipeline)
        # two images a validation pass; an epoch of two training iterations
        if loader != 'train_dataloader' or epoch_based:
            ds.indices = 2
    if epoch_based:
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
    else:
        cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint = None  # nothing written but the log
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


def test_every_config_is_collected():
    names = {str(p.relative_to(REPO)) for p in CONFIGS}
    assert {'configs/unet_siim.py', 'configs/mask_rcnn_rsna.py',
            'configs/demo/unet_siim_synthetic.py', 'configs/demo/mask_rcnn_rsna_synthetic.py',
            'configs/demo/unet_multi_expert_pneumonia_synthetic.py'} <= names
    for project in ('siim_unet', 'chest_image_pneum_unet', 'rsna_mask_rcnn'):
        assert any(n.startswith(f'projects/{project}/configs/') for n in names), project


def test_smoke_override_shrinks_without_touching_the_recipe(downloads, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs/mask_rcnn_rsna.py'))
    before = cfg.to_dict()
    smoke_cfg(cfg, downloads, tmp_path)
    assert cfg.model.backbone.init_cfg is None and cfg.load_from is None
    assert cfg.train_cfg.max_epochs == 1 and cfg.train_dataloader.dataset.indices == 2
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'Resize']
    assert resize[0]['scale'] == (SIZE, SIZE) and resize[0]['keep_ratio'] is True
    steps = [t['type'] for t in before['test_dataloader']['dataset']['pipeline']]
    assert [t['type'] for t in cfg.test_dataloader.dataset.pipeline] == steps
    assert cfg.optim_wrapper == before['optim_wrapper']
    assert cfg.param_scheduler == before['param_scheduler']
    assert cfg.model.roi_head == before['model']['roi_head']


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_trains_two_iterations(path, downloads, tmp_path, record_property):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    start = time.perf_counter()
    cfg = smoke_cfg(Config.fromfile(str(path)), downloads, tmp_path / 'work')
    init_default_scope(cfg.default_scope)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    assert runner.iter == 2
    loss = hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0, loss
    metrics = [k for k in hub.log_scalars if k.startswith('val/')] + \
        [k for k in hub.runtime_info if k.startswith('val/')]
    assert metrics, 'the validation pass reported no metric'
    assert not list((tmp_path / 'work').rglob('*.pth'))
    record_property('seconds', round(time.perf_counter() - start, 1))
