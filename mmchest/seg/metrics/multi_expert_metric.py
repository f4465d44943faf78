"""Model-vs-expert Dice/IoU next to expert-vs-expert agreement, overall and per view."""
from __future__ import annotations

from itertools import combinations
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmseg.registry import METRICS

from mmchest.engine.bad_files import skipped_note
from mmchest.evaluation.agreement import pairwise_dice
from mmchest.evaluation.dice import dice_score, iou_score
from mmchest.io.expert_masks import fuse_masks, load_expert_masks

__all__ = ['MultiExpertDiceMetric']

_META_HINT = ("add 'expert_mask_paths', 'view' and 'image_class' to PackSegInputs' meta_keys "
              'in the test pipeline (see configs/_base_/datasets/multi_expert_pneumonia.py)')


@METRICS.register_module()
class MultiExpertDiceMetric(BaseMetric):
    """Per-image Dice and IoU of the prediction against the fused mask and each expert,
    reported beside the experts' agreement with each other on the same images.

    The experts' masks are read in ``process`` from the paths the dataset put into each
    sample's metainfo (``expert_mask_paths``; None = normal image = empty mask), at the
    prediction's (original) size, so only small per-image scores are kept and gathered
    across ranks. Empty-vs-empty scores ``empty_score`` (1), empty-vs-non-empty 0.

    ``compute_metrics`` returns, for all images and, with suffix ``_pa`` / ``_lat`` /
    ``_pneumonia``, for each view and for pneumonia images only:

    - ``dice_<fusion>``, ``iou_<fusion>``: model vs the fused mask (e.g. ``dice_majority``);
    - ``dice_expertN``, ``iou_expertN``: model vs each expert; ``dice_experts_mean``;
    - ``agreement_expertA_expertB``: Dice between two experts; ``agreement_mean`` (the mean
      pairwise Dice): read ``dice_experts_mean`` next to ``agreement_mean``.

    A table is logged with one row per reference (fused, each expert): the model's Dice /
    IoU against it and the mean Dice of the *other* experts against it.

    Args:
        fusion (str): Fused reference: 'majority', 'union' or 'intersection'.
            Defaults to 'majority'.
        empty_score (float): Score when both masks are empty. Defaults to 1.0.
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Defaults to 'expert'.
    """

    default_prefix: Optional[str] = 'expert'

    def __init__(self, fusion: str = 'majority', empty_score: float = 1.0,
                 collect_device: str = 'cpu', prefix: Optional[str] = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        if fusion not in ('majority', 'union', 'intersection'):
            raise ValueError(f"fusion must be 'majority', 'union' or 'intersection' (a binary "
                             f'reference for Dice), got {fusion!r}')
        self.fusion = fusion
        self.empty_score = empty_score

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'expert_mask_paths' not in sample:
                raise KeyError(f"{sample.get('img_path', 'sample')}: no expert_mask_paths in "
                               f'the data sample; {_META_HINT}')
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy() > 0
            paths = sample['expert_mask_paths']
            experts = list(paths)
            masks = dict(zip(experts, load_expert_masks(paths, experts, pred.shape,
                                                        sample.get('img_path', 'image'))))
            refs = dict(masks)
            refs[self.fusion] = fuse_masks(list(masks.values()), self.fusion)
            self.results.append(dict(
                view=sample.get('view'), image_class=sample.get('image_class'),
                experts=experts,
                dice={r: dice_score(pred, m, self.empty_score) for r, m in refs.items()},
                iou={r: iou_score(pred, m, self.empty_score) for r, m in refs.items()},
                agree=pairwise_dice(masks, self.empty_score)))

    def _summarise(self, results: List[dict], suffix: str) -> Dict[str, float]:
        experts = results[0]['experts']
        out: Dict[str, float] = {}
        for ref in [self.fusion] + experts:
            out[f'dice_{ref}{suffix}'] = float(np.mean([r['dice'][ref] for r in results]))
            out[f'iou_{ref}{suffix}'] = float(np.mean([r['iou'][ref] for r in results]))
        out[f'dice_experts_mean{suffix}'] = float(np.mean(
            [out[f'dice_{e}{suffix}'] for e in experts]))
        pairs = list(combinations(experts, 2))
        for a, b in pairs:
            out[f'agreement_{a}_{b}{suffix}'] = float(np.mean([r['agree'][(a, b)]
                                                               for r in results]))
        out[f'agreement_mean{suffix}'] = float(np.mean(
            [out[f'agreement_{a}_{b}{suffix}'] for a, b in pairs])) if pairs else float('nan')
        return out

    def _table(self, summary: Dict[str, float], experts: List[str], suffix: str,
               title: str) -> str:
        lines = [title, f'{"reference":<14}{"model Dice":>11}{"model IoU":>11}'
                        f'{"other experts Dice":>20}']
        for ref in [self.fusion] + experts:
            others = [summary[f'agreement_{a}_{b}{suffix}']
                      for a, b in combinations(experts, 2) if ref in (a, b)]
            other = f'{np.mean(others):.4f}' if others else '-'
            lines.append(f'{ref:<14}{summary[f"dice_{ref}{suffix}"]:>11.4f}'
                         f'{summary[f"iou_{ref}{suffix}"]:>11.4f}{other:>20}')
        lines.append(f'{"experts mean":<14}{summary[f"dice_experts_mean{suffix}"]:>11.4f}'
                     f'{"":>11}{summary[f"agreement_mean{suffix}"]:>20.4f}')
        return '\n'.join(lines)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            return {}
        experts = results[0]['experts']
        if any(r['experts'] != experts for r in results):
            raise ValueError('images were evaluated against different expert sets')
        subsets = [('', 'all images', results)]
        for view in ('pa', 'lat'):
            chosen = [r for r in results if r['view'] == view]
            if chosen:
                subsets.append((f'_{view}', f'view {view}', chosen))
        positives = [r for r in results if r['image_class'] == 'pneumonia']
        if positives:
            subsets.append(('_pneumonia', 'pneumonia images', positives))
        metrics: Dict[str, float] = {}
        tables = []
        for suffix, name, chosen in subsets:
            summary = self._summarise(chosen, suffix)
            metrics.update(summary)
            tables.append(self._table(summary, experts, suffix,
                                      f'Multi-expert pneumonia, {name} ({len(chosen)}):'))
        MMLogger.get_current_instance().info(
            'model vs each reference, next to the other experts vs the same reference'
            f'{skipped_note(self.dataset_meta)}\n'
            + '\n\n'.join(tables))
        return metrics
