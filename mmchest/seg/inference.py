"""Run a trained mmseg model over a dataset or files (used by the SIIM tools and infer.py)."""
from __future__ import annotations

import copy
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmchest.seg.metrics.siim_dice_metric import foreground_probability


def load_segmentor(config: str, checkpoint: Optional[str], device: Optional[str] = None,
                   cfg_options: Optional[dict] = None, triplet: bool = True):
    """Build an mmseg model from a config and load its checkpoint (weights_only, safe).

    Args:
        config (str): Config file.
        checkpoint (str, optional): Checkpoint; None keeps the initial weights.
        device (str, optional): ``'cuda:0'``, ``'cpu'``...; None picks CUDA when available.
        cfg_options (dict, optional): Overrides merged into the config.
        triplet (bool): Keep the config's triplet thresholding (``model.test_cfg.triplet``);
            False removes it, e.g. to search thresholds on raw probabilities.
            Defaults to True.

    Returns:
        torch.nn.Module: The model in eval mode, with ``cfg`` and ``dataset_meta`` set.

    Raises:
        CheckpointMismatchError: The checkpoint leaves weights of the model unset or has
            other shapes (:mod:`mmchest.engine.checkpoint_fit`); nothing is loaded.
    """
    from mmseg.apis import init_model

    from mmchest.engine.checkpoint_fit import require_fit
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if not triplet and cfg.model.get('test_cfg'):
        cfg.model.test_cfg.pop('triplet', None)
    device = device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with require_fit(checkpoint, config):
        return init_model(cfg, checkpoint, device=device)


def build_eval_dataset(model, split: str = 'val', data_root: Optional[str] = None):
    """The config's ``{split}_dataloader`` dataset (its test pipeline included)."""
    from mmseg.registry import DATASETS
    ds_cfg = copy.deepcopy(model.cfg[f'{split}_dataloader']['dataset'])
    if data_root is not None:
        ds_cfg['data_root'] = data_root
    return DATASETS.build(ds_cfg)


@torch.no_grad()
def predict_dataset(model, dataset, indices: Optional[Sequence[int]] = None
                    ) -> Iterator[tuple]:
    """Yield ``(data_info, sample)`` for each image: mmseg's prediction at original size.

    ``sample`` is the ``SegDataSample`` from ``model.test_step`` (``seg_logits``,
    ``pred_sem_seg`` and, when the dataset has labels, ``gt_sem_seg``).
    """
    for idx in (range(len(dataset)) if indices is None else indices):
        batch = pseudo_collate([dataset[idx]])
        yield dataset.get_data_info(idx), model.test_step(batch)[0]


def probability_map(sample) -> np.ndarray:
    """Foreground probability ``(H, W)`` float32 of one predicted ``SegDataSample``."""
    return foreground_probability(sample.seg_logits.data.float()).cpu().numpy()
