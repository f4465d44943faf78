"""The entry config, unchanged, trains a few iterations on the synthetic SIIM download.

Only data_root, the schedule and the (download-only) pretrained weights are overridden, as the
SIIM issue's done-criterion asks: `mim train mmseg configs/unet_siim.py --cfg-options ...`.
"""
from mmchest.synthetic import write_siim


def test_unet_siim_runs_from_the_command_line(tmp_path, cli, repo_root):
    info = write_siim(tmp_path / 'data', num_train=10, num_test=0, size=64, seed=4)
    root, work = info['root'], tmp_path / 'work'
    cli(['mim', 'train', 'mmseg', repo_root / 'configs/unet_siim.py', '--work-dir', work,
         '--cfg-options', f'train_dataloader.dataset.data_root={root}',
         f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}',
         'model.backbone.init_cfg=None', 'train_dataloader.batch_size=2',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2', 'param_scheduler=[]'])
    assert (work / 'iter_2.pth').is_file()
