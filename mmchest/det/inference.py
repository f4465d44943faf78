"""Run a trained mmdet detector over a dataset or files (used by the RSNA tools)."""
from __future__ import annotations

import sys
from typing import Callable, Iterator, Optional, Sequence

import torch


def load_detector(config: str, checkpoint: str, device: str = 'cpu',
                  cfg_options: Optional[dict] = None):
    """Build the detector of ``config`` with the weights of ``checkpoint``.

    Args:
        config (str): mmdet config file.
        checkpoint (str): Checkpoint file (loaded with mmchest's safe loading).
        device (str): e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config, as
            ``--cfg-options`` does. Defaults to None.

    Returns:
        The model in eval mode; its config is ``model.cfg``. mmdet's default scope is set.

    Raises:
        CheckpointMismatchError: The checkpoint leaves weights of the model unset or has
            other shapes (:mod:`mmchest.engine.checkpoint_fit`); nothing is loaded.
    """
    from mmdet.apis import init_detector
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmchest.engine.checkpoint_fit import require_fit
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    with require_fit(checkpoint, config):
        model = init_detector(cfg, checkpoint, device=device)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return model


@torch.no_grad()
def predict_batches(model, get_item: Callable[[int], dict], indices: Sequence[int],
                    batch_size: int = 4, progress: bool = True) -> Iterator[tuple]:
    """Yield ``(index, DetDataSample)`` for each index, predicting ``batch_size`` at a time.

    Args:
        model: A detector from :func:`load_detector`.
        get_item (Callable[[int], dict]): Index -> pipeline output (``inputs`` and
            ``data_samples``), e.g. ``dataset.__getitem__``.
        indices (Sequence[int]): The indices to predict, in order.
        batch_size (int): Images per ``test_step``. Defaults to 4.
        progress (bool): Show a progress bar on stderr. Defaults to True.
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(indices), file=sys.stderr) if progress else None
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        for idx, sample in zip(chunk, model.test_step(pseudo_collate([get_item(i)
                                                                       for i in chunk]))):
            yield idx, sample
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')
