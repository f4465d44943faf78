"""End-to-end training throughput next to the model-only ceiling, fp32 against mixed precision.

Run by ``benchmarks/gpu_siim_throughput.sh`` (which installs the stack on the GPU machine and
writes the synthetic data first); it can also be run on its own. For each model
(``configs/unet_siim.py``, ``configs/mask_rcnn_rsna.py``), each precision (fp32, and the
model's mixed precision: bf16 for the U-Net through the documented
``--cfg-options optim_wrapper.type=AmpOptimWrapper optim_wrapper.dtype=bfloat16``, fp16 with
dynamic loss scaling for the R-CNN through ``--amp``, as mmcv 2.1.0's RoIAlign has no bf16
kernel) and each batch size:

1. end to end: the framework's own ``tools/train.py`` on a child config (``ITERS``
   iterations, iteration-based, the config's sampler and pipeline, seed 0, validation at the
   end); images/s = batch / mean iteration time after ``WARMUP`` iterations, the share of the
   iteration spent waiting for data, peak memory, the loss per logging window and the
   validation metric;
2. model only: ``benchmarks/model_throughput.py`` (in this process) with the same config,
   options, batch and precision (one batch moved to the device once, ``train_step`` in a
   loop); for the U-Net also with channels_last weights and with cudnn.benchmark off;

then writes ``summary.md``: the throughput table, e2e as a share of the model-only ceiling,
the checks of issue 14 (e2e >= 90 % of model-only, data wait < 5 %), and the numerical sanity
of mixed precision (loss windows side by side with fp32, same seed and data, and the metric).

``--dry-run`` does all of it on the CPU on a tiny set in a few minutes (64 px images, two
iterations), to check the script, not to measure: mmengine's AmpOptimWrapper refuses to be
built without a GPU, so the dry run lifts that check in the training processes, and the
R-CNN's "mixed precision" runs the AmpOptimWrapper without casting there (mmcv's CPU RoIAlign
has neither fp16 nor bf16 kernels, and mmengine autocasts the CPU to bf16 only).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'benchmarks'))

MODELS = {
    'siim': dict(config='configs/unet_siim.py', scope='mmseg', metric='siim/dice',
                 amp='bf16', data='siim'),
    'rsna': dict(config='configs/mask_rcnn_rsna.py', scope='mmdet', metric='rsna/mAP',
                 amp='fp16', data='rsna'),
}
#: issue 14: fp32 end-to-end images/s of configs/unet_siim.py at batch 8 on an H100 80GB
SIIM_FP32_H100 = 116.3

SIIM_CHILD = """_base_ = [{base!r}]
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
                        end={warm})]
default_hooks = dict(
    logger=dict(interval={log}),
    checkpoint=dict(interval={iters}, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
"""
RSNA_CHILD = """_base_ = [{base!r}]
# iteration-based (no epoch ends inside the timed windows), as the U-Net
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters},
                 val_interval={iters})
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
                        end={warm})]
