"""Model-only training throughput: the ceiling end-to-end training is compared against.

Builds the model and the optimizer wrapper of a training config, runs the config's training
pipeline once on ``--batch`` images of ``--data-root`` to make one real batch (the same
inputs and labels a dataloader would give), moves it to ``--device`` once, and then times
``model.train_step`` (data preprocessor, forward, loss, backward, optimizer step) on that
same batch: no data loading, no host-to-device copies. ``--precision`` picks fp32, bf16 or
fp16 (mmengine's ``AmpOptimWrapper``, as ``--amp`` / the documented bf16 switch set it).

Prints one JSON line: images/s, ms per iteration, peak memory, the last loss.

Usage::

    python benchmarks/model_throughput.py configs/unet_siim.py --data-root DIR --batch 16 \\
        [--precision bf16] [--iters 50] [--warmup 10] [--channels-last] \\
        [--cudnn-benchmark {config,on,off}] [--device cuda] [--cfg-options K=V ...]

On a machine without a GPU, ``--device cpu`` runs the same steps (mmengine refuses to build
its AmpOptimWrapper without a GPU; for a CPU dry run the script lifts that check, and
``--no-autocast`` keeps the wrapper but not the casting, for the R-CNN).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mmchest  # noqa: E402,F401

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root', required=True, help='data root of all three loaders')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--precision', choices=('fp32', 'bf16', 'fp16'), default='fp32')
    p.add_argument('--iters', type=int, default=50, help='timed iterations')
    p.add_argument('--warmup', type=int, default=10, help='untimed iterations first')
    p.add_argument('--device', default='cuda')
    p.add_argument('--channels-last', action='store_true',
                   help='model weights (and so the convolutions) in channels_last memory format')
    p.add_argument('--cudnn-benchmark', choices=('config', 'on', 'off'), default='config',
                   help="torch.backends.cudnn.benchmark: the config's env_cfg, or forced")
    p.add_argument('--no-autocast', action='store_true',
                   help='AmpOptimWrapper without casting (the CPU dry run of an R-CNN: mmcv\'s '
                   'CPU RoIAlign has no fp16/bf16 kernel, mmengine autocasts the CPU to bf16 only)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return p.parse_args(argv)


def amp_optim_wrapper(cfg: Config, precision: str) -> None:
    """Set ``cfg.optim_wrapper`` as mmseg/mmdet's ``--amp`` (fp16) or the bf16 switch do."""
    if precision == 'fp32':
        return
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.optim_wrapper.dtype = {'bf16': 'bfloat16', 'fp16': 'float16'}[precision]


@contextlib.contextmanager
def cpu_dry_run(use_amp: bool, cast: bool):
    """On the CPU: let mmengine build its AmpOptimWrapper (it asserts a GPU), and without
    ``cast`` make the autocast it enters a no-op. Undone on exit."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    from mmengine.runner import amp
    saved = amp_optimizer_wrapper.is_cuda_available, amp.autocast
    if use_amp:
        amp_optimizer_wrapper.is_cuda_available = lambda: True
        if not cast:
            amp.autocast = lambda **kwargs: contextlib.nullcontext()
    try:
        yield
    finally:
        amp_optimizer_wrapper.is_cuda_available, amp.autocast = saved


def one_batch(cfg: Config, batch: int, device: torch.device) -> dict:
    """``batch`` samples through the config's training pipeline, collated, on ``device``."""
    from mmengine.registry import DATASETS
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) == 0:
        raise SystemExit(f'no training images under {cfg.train_dataloader.dataset.data_root}')
    data = pseudo_collate([dataset[i % len(dataset)] for i in range(batch)])
    data['inputs'] = [x.to(device) for x in data['inputs']]
    data['data_samples'] = [s.to(device) for s in data['data_samples']]
    return data


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    for loader in LOADERS:
        cfg[loader].dataset.data_root = args.data_root
    amp_optim_wrapper(cfg, args.precision)
    init_default_scope(cfg.default_scope)
    device = torch.device(args.device)
    benchmark = {'config': cfg.get('env_cfg', {}).get('cudnn_benchmark', False),
                 'on': True, 'off': False}[args.cudnn_benchmark]
    torch.backends.cudnn.benchmark = bool(benchmark)
    if device.type == 'cpu':
        dry = cpu_dry_run(args.precision != 'fp32', not args.no_autocast)
    else:
        dry = contextlib.nullcontext()
    with dry:
        result = measure(args, cfg, device)
    result.update(cudnn_benchmark=bool(benchmark))
    print(json.dumps(result))
    return result


def measure(args, cfg: Config, device: torch.device) -> dict:
    """Build, make the batch, warm up, time ``args.iters`` train steps."""
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    torch.manual_seed(0)
    model = revert_sync_batchnorm(registry.build(cfg.model)).to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = one_batch(cfg, args.batch, device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    for _ in range(args.warmup):
        model.train_step(data, optim_wrapper)
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.iters):
        log_vars = model.train_step(data, optim_wrapper)
    sync()
    elapsed = time.perf_counter() - start
    result = dict(
        config=args.config, device=str(device),
        device_name=(torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'),
        precision=args.precision, batch=args.batch, channels_last=args.channels_last,
        iters=args.iters, ms_per_iter=round(1e3 * elapsed / args.iters, 3),
        images_per_s=round(args.batch * args.iters / elapsed, 2),
        peak_memory_mb=(round(torch.cuda.max_memory_allocated(device) / 2**20)
                        if device.type == 'cuda' else None),
        loss=round(torch.as_tensor(log_vars['loss']).detach().float().item(), 5),
        input_shape=list(data['inputs'][0].shape))
    del model, optim_wrapper, data
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return result


if __name__ == '__main__':
    main()
