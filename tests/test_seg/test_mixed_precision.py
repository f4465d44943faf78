"""Mixed precision (issue 14 item 1): the documented bf16 switch of the U-Net configs,
``--cfg-options optim_wrapper.type=AmpOptimWrapper optim_wrapper.dtype=bfloat16``, trains
through mmengine's AmpOptimWrapper with the convolutions in bfloat16.

mmengine 0.10.7's AmpOptimWrapper refuses to be built without a GPU (an assertion on
``is_cuda_available``); torch autocasts to bfloat16 on the CPU as well, so the test lifts that
one check and runs two real iterations. The speed and the numerical sanity against fp32 are
GPU measurements (benchmarks/gpu_siim_throughput.sh).
"""
import math
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmchest  # noqa: F401
from mmchest import synthetic

REPO = Path(__file__).resolve().parents[2]
BF16 = {'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.dtype': 'bfloat16'}


def test_unet_siim_bf16_switch_trains(tmp_path, monkeypatch):
    root = synthetic.write_siim(tmp_path / 'data', num_train=12, num_test=0, size=64,
                                seed=3)['root']
    cfg = Config.fromfile(str(REPO / 'configs/unet_siim.py'))
    cfg.merge_from_dict(dict(BF16, **{
        'model.backbone.init_cfg': None,
        'model.data_preprocessor.size': (64, 64),
        'train_dataloader.dataset.pipeline.2.scale': (64, 64),
        'train_dataloader.dataset.pipeline.2.crop_size': (64, 64),
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 1000,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1000,
    }))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = root
    cfg.work_dir = str(tmp_path / 'work')
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    init_default_scope('mmseg')
    runner = Runner.from_cfg(cfg)

    seen = set()
    first_conv = runner.model.backbone.conv1
    # (validation after the last iteration runs in fp32, as mmengine's ValLoop does)
    first_conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype) if m.training else None)
    before = first_conv.weight.detach().clone()
    runner.train()

    assert isinstance(runner.optim_wrapper, AmpOptimWrapper)
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert seen == {torch.bfloat16}
    assert first_conv.weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(first_conv.weight, before)  # and were updated
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
