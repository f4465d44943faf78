#!/usr/bin/env python
"""Convert SE-ResNeXt ImageNet weights (timm / pretrainedmodels) to an MMPretrain backbone file.

    python tools/convert_weights.py se_resnext50_32x4d-a260b3a4.pth \
        checkpoints/seresnext50_32x4d_mmpretrain.pth

SRC is any of the checkpoints SIIM users have: timm's ``seresnext50_32x4d`` or
``legacy_seresnext50_32x4d`` (``pytorch_model.bin``, ``model.safetensors`` or a ``.pth``, as
in ``~/.cache/huggingface/hub`` or ``~/.cache/torch/hub/checkpoints``), the ``pretrainedmodels``
package's ``se_resnext50_32x4d-a260b3a4.pth``, or an MMPretrain classifier checkpoint. The
renaming is ``mmchest.weights.convert_seresnext``; unknown or missing keys stop the conversion
with a list of them. The result is checked against ``mmpretrain.SEResNeXt(depth)`` (every
tensor present, every shape equal) and written as ``{'state_dict': ..., 'meta': ...}`` without a
``backbone.`` prefix, so configs load it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (``configs/unet_seresnext50_siim.py``
expects ``checkpoints/seresnext50_32x4d_mmpretrain.pth``).
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm / pretrainedmodels / mmpretrain SE-ResNeXt weights '
                        '(.pth, .pt, .bin or .safetensors)')
    parser.add_argument('out', help='where to write the mmpretrain backbone checkpoint (.pth)')
    parser.add_argument('--depth', type=int, default=50, choices=[50, 101, 152],
                        help='SE-ResNeXt depth, 32x4d (default: %(default)s)')
    return parser.parse_args(argv)


def read_state_dict(path: str) -> dict:
    """The tensors of a checkpoint file: a bare state dict, or its ``state_dict`` / ``model``."""
    import torch
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise SystemExit(f'error: {path} is a safetensors file; pip install safetensors')
        return dict(load_file(path, device='cpu'))
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - reported with the file name
        raise SystemExit(f'error: cannot read {path} as a weights-only torch checkpoint: {exc}')
    if isinstance(obj, dict):
        for key in ('state_dict', 'model'):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SystemExit(f'error: {path} holds no state dict of tensors')
    return dict(obj)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise SystemExit(f'error: {args.src} does not exist')
    import torch

    from mmchest.weights import (WeightConversionError, convert_seresnext, format_mismatches,
                                 shape_mismatches)

    source = read_state_dict(args.src)
    print(f'read {len(source)} tensors from {args.src}')
    try:
        result = convert_seresnext(source, depth=args.depth)
    except WeightConversionError as exc:
        raise SystemExit(f'error: {exc}')
    print(f'naming: {result.source}; {len(result.renamed)} tensors renamed')
    if result.dropped:
        print(f'left out the classifier: {", ".join(result.dropped)}')
    if result.filled:
        print(f'{len(result.filled)} BatchNorm num_batches_tracked counters were missing '
              '(checkpoint older than PyTorch 0.4.1): written as 0')

    from mmpretrain.models.backbones import SEResNeXt
    backbone = SEResNeXt(depth=args.depth, groups=32, width_per_group=4, out_indices=(0, 1, 2, 3))
    own = backbone.state_dict()
    wrong = shape_mismatches(result.state_dict, own)
    if wrong:
        raise SystemExit('error: shapes differ from mmpretrain.SEResNeXt: '
                         f'{format_mismatches(wrong)}')
    backbone.load_state_dict(result.state_dict, strict=True)
    print(f'checked: {len(result.state_dict)}/{len(own)} tensors of '
          f'mmpretrain.SEResNeXt(depth={args.depth}) present, shapes equal')

    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = f'{args.out}.tmp'
    meta = dict(converted_from=osp.basename(args.src), naming=result.source,
                backbone=f'mmpretrain.SEResNeXt(depth={args.depth}, groups=32, width_per_group=4)')
    torch.save({'state_dict': result.state_dict, 'meta': meta}, tmp)
    os.replace(tmp, args.out)
    print(f'wrote {args.out}: load it with '
          f"init_cfg=dict(type='Pretrained', checkpoint='{args.out}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
