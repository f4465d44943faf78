"""``init_inferencer``: the inferencer for a config, chosen by its ``default_scope``."""
from __future__ import annotations

import importlib
from typing import Dict, Optional

from .base_inferencer import ChestInferencer, ConfigLike, load_config

__all__ = ['INFERENCERS', 'register_inferencer', 'inferencer_class', 'init_inferencer']

#: ``default_scope`` -> ``'module:Class'`` of its inferencer. Imported only when used, so
#: ``import mmchest.apis`` needs no host installed. A new host adds one entry
#: (:func:`register_inferencer`), e.g. ``'mmpretrain'`` for a classifier.
INFERENCERS: Dict[str, str] = {
    'mmseg': 'mmchest.apis.seg_inferencer:ChestSegInferencer',
    'mmdet': 'mmchest.apis.det_inferencer:ChestDetInferencer',
    'mmpretrain': 'mmchest.apis.cls_inferencer:ChestClsInferencer',
}


def register_inferencer(scope: str, target: str) -> None:
    """Serve configs with ``default_scope=scope`` by ``target`` (``'module:Class'``)."""
    INFERENCERS[scope] = target


def inferencer_class(scope: Optional[str]) -> type:
    """The inferencer class for a ``default_scope``.

    Raises:
        ValueError: No inferencer serves that scope.
    """
    if scope not in INFERENCERS:
        raise ValueError(f'default_scope must be one of {sorted(INFERENCERS)}, got {scope!r}')
    module, name = INFERENCERS[scope].split(':')
    return getattr(importlib.import_module(module), name)


def init_inferencer(config: ConfigLike, checkpoint: Optional[str] = None,
                    device: Optional[str] = None, cfg_options: Optional[dict] = None,
                    backend: str = 'pytorch', **kwargs) -> ChestInferencer:
    """The inferencer of a config, from its ``default_scope`` (mmseg/mmdet/...).

    Args:
        config (str | PathLike | Config): Config file of this project.
        checkpoint (str, optional): Checkpoint; None keeps the initial weights.
        device (str, optional): e.g. ``'cuda:0'``; None picks CUDA when available.
        cfg_options (dict, optional): Overrides merged into the config first, as
            ``mim test --cfg-options``. Defaults to None.
        backend (str): ``'pytorch'`` (default) or ``'onnxruntime'``: ``checkpoint`` is then
            the ``.onnx`` file of ``tools/export.py`` (segmentation configs), run by
            :class:`~mmchest.deploy.onnxruntime_backend.OnnxSegInferencer` (same
            :class:`Prediction`; no mmcv/mmseg needed).
        **kwargs: Passed to the inferencer (``score_thr``, ``max_pixels``, ...).

    Returns:
        ChestInferencer: e.g. a :class:`~mmchest.apis.ChestSegInferencer`.

    Raises:
        ValueError: The config's scope has no inferencer.
        CheckpointMismatchError: The checkpoint does not fit the model.
    """
    if backend == 'onnxruntime':
        from mmchest.deploy.onnxruntime_backend import init_onnx_inferencer
        return init_onnx_inferencer(config, checkpoint, device=device,
                                    cfg_options=cfg_options, **kwargs)
    if backend != 'pytorch':
        raise ValueError(f"backend must be 'pytorch' or 'onnxruntime', got {backend!r}")
    cfg = load_config(config, cfg_options)
    try:
        cls = inferencer_class(cfg.get('default_scope', None))
    except ValueError as err:
        raise ValueError(f'{cfg.filename or config}: {err}') from None
    return cls(cfg, checkpoint, device=device, **kwargs)
