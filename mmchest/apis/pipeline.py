"""The inference pipeline: the config's test pipeline, as ``mim test`` reads it, made DICOM-aware.

Pure: config dicts in, config dicts out.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

__all__ = ['LABEL_LOADERS', 'mim_test_pipeline', 'inference_pipeline']

#: Pipeline steps that load labels; inference from files drops them.
LABEL_LOADERS = ('LoadAnnotations', 'LoadRLEMask', 'LoadExpertMasks', 'LoadDepthAnnotation')
_LOADER_KEYS = ('to_float32', 'color_type', 'imdecode_backend', 'backend_args', 'ignore_empty')


def mim_test_pipeline(cfg: Any) -> List[dict]:
    """The pipeline ``mim test`` runs: ``test_dataloader.dataset.pipeline``.

    Read after ``--cfg-options`` are merged, so an override of
    ``test_dataloader.dataset.pipeline`` reaches inference exactly as it reaches
    ``mim test``. A config whose test dataset has no pipeline of its own (e.g. a wrapper
    dataset) falls back to the top-level ``test_pipeline``.

    Args:
        cfg (mmengine.Config): The config.

    Returns:
        list[dict]: Copies of the pipeline steps.

    Raises:
        ValueError: The config has neither.
    """
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError(f'{getattr(cfg, "filename", "the config")}: no '
                         'test_dataloader.dataset.pipeline (or test_pipeline)')
    return [dict(step) for step in pipeline]


def inference_pipeline(pipeline_cfg: Sequence[dict],
                       max_pixels: Optional[int] = None) -> List[dict]:
    """The test pipeline without label loaders, reading DICOM and PNG alike.

    ``LoadImageFromFile`` becomes ``LoadDicomImageFromFile`` (which falls back to mmcv's
    decoding for non-DICOM files), keeping its shared arguments.

    Args:
        pipeline_cfg (Sequence[dict]): The config's test pipeline.
        max_pixels (int, optional): Pixel budget of the DICOM loader; None keeps the
            config's (default 8192 x 8192). Defaults to None.

    Returns:
        list[dict]: The inference pipeline; its first step loads the image.

    Raises:
        ValueError: The pipeline does not start with an image loader.
    """
    out = []
    for step in pipeline_cfg:
        step = dict(step)
        kind = str(step['type']).split('.')[-1]
        if kind in LABEL_LOADERS:
            continue
        if kind == 'LoadImageFromFile':
            step = dict(type='LoadDicomImageFromFile',
                        **{k: v for k, v in step.items() if k in _LOADER_KEYS})
        out.append(step)
    if not out or 'Load' not in str(out[0]['type']):
        raise ValueError('the test pipeline must start with an image loader, got '
                         f'{out[0]["type"] if out else "an empty pipeline"}')
    if max_pixels is not None and str(out[0]['type']).endswith('LoadDicomImageFromFile'):
        out[0]['max_pixels'] = max_pixels
    return out
