"""Inference API: one inferencer per host, and the tools' building blocks.

    from mmchest.apis import init_inferencer
    inferencer = init_inferencer('configs/unet_siim.py', 'iter_40000.pth', device='cpu')
    pred = inferencer.predict_file('image.dcm')      # Prediction: mask, probability, overlay()
    result = inferencer(['a.dcm', 'folder/'])        # {'predictions': [dict, ...], ...}

``init_inferencer`` picks :class:`ChestSegInferencer` (``default_scope='mmseg'``) or
:class:`ChestDetInferencer` (``'mmdet'``) from the config; the table
:data:`~mmchest.apis.inferencers.INFERENCERS` takes more hosts. The inferencer classes and
the model loaders import their host when first used, so ``import mmchest.apis`` works with
only the host you use installed.
"""
from importlib import import_module

from .inferencers import INFERENCERS, inferencer_class, init_inferencer, register_inferencer
from .inputs import INPUT_SUFFIXES, READ_ERRORS, collect_inputs, resolve_inputs, unique_names
from .pipeline import inference_pipeline, mim_test_pipeline
from .prediction import Prediction
from .visualization import BOX_COLOR, MASK_COLOR, box_overlay, mask_overlay, to_display

_LAZY = {
    'ChestInferencer': '.base_inferencer',
    'ChestSegInferencer': '.seg_inferencer',
    'load_segmentor': '.seg_inferencer',
    'probability_map': '.seg_inferencer',
    'ChestDetInferencer': '.det_inferencer',
    'load_detector': '.det_inferencer',
    'ChestClsInferencer': '.cls_inferencer',
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['init_inferencer', 'inferencer_class', 'register_inferencer', 'INFERENCERS',
           'Prediction', 'inference_pipeline', 'mim_test_pipeline', 'collect_inputs',
           'unique_names', 'resolve_inputs', 'INPUT_SUFFIXES', 'READ_ERRORS', 'to_display',
           'mask_overlay', 'box_overlay', 'MASK_COLOR', 'BOX_COLOR'] + list(_LAZY)
