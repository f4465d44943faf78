"""Convert an SE-ResNeXt ImageNet checkpoint file into an MMPretrain backbone file.

What ``tools/convert_weights.py`` runs: read the tensors (:func:`read_state_dict`), rename them
(:func:`mmchest.weights.convert_seresnext`), check them against ``mmpretrain.SEResNeXt(depth)``
(every tensor present, every shape equal) and write ``{'state_dict': ..., 'meta': ...}``
without a ``backbone.`` prefix, atomically (:func:`convert_seresnext_file`). torch only;
mmpretrain is imported for the check.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict

from .fit import format_mismatches, shape_mismatches
from .seresnext import SEResNeXtConversion, WeightConversionError, convert_seresnext

__all__ = ['read_state_dict', 'check_seresnext_backbone', 'ConvertedFile',
           'convert_seresnext_file']


def read_state_dict(path: str) -> dict:
    """The tensors of a checkpoint file: a bare state dict, or its ``state_dict`` / ``model``.

    Args:
        path (str): ``.pth``/``.pt``/``.bin`` (read with ``torch.load(weights_only=True)``) or
            ``.safetensors``.

    Returns:
        dict: Name to tensor.

    Raises:
        WeightConversionError: The file cannot be read, or holds no state dict of tensors
            (the message names it).
    """
    import torch
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise WeightConversionError(f'{path} is a safetensors file; pip install '
                                        'safetensors') from None
        return dict(load_file(path, device='cpu'))
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - reported with the file name
        raise WeightConversionError(f'cannot read {path} as a weights-only torch checkpoint: '
                                    f'{exc}') from None
    if isinstance(obj, dict):
        for key in ('state_dict', 'model'):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightConversionError(f'{path} holds no state dict of tensors')
    return dict(obj)


def check_seresnext_backbone(state_dict: Dict, depth: int) -> int:
    """Load ``state_dict`` strictly into ``mmpretrain.SEResNeXt(depth, 32x4d)``.

    Args:
        state_dict (dict): Converted tensors.
        depth (int): 50, 101 or 152.

    Returns:
        int: The backbone's number of tensors (all present, all shapes equal).

    Raises:
        WeightConversionError: Shapes differ (listed).
    """
    from mmpretrain.models.backbones import SEResNeXt
    backbone = SEResNeXt(depth=depth, groups=32, width_per_group=4, out_indices=(0, 1, 2, 3))
    own = backbone.state_dict()
    wrong = shape_mismatches(state_dict, own)
    if wrong:
        raise WeightConversionError('shapes differ from mmpretrain.SEResNeXt: '
                                    f'{format_mismatches(wrong)}')
    backbone.load_state_dict(state_dict, strict=True)
    return len(own)


@dataclass
class ConvertedFile:
    """What :func:`convert_seresnext_file` read, converted and wrote.

    Attributes:
        num_source (int): Tensors read from the source file.
        conversion (SEResNeXtConversion): The renaming (source naming, renamed, dropped and
            filled keys, the converted state dict).
        num_backbone (int): Tensors of the mmpretrain backbone (all present).
        out (str): The written file.
    """
    num_source: int
    conversion: SEResNeXtConversion
    num_backbone: int
    out: str


def convert_seresnext_file(src: str, out: str, depth: int = 50) -> ConvertedFile:
    """Convert a timm / pretrainedmodels / mmpretrain SE-ResNeXt file to a backbone file.

    Args:
        src (str): The source weights.
        out (str): The mmpretrain backbone checkpoint to write (folders created; written to
            ``<out>.tmp`` and renamed, so nothing is left on failure).
        depth (int): SE-ResNeXt depth, 32x4d. Defaults to 50.

    Returns:
        ConvertedFile: Counts and the conversion.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        WeightConversionError: Unreadable file, unknown or missing keys, or shapes that do
            not fit the backbone.
    """
    import torch
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} does not exist')
    source = read_state_dict(src)
    result = convert_seresnext(source, depth=depth)
    num_backbone = check_seresnext_backbone(result.state_dict, depth)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'{out}.tmp'
    meta = dict(converted_from=osp.basename(src), naming=result.source,
                backbone=f'mmpretrain.SEResNeXt(depth={depth}, groups=32, width_per_group=4)')
    torch.save({'state_dict': result.state_dict, 'meta': meta}, tmp)
    os.replace(tmp, out)
    return ConvertedFile(len(source), result, num_backbone, out)
