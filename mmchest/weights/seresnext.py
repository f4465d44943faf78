"""SE-ResNeXt (32x4d) ImageNet weights renamed to MMPretrain's ``SEResNeXt`` backbone keys.

Pure module (a mapping of tensors in, a mapping of tensors out; torch only, no OpenMMLab
imports). MMPretrain publishes no SE-ResNeXt ImageNet checkpoint, but SIIM users have one of:

* timm ``seresnext50_32x4d`` (``timm.models.resnet.ResNet``): ``conv1``, ``bn1``,
  ``layerN.M.{conv,bn}K``, ``layerN.M.downsample.{0,1}``, ``layerN.M.se.fc{1,2}``,
  classifier ``fc``;
* timm ``legacy_seresnext50_32x4d`` and the ``pretrainedmodels`` package's
  ``se_resnext50_32x4d`` (``se_resnext50_32x4d-a260b3a4.pth``; the same names): ``layer0.conv1``,
  ``layer0.bn1``, ``layerN.M.se_module.fc{1,2}``, classifier ``last_linear``;
* an MMPretrain checkpoint (``backbone.`` prefix, ``head.`` classifier) or a bare backbone.

The target is ``mmpretrain.SEResNeXt(depth, groups=32, width_per_group=4)``: ``conv1``, ``bn1``,
``layerN.M.{conv,bn}K``, ``layerN.M.downsample.{0,1}`` and ``layerN.M.se_layer.conv{1,2}.conv``.
Every layer has the same shape in all three (stride on the 3x3 conv, 1x1 downsample, SE
squeeze to channels/16), so the conversion is a renaming. One difference is not in the
weights: the legacy/pretrainedmodels stem pools with ``MaxPool2d(3, 2, ceil_mode=True)``,
MMPretrain (and timm's ``seresnext50_32x4d``) with ``MaxPool2d(3, 2, padding=1)``, a one-pixel
shift of the stem pooling windows that fine-tuning absorbs.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Sequence, Tuple

import torch

__all__ = [
    'SERESNEXT_STAGE_BLOCKS', 'WeightConversionError', 'SEResNeXtConversion', 'seresnext_keys',
    'detect_seresnext_source', 'convert_seresnext'
]

#: Bottleneck blocks per stage of MMPretrain's ``SEResNeXt`` for each depth.
SERESNEXT_STAGE_BLOCKS: Dict[int, Tuple[int, int, int, int]] = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
# Prefixes a wrapper or an MMPretrain classifier adds in front of the backbone keys.
_WRAPPER_PREFIXES = ('module.', 'backbone.')
# Classifier layers: not part of the backbone, dropped and reported.
_CLASSIFIER = re.compile(r'^(fc|last_linear|head|classifier)\.')
_RENAMES: Sequence[Tuple[re.Pattern, str]] = (
    (re.compile(r'^layer0\.(conv1|bn1)\.'), r'\1.'),  # legacy / pretrainedmodels stem
    (re.compile(r'\.se\.fc([12])\.'), r'.se_layer.conv\1.conv.'),  # timm
    (re.compile(r'\.se_module\.fc([12])\.'), r'.se_layer.conv\1.conv.'),  # legacy
)


class WeightConversionError(ValueError):
    """The source weights do not map one-to-one onto the target backbone."""


@dataclass
class SEResNeXtConversion:
    """Result of :func:`convert_seresnext`.

    Attributes:
        state_dict (OrderedDict): The backbone weights under MMPretrain's keys (no prefix), in
            the order of :func:`seresnext_keys`.
        source (str): ``'timm'``, ``'pretrainedmodels'`` (also timm's ``legacy_*``) or
            ``'mmpretrain'``.
        renamed (Dict[str, str]): Target key -> source key, for every tensor taken.
        dropped (List[str]): Source classifier keys left out (``fc``, ``last_linear``, ``head``).
        filled (List[str]): ``num_batches_tracked`` counters the source lacked (checkpoints
            older than PyTorch 0.4.1), written as 0.
    """
    state_dict: 'OrderedDict[str, torch.Tensor]'
    source: str
    renamed: Dict[str, str] = field(default_factory=dict)
    dropped: List[str] = field(default_factory=list)
    filled: List[str] = field(default_factory=list)


def seresnext_keys(depth: int = 50) -> List[str]:
    """Every parameter and buffer name of ``mmpretrain.SEResNeXt(depth)`` (4 stages).

    Args:
        depth (int): 50, 101 or 152. Defaults to 50.

    Returns:
        List[str]: The names in ``state_dict()`` order.
    """
    if depth not in SERESNEXT_STAGE_BLOCKS:
        raise WeightConversionError(
            f'SE-ResNeXt depth {depth} is not one of {sorted(SERESNEXT_STAGE_BLOCKS)}')
    keys = ['conv1.weight'] + [f'bn1.{b}' for b in _BN]
    for stage, blocks in enumerate(SERESNEXT_STAGE_BLOCKS[depth], start=1):
        for block in range(blocks):
            pre = f'layer{stage}.{block}.'
            for i in (1, 2, 3):
                keys.append(f'{pre}conv{i}.weight')
                keys += [f'{pre}bn{i}.{b}' for b in _BN]
            if block == 0:
                keys.append(f'{pre}downsample.0.weight')
                keys += [f'{pre}downsample.1.{b}' for b in _BN]
            for i in (1, 2):
                keys += [f'{pre}se_layer.conv{i}.conv.weight', f'{pre}se_layer.conv{i}.conv.bias']
    return keys


def _strip(key: str) -> str:
    for prefix in _WRAPPER_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def detect_seresnext_source(keys: Sequence[str]) -> str:
    """Name the naming scheme of an SE-ResNeXt state dict.

    Args:
        keys (Sequence[str]): The state dict's keys.

    Returns:
        str: ``'pretrainedmodels'`` (``layer0.conv1`` stem; also timm's ``legacy_*`` models),
        ``'timm'`` (``.se.fc1``) or ``'mmpretrain'`` (``.se_layer.``).

    Raises:
        WeightConversionError: If none of them matches.
    """
    names = [_strip(k) for k in keys]
    if any(k.startswith('layer0.conv1.') for k in names):
        return 'pretrainedmodels'
    if any('.se.fc1.' in k for k in names):
        return 'timm'
    if any('.se_layer.' in k for k in names):
        return 'mmpretrain'
    shown = ', '.join(list(keys)[:8])
    raise WeightConversionError(
        'not an SE-ResNeXt state dict from timm, pretrainedmodels or mmpretrain (no '
        f'layer0.conv1.*, *.se.fc1.* or *.se_layer.* key); its first keys: {shown}')


def convert_seresnext(state_dict: Mapping[str, torch.Tensor],
                      depth: int = 50) -> SEResNeXtConversion:
    """Rename SE-ResNeXt weights from timm / pretrainedmodels / MMPretrain to the backbone keys.

    Args:
        state_dict (Mapping[str, torch.Tensor]): The source weights (a bare state dict; a
            ``module.`` or ``backbone.`` prefix is removed).
        depth (int): Depth of the target ``SEResNeXt``. Defaults to 50.

    Returns:
        SEResNeXtConversion: The converted state dict (every key of
        :func:`seresnext_keys`, without a ``backbone.`` prefix, so it loads with a plain
        ``init_cfg=dict(type='Pretrained', checkpoint=...)``) and what was dropped or filled.

    Raises:
        WeightConversionError: Listing the source keys that map to nothing in the backbone,
            the backbone keys the source lacks, or two source keys with the same target.
    """
    expected = seresnext_keys(depth)
    expected_set = set(expected)
    source = detect_seresnext_source(list(state_dict))
    taken: Dict[str, str] = {}
    dropped, unknown, duplicates = [], [], []
    for src_key in state_dict:
        key = _strip(src_key)
        if _CLASSIFIER.match(key):
            dropped.append(src_key)
            continue
        for pattern, repl in _RENAMES:
            key = pattern.sub(repl, key)
        if key not in expected_set:
            unknown.append(src_key)
        elif key in taken:
            duplicates.append(f'{taken[key]} and {src_key} -> {key}')
        else:
            taken[key] = src_key
    missing = [k for k in expected if k not in taken]
    filled = [k for k in missing if k.endswith('.num_batches_tracked')]
    missing = [k for k in missing if not k.endswith('.num_batches_tracked')]
    problems = []
    if unknown:
        problems.append(f'{len(unknown)} source keys map to no SE-ResNeXt-{depth} backbone key: '
                        + ', '.join(unknown))
    if missing:
        problems.append(f'{len(missing)} SE-ResNeXt-{depth} backbone keys are missing from the '
                        'source: ' + ', '.join(missing))
    if duplicates:
        problems.append('two source keys for one backbone key: ' + '; '.join(duplicates))
    if problems:
        raise WeightConversionError(
            f'cannot convert these {source} weights to mmpretrain.SEResNeXt(depth={depth}): '
            + ' | '.join(problems))
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key in expected:
        if key in taken:
            out[key] = state_dict[taken[key]]
        else:  # a num_batches_tracked counter the source predates
            out[key] = torch.tensor(0, dtype=torch.long)
    return SEResNeXtConversion(state_dict=out, source=source,
                               renamed={k: taken[k] for k in expected if k in taken},
                               dropped=dropped, filled=filled)

