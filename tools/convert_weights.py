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
expects ``checkpoints/seresnext50_32x4d_mmpretrain.pth``). The work is
``mmchest.weights.convert.convert_seresnext_file``.
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm / pretrainedmodels / mmpretrain SE-ResNeXt weights '
                        '(.pth, .pt, .bin or .safetensors)')
    parser.add_argument('out', help='where to write the mmpretrain backbone checkpoint (.pth)')
    parser.add_argument('--depth', type=int, default=50, choices=[50, 101, 152],
                        help='SE-ResNeXt depth, 32x4d (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmchest.weights import WeightConversionError
    from mmchest.weights.convert import convert_seresnext_file
    try:
        done = convert_seresnext_file(args.src, args.out, depth=args.depth)
    except (FileNotFoundError, WeightConversionError) as exc:
        raise SystemExit(f'error: {exc}')
    result = done.conversion
    print(f'read {done.num_source} tensors from {args.src}')
    print(f'naming: {result.source}; {len(result.renamed)} tensors renamed')
    if result.dropped:
        print(f'left out the classifier: {", ".join(result.dropped)}')
    if result.filled:
        print(f'{len(result.filled)} BatchNorm num_batches_tracked counters were missing '
              '(checkpoint older than PyTorch 0.4.1): written as 0')
    print(f'checked: {len(result.state_dict)}/{done.num_backbone} tensors of '
          f'mmpretrain.SEResNeXt(depth={args.depth}) present, shapes equal')
    print(f'wrote {args.out}: load it with '
          f"init_cfg=dict(type='Pretrained', checkpoint='{args.out}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
