"""Pretrained weights: converting ImageNet backbones to MMPretrain's names, and telling which
checkpoint tensors fit a model. Pure functions (torch only, no registries); the
``tools/convert_weights.py`` CLI and ``FineTuneLoadHook`` wrap them."""
from .fit import format_keys, format_mismatches, missing_keys, shape_mismatches
from .seresnext import (SERESNEXT_STAGE_BLOCKS, SEResNeXtConversion, WeightConversionError,
                        convert_seresnext, detect_seresnext_source, seresnext_keys)

__all__ = [
    'SERESNEXT_STAGE_BLOCKS', 'SEResNeXtConversion', 'WeightConversionError', 'convert_seresnext',
    'detect_seresnext_source', 'seresnext_keys', 'shape_mismatches', 'format_mismatches',
    'missing_keys', 'format_keys'
]
