#!/usr/bin/env python
"""Export a trained mmchest segmentation model to ONNX (runs without mmcv/mmseg afterwards).

    python tools/export.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        --format onnx --out work_dirs/unet_siim/unet_siim.onnx
    python tools/infer.py configs/unet_siim.py work_dirs/unet_siim/unet_siim.onnx \
        --backend onnxruntime datasets/siim/dicom-images-test --out work_dirs/infer_onnx

The graph takes float32 ``(N, 3, H, W)`` BGR 0..255 images (N, H, W dynamic) and returns the
foreground ``probability`` and ``logit`` ``(N, 1, H, W)``; the mean/std normalisation is in
the graph. The rest of the test pipeline (DICOM display normalisation, resize rule,
padding, resizing back, thresholds) is stored as JSON in the model's ``metadata_props``
(key ``mmchest``) and replayed by ``mmchest.deploy.onnxruntime_backend`` (docs/deploy.md).
After writing, the file is run with onnxruntime on two input sizes and compared with
PyTorch (``--no-verify`` skips it).

Detection configs are refused with the reason (mmdet's two-stage heads do not export;
docs/deploy.md). Exit status: 0 written, 2 refused or failed (the message says why).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction

    from mmchest.deploy.onnx_export import DEFAULT_OPSET
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='segmentation config (configs/unet_*.py)')
    parser.add_argument('checkpoint', help='trained checkpoint (.pth)')
    parser.add_argument('--format', choices=['onnx'], default='onnx',
                        help='output format (default: onnx)')
    parser.add_argument('--out', default=None,
                        help='output file (default: the checkpoint path with .onnx)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default: {DEFAULT_OPSET})')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime-vs-PyTorch check after writing')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmchest.deploy.onnx_export import OnnxExportError, export_onnx
    from mmchest.engine.checkpoint_fit import CheckpointMismatchError
    if not osp.isfile(args.checkpoint):
        print(f'export failed: checkpoint not found: {args.checkpoint}', file=sys.stderr)
        return 2
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    try:
        meta = export_onnx(args.config, args.checkpoint, out, cfg_options=args.cfg_options,
                           opset=args.opset, verify=not args.no_verify)
    except (OnnxExportError, CheckpointMismatchError) as err:
        print(f'export failed: {err}', file=sys.stderr)
        return 2
    note = (f', onnxruntime vs PyTorch max |diff| {meta["max_abs_diff"]:.2g}'
            if 'max_abs_diff' in meta else '')
    print(f'wrote {out} (opset {meta["opset"]}, dynamic batch/height/width{note})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