default_hooks = dict(
    logger=dict(interval={log}, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval={iters}, save_best=None, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
"""
#: --cfg-options of the dry run: 64 px images, no pretrained weights
DRY_OPTIONS = {
    'siim': ['model.data_preprocessor.size=(64,64)',
             'train_dataloader.dataset.pipeline.2.scale=(64,64)',
             'train_dataloader.dataset.pipeline.2.crop_size=(64,64)',
             'val_dataloader.dataset.pipeline.1.scale=(64,64)'],
    'rsna': ['train_dataloader.dataset.pipeline.2.scale=(64,64)',
             'val_dataloader.dataset.pipeline.1.scale=(64,64)'],
}
#: run a framework tool with mmengine's "AMP needs a GPU" assertion lifted (dry run only);
#: NO_AUTOCAST=1 also makes the wrapper's autocast a no-op (the R-CNN on the CPU)
SHIM = ('import contextlib, os, runpy, sys\n'
        'from mmengine.optim.optimizer import amp_optimizer_wrapper as a\n'
        'a.is_cuda_available = lambda: True\n'
        'if os.environ.get("NO_AUTOCAST") == "1":\n'
        '    import mmengine.runner.amp as m\n'
        '    m.autocast = lambda **kwargs: contextlib.nullcontext()\n'
        'sys.argv = sys.argv[1:]\n'
        'runpy.run_path(sys.argv[0], run_name="__main__")\n')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--work', required=True, help='folder for logs, work dirs and summary.md')
    p.add_argument('--data', required=True, help='folder holding siim/ and rsna/')
    p.add_argument('--models', nargs='+', default=['siim', 'rsna'], choices=sorted(MODELS))
    p.add_argument('--batches-siim', nargs='+', type=int, default=[8, 32])
    p.add_argument('--batches-rsna', nargs='+', type=int, default=[8])
    p.add_argument('--workers', type=int, default=12)
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--warmup', type=int, default=50, help='iterations left out of timing')
    p.add_argument('--log-interval', type=int, default=10)
    p.add_argument('--model-only-iters', type=int, default=50)
    p.add_argument('--dry-run', action='store_true', help='CPU, tiny, to check the script')
    p.add_argument('--python', default=sys.executable)
    return p.parse_args(argv)


def train_script(scope: str) -> str:
    mod = __import__(scope)
    return str(Path(mod.__file__).parent / '.mim' / 'tools' / 'train.py')


def precision_args(name: str, precision: str, dry_run: bool) -> List[str]:
    """What a user types for each precision (the documented switches)."""
    if precision == 'fp32':
        return []
    if MODELS[name]['amp'] == 'bf16':
        return ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper',
                'optim_wrapper.dtype=bfloat16']
    # mmdet's --amp: AmpOptimWrapper, fp16, dynamic loss scale
    return ['--amp']


def run(cmd: List[str], log: Path, env: Optional[dict] = None) -> float:
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT,
                              env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        sys.stdout.write(log.read_text()[-6000:])
        raise SystemExit(f'failed ({proc.returncode}): {" ".join(map(str, cmd))}')
    return time.time() - start


def scalars(work_dir: Path) -> List[dict]:
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not files:
        raise SystemExit(f'no scalars.json under {work_dir}')
    return [json.loads(line) for line in files[-1].read_text().splitlines() if line.strip()]


def end_to_end(args, name: str, precision: str, batch: int) -> dict:
    spec = MODELS[name]
    tag = f'{name}_{precision}_b{batch}'
    child = Path(args.work) / f'{tag}.py'
    warm = max(1, min(50, args.iters // 5))
    template = SIIM_CHILD if name == 'siim' else RSNA_CHILD
    child.write_text(template.format(base=str(REPO / spec['config']), iters=args.iters,
                                     warm=warm, log=args.log_interval))
    wd = Path(args.work) / f'wd_{tag}'
    root = str(Path(args.data) / spec['data'])
    options = [f'{loader}_dataloader.dataset.data_root={root}'
               for loader in ('train', 'val', 'test')]
    options += ['model.backbone.init_cfg=None', f'train_dataloader.batch_size={batch}',
                f'train_dataloader.num_workers={args.workers}',
                f'train_dataloader.persistent_workers={args.workers > 0}']
    if args.dry_run:
        options += DRY_OPTIONS[name] + ['val_dataloader.num_workers=0',
                                        'val_dataloader.persistent_workers=False']
    prec = precision_args(name, precision, args.dry_run)
    if '--cfg-options' in prec:  # one --cfg-options list
        i = prec.index('--cfg-options')
        prec, options = prec[:i], options + prec[i + 1:]
    tool = train_script(spec['scope'])
    cmd = [tool, str(child), '--work-dir', str(wd), *prec, '--cfg-options', *options]
    cmd = ([args.python, '-c', SHIM] if args.dry_run and precision != 'fp32'
           else [args.python]) + cmd
    no_cast = args.dry_run and precision == 'fp16'
    wall = run(cmd, Path(args.work) / f'train_{tag}.log',
               {'NO_AUTOCAST': '1'} if no_cast else None)
    rows = scalars(wd)
    train = [r for r in rows if 'loss' in r and r.get('iter', 0) > args.warmup]
    if not train:
        train = [r for r in rows if 'loss' in r]
    t = statistics.mean(r['time'] for r in train)
    d = statistics.mean(r['data_time'] for r in train)
    val = [r for r in rows if spec['metric'] in r]
    return dict(model=name, precision=precision, batch=batch, workers=args.workers,
                s_per_iter=t, images_per_s=batch / t, data_share=d / t,
                memory_mb=max((r.get('memory', 0) for r in train), default=0),
                losses=[(r['iter'], r['loss']) for r in rows if 'loss' in r],
                metric=val[-1][spec['metric']] if val else None, wall_s=round(wall),
                options=options)


def model_only(args, name: str, precision: str, batch: int, options: List[str],
               extra: List[str] = ()) -> dict:
    """benchmarks/model_throughput.py in this process (one import of the stack for all)."""
    import model_throughput
    spec = MODELS[name]
    keep = [o for o in options if not o.startswith(('train_dataloader.num_workers',
                                                    'train_dataloader.persistent_workers'))
            and 'data_root' not in o and not o.startswith('optim_wrapper.')]
    if args.dry_run and precision == 'fp16':  # as the dry run's training (see above)
        extra = [*extra, '--no-autocast']
    argv = [spec['config'], '--data-root', str(Path(args.data) / spec['data']),
            '--batch', str(batch), '--precision', precision,
            '--iters', str(args.model_only_iters), '--warmup', str(1 if args.dry_run else 10),
            '--device', 'cpu' if args.dry_run else 'cuda', *extra, '--cfg-options', *keep]
    return model_throughput.main(argv)


def gpu_info(dry_run: bool) -> str:
    if dry_run:
        return 'dry run on the CPU (no GPU numbers)'
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name,memory.total,driver_version',
                              '--format=csv,noheader'], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = 'nvidia-smi not available'
    return f'{out}; {os.cpu_count()} CPUs'


def sanity(fp32: dict, amp: dict) -> str:
    """Loss windows of fp32 and mixed precision side by side, and the metric."""
    a, b = dict(fp32['losses']), dict(amp['losses'])
    common = sorted(set(a) & set(b))
    tail = common[-max(1, len(common) // 3):]
    mean_a = statistics.mean(a[i] for i in tail)
    mean_b = statistics.mean(b[i] for i in tail)
    lines = [f'- {fp32["model"]} batch {fp32["batch"]}: mean loss over the last '
             f'{len(tail)} logging windows {mean_a:.4f} (fp32) vs {mean_b:.4f} '
             f'({amp["precision"]}), relative difference {abs(mean_b - mean_a) / mean_a:.1%}; '
             f'validation metric {fp32["metric"]} vs {amp["metric"]}',
             '  iteration: ' + ', '.join(f'{i}: {a[i]:.3f}/{b[i]:.3f}'
                                        for i in common[::max(1, len(common) // 10)])]
    return '\n'.join(lines)


def main(argv=None) -> Path:
    args = parse_args(argv)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    rows: List[dict] = []
    by_key: Dict[tuple, dict] = {}
    for name in args.models:
        batches = args.batches_siim if name == 'siim' else args.batches_rsna
        for batch in batches:
            for precision in ('fp32', MODELS[name]['amp']):
                print(f'[gpu_throughput] {name} {precision} batch {batch}: end to end',
                      flush=True)
                e2e = end_to_end(args, name, precision, batch)
                print(f'[gpu_throughput] {name} {precision} batch {batch}: model only',
                      flush=True)
                mo = model_only(args, name, precision, batch, e2e['options'])
                e2e['model_only'] = mo
                if name == 'siim' and precision != 'fp32':  # the variants worth keeping?
                    e2e['variants'] = [
                        model_only(args, name, precision, batch, e2e['options'], [flag])
                        for flag in ('--channels-last',)] + [
                        model_only(args, name, precision, batch, e2e['options'],
                                   ['--cudnn-benchmark', 'off'])]
                rows.append(e2e)
                by_key[name, precision, batch] = e2e

    lines = [f'GPU: {gpu_info(args.dry_run)}',
             f'iterations {args.iters} (timed after {args.warmup}), loader workers '
             f'{args.workers}, model-only {args.model_only_iters} iterations', '',
             '| model | precision | batch | workers | e2e images/s | data wait % | '
             'model-only images/s | e2e / model-only | memory MB e2e | memory MB model-only '
             '| val metric |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        mo = r['model_only']
        lines.append(
            f'| {r["model"]} | {r["precision"]} | {r["batch"]} | {r["workers"]} | '
            f'{r["images_per_s"]:.1f} | {100 * r["data_share"]:.1f} | '
            f'{mo["images_per_s"]:.1f} | {r["images_per_s"] / mo["images_per_s"]:.0%} | '
            f'{r["memory_mb"]} | {mo["peak_memory_mb"]} | {r["metric"]} |')
    lines += ['', 'Model-only variants (U-Net, mixed precision):']
    for r in rows:
        for v in r.get('variants', []):
            lines.append(f'- batch {v["batch"]}, channels_last={v["channels_last"]}, '
                         f'cudnn.benchmark={v["cudnn_benchmark"]}: {v["images_per_s"]:.1f} '
                         f'images/s (default layout, cudnn.benchmark='
                         f'{r["model_only"]["cudnn_benchmark"]}: '
                         f'{r["model_only"]["images_per_s"]:.1f})')
    lines += ['', 'Checks (issue 14):']
    for r in rows:
        if r['precision'] == 'fp32':
            continue
        share = r['images_per_s'] / r['model_only']['images_per_s']
        lines.append(f'- {r["model"]} {r["precision"]} batch {r["batch"]}: e2e '
                     f'{share:.0%} of model-only (target >= 90%): '
                     f'{"ok" if share >= 0.9 else "MISSED"}; data wait '
                     f'{100 * r["data_share"]:.1f}% (target < 5%): '
                     f'{"ok" if r["data_share"] < 0.05 else "MISSED"}')
        if r['model'] == 'siim':
            lines.append(f'  SIIM U-Net {r["images_per_s"]:.1f} images/s = '
                         f'{r["images_per_s"] / SIIM_FP32_H100:.2f}x the fp32 figure of issue '
                         f'14 ({SIIM_FP32_H100} on an H100 80GB; target >= 3x on that class)')
    lines += ['', 'Mixed precision against fp32 (same seed and data):']
    for (name, precision, batch), amp in by_key.items():
        if precision != 'fp32' and (name, 'fp32', batch) in by_key:
            lines.append(sanity(by_key[name, 'fp32', batch], amp))
    summary = Path(args.work) / 'summary.md'
    summary.write_text('\n'.join(lines) + '\n')
    (Path(args.work) / 'results.json').write_text(json.dumps(rows, indent=1))
    print('\n'.join(lines))
    return summary


if __name__ == '__main__':
    main()
