"""TensorBoard logging (mmengine's TensorboardVisBackend): `mim train` with the documented
config snippet writes event files that hold the training loss (docs/deploy.md).

The snippet goes into the body of a config (a `_base_` file cannot carry it: mmengine refuses
a key, here `visualizer`, that two bases define, and default_runtime.py defines it; checked
below), and `--cfg-options` cannot write the list of dicts.
"""
from pathlib import Path

import pytest

from mmchest import synthetic

REPO = Path(__file__).resolve().parents[2]
SNIPPET = """
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='TensorboardVisBackend')])
"""


def _scalars(event_file: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(event_file), size_guidance={'scalars': 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()['scalars']}


def test_mim_train_writes_tensorboard_events(tmp_path, cli):
    root = synthetic.write_siim(tmp_path / 'data', num_train=12, num_test=0, size=64,
                                seed=4)['root']
    config = tmp_path / 'unet_siim_synthetic_tensorboard.py'
    config.write_text(f"_base_ = ['{REPO / 'configs/demo/unet_siim_synthetic.py'}']\n"
                      + SNIPPET)
    work = tmp_path / 'work'
    options = ['train_cfg.max_iters=2', 'train_cfg.val_interval=100',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=100',
               'train_dataloader.batch_size=2']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={root}', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    cli(['mim', 'train', 'mmseg', config, '--work-dir', work, '--cfg-options', *options])
    events = sorted(work.glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1, sorted(p.relative_to(work) for p in work.rglob('*'))
    scalars = _scalars(events[0])
    assert [step for step, _ in scalars['loss']] == [1, 2]
    assert all(value > 0 for _, value in scalars['loss'])
    assert 'lr' in scalars and any(tag.startswith('decode.') for tag in scalars)
    # LocalVisBackend still writes its scalars.json next to the events
    assert (events[0].parent / 'scalars.json').is_file()


@pytest.mark.parametrize('config,visualizer', [('configs/unet_siim.py', 'SegLocalVisualizer'),
                                               ('configs/mask_rcnn_rsna.py',
                                                'DetLocalVisualizer')])
def test_snippet_goes_in_the_config_body(tmp_path, config, visualizer):
    """Why the docs put the snippet in the config body: as a second `_base_` it collides
    with default_runtime.py's `visualizer`."""
    from mmengine.config import Config
    (tmp_path / 'tensorboard.py').write_text(SNIPPET)
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{REPO / config}', './tensorboard.py']\n")
    with pytest.raises(KeyError, match='visualizer'):
        Config.fromfile(str(child))
    body = tmp_path / 'body.py'
    body.write_text(f"_base_ = ['{REPO / config}']\n" + SNIPPET)
    cfg = Config.fromfile(str(body))
    assert cfg.visualizer.type == visualizer  # merged into the base's visualizer
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                               'TensorboardVisBackend']
