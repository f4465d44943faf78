"""mmengine hooks (root ``HOOKS`` registry, so mmseg and mmdet configs both see them)."""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import BaseOptimWrapper
from mmengine.registry import HOOKS

from mmchest.weights.fit import format_mismatches, shape_mismatches

__all__ = ['FineTuneLoadHook']


@HOOKS.register_module()
class FineTuneLoadHook(Hook):
    """Fine-tune from ``load_from``: skip the checkpoint layers whose shapes do not fit.

    A detector trained on COCO (80 classes) has class-specific head layers that cannot hold
    one RSNA class: ``roi_head.bbox_head.fc_cls`` (81 -> 2 outputs), ``fc_reg`` (320 -> 4),
    ``roi_head.mask_head.conv_logits`` (80 -> 1). When training starts from ``load_from``,
    this hook replaces those tensors in the loaded checkpoint with the model's own
    initialisation before mmengine copies it into the model, and logs ONE line listing them
    with both shapes; every other tensor is loaded as usual (mmengine then reports nothing
    missing). Without the hook mmengine would also skip them, but with a multi-line
    ``size mismatch`` warning per layer.

    The skipping is deliberate and narrow: it happens only when the runner trains from
    ``load_from``. ``--resume`` is left to mmengine's usual loading; ``mim test --checkpoint``
    (no optimizer built) refuses a checkpoint that does not fit the model
    (:mod:`mmchest.engine.checkpoint_fit`).

    Args:
        enabled (bool): Turn the skipping off without removing the hook. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.skipped: Optional[dict] = None  # key -> (checkpoint shape, model shape)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Training builds the optimizer wrapper before loading; `mim test` never does.
        training = isinstance(runner.optim_wrapper, BaseOptimWrapper)
        if not self.enabled or not training or runner.cfg.get('resume', False):
            return
        state = checkpoint.get('state_dict', checkpoint)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        own = model.state_dict()
        self.skipped = shape_mismatches(state, own)
        if not self.skipped:
            return
        for key in self.skipped:
            state[key] = own[key[len('module.'):] if key.startswith('module.') else key].clone()
        fitting = sum(1 for k in state if k not in self.skipped)
        runner.logger.info(
            f'FineTuneLoadHook: {len(self.skipped)} checkpoint tensors do not fit this model and '
            f'keep their initialisation (checkpoint shape->model shape): '
            f'{format_mismatches(self.skipped)}; the other {fitting} are loaded.')
