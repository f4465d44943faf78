"""CPU latency of the segmentation networks: PyTorch against onnxruntime (issue 15 item 3).

For each config the model is built with random weights (the latency does not depend on
them), saved, exported with ``mmchest.deploy.onnx_export.export_onnx`` (which also checks
onnxruntime against PyTorch on two input sizes), and the same network computation is timed
on one image (batch 1) at the config's test input size:

- PyTorch: ``SegmentorForExport(model)`` (the data preprocessor's normalisation,
  ``extract_feat`` + ``decode_head.predict``, sigmoid) under ``torch.inference_mode``;
- onnxruntime: ``InferenceSession.run`` of the exported graph (CPUExecutionProvider).

Both use ``--threads`` threads. Reading the file, resizing and the post-processing are the
same numpy/cv2 code outside the network in both backends and are not timed.

Usage::

    python benchmarks/onnx_latency.py [--configs demo siim] [--runs 30] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from typing import Dict, List

import numpy as np

CONFIGS: Dict[str, str] = {
    'demo': 'configs/demo/unet_siim_synthetic.py',
    'siim': 'configs/unet_siim.py',
    'multi_expert': 'configs/unet_multi_expert_pneumonia.py',
}
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _random_checkpoint(config: str, path: str) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    import mmchest  # noqa: F401
    from mmchest.weights.offline import without_pretrained
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    model = revert_sync_batchnorm(MODELS.build(without_pretrained(cfg.model.to_dict())))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


def _time(fn, runs: int, warmup: int) -> List[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(name: str, config: str, runs: int, warmup: int, threads: int, work: str) -> dict:
    """Export ``config`` (random weights) and time both backends on one image."""
    import onnxruntime as ort
    import torch

    from mmchest.apis.seg_inferencer import load_segmentor
    from mmchest.deploy.onnx_export import SegmentorForExport, _dummy_size, export_onnx
    ckpt = osp.join(work, f'{name}.pth')
    onnx_path = osp.join(work, f'{name}.onnx')
    _random_checkpoint(config, ckpt)
    start = time.perf_counter()
    meta = export_onnx(config, ckpt, onnx_path)
    export_s = time.perf_counter() - start
    h, w = _dummy_size(meta)
    image = np.random.RandomState(0).randint(0, 256, (1, 3, h, w)).astype(np.float32)

    torch.set_num_threads(threads)
    wrapper = SegmentorForExport(load_segmentor(config, ckpt, device='cpu')).eval()
    tensor = torch.from_numpy(image)

    def run_torch():
        with torch.inference_mode():
            wrapper(tensor)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(onnx_path, sess_options=options,
                                   providers=['CPUExecutionProvider'])

    def run_ort():
        session.run(['probability'], {'image': image})

    with torch.inference_mode():
        expected = wrapper(tensor)[0].numpy()
    diff = float(np.abs(session.run(['probability'], {'image': image})[0] - expected).max())
    # interleave the two so that a load change on a shared machine hits both alike
    pt: List[float] = []
    ox: List[float] = []
    blocks = 5
    for _ in range(blocks):
        pt += _time(run_torch, max(1, runs // blocks), warmup)
        ox += _time(run_ort, max(1, runs // blocks), warmup)
    return dict(name=name, config=osp.relpath(config, REPO), input=[1, 3, h, w],
                export_s=round(export_s, 1), max_abs_diff=diff,
                onnx_mb=round(osp.getsize(onnx_path) / 2**20, 1),
                pytorch_ms=dict(median=statistics.median(pt), min=min(pt), n=len(pt)),
                onnxruntime_ms=dict(median=statistics.median(ox), min=min(ox), n=len(ox)))


def table(rows: List[dict]) -> str:
    lines = ['| model | input | PyTorch median / min (ms) | onnxruntime median / min (ms) | '
             'PyTorch / onnxruntime (median) | max abs diff |',
             '| --- | --- | --- | --- | --- | --- |']
    for r in rows:
        pt, ox = r['pytorch_ms'], r['onnxruntime_ms']
        lines.append(f"| {r['config']} | {'x'.join(map(str, r['input']))} | "
                     f"{pt['median']:.1f} / {pt['min']:.1f} | {ox['median']:.1f} / "
                     f"{ox['min']:.1f} | {pt['median'] / ox['median']:.2f}x | "
                     f"{r['max_abs_diff']:.1e} |")
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='+', default=['demo', 'siim'],
                        help=f'names ({", ".join(CONFIGS)}) or config files')
    parser.add_argument('--runs', type=int, default=30, help='timed runs per backend')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs per block')
    parser.add_argument('--threads', type=int, default=2, help='threads of both backends')
    parser.add_argument('--json', default=None, help='also write the results here')
    args = parser.parse_args(argv)
    import onnxruntime
    import torch
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.configs:
            config = osp.join(REPO, CONFIGS.get(name, name))
            load0 = os.getloadavg()[0]
            row = measure(osp.splitext(osp.basename(config))[0], config, args.runs,
                          args.warmup, args.threads, work)
            row['load_average'] = [round(load0, 1), round(os.getloadavg()[0], 1)]
            rows.append(row)
            print(f"{row['config']}: export {row['export_s']} s, {row['onnx_mb']} MB, load "
                  f"average {row['load_average'][0]} -> {row['load_average'][1]}", flush=True)
    print(f'\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
          f'{args.threads} threads, torch {torch.__version__}, onnxruntime '
          f'{onnxruntime.__version__}, batch 1, {args.runs} runs per backend\n')
    print(table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
