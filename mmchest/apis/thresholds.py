"""Threshold searches on a labelled split (the bodies of the two threshold tools).

- SIIM: the triplet (top score, min area, bottom) that maximises the competition score,
  over a grid (:func:`mmchest.postprocessing.triplet_threshold.threshold_grid_search`), on
  the raw probabilities of a model run without its configured triplet;
- RSNA: the box score threshold, with the competition score and image-level precision/recall
  at each (:mod:`mmchest.evaluation.rsna_thresholds`).

The plots need matplotlib (imported when drawing).
"""
from __future__ import annotations

import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['siim_triplet_search', 'plot_siim_surface', 'collect_rsna_results',
           'rsna_threshold_sweep', 'plot_rsna_curves']


def siim_triplet_search(inferencer, split: str, top: Sequence[float],
                        min_areas: Sequence[int], bottom: Sequence[float],
                        max_images: Optional[int] = None) -> dict:
    """Predict the config's ``{split}_dataloader`` dataset and grid-search the triplet.

    Prints the split being tuned on and a progress bar (stdout).

    Args:
        inferencer (ChestSegInferencer): Built with ``triplet=False`` (raw probabilities).
        split (str): ``'val'`` or ``'test'``.
        top, min_areas, bottom: The grid (top score thresholds, minimum areas in pixels at
            the original resolution, bottom thresholds).
        max_images (int, optional): Use the first ``max_images`` images only.

    Returns:
        dict: ``best`` (top, min_area, bottom), ``scores`` (array top x area x bottom of
        mean per-image Dice) and ``num_images``.
    """
    from mmengine.utils import ProgressBar

    from mmchest.postprocessing.triplet_threshold import threshold_grid_search
    dataset = inferencer.build_dataset(split)
    print(f"Tuning on the config's {split!r} split ({len(dataset)} images, "
          f"{inferencer.cfg[f'{split}_dataloader']['dataset'].get('data_root')})")
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    probs, gts = [], []
    bar = ProgressBar(n)
    for _, pred in inferencer.predict_dataset(dataset=dataset, indices=range(n)):
        probs.append(pred.probability_map.astype(np.float16))
        gts.append(pred.gt_mask == 1)
        bar.update()
    best, scores = threshold_grid_search([p.astype(np.float32) for p in probs], gts,
                                         top, min_areas, bottom)
    return dict(best=best, scores=scores, num_images=n)


def plot_siim_surface(scores: np.ndarray, tops, areas, bottoms, best, path: str) -> None:
    """``thresholds.png``: the score over top x bottom threshold, one panel per min area."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cols = min(3, len(areas))
    rows = int(np.ceil(len(areas) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False,
                             constrained_layout=True)
    vmin, vmax = float(scores.min()), float(scores.max())
    for k, area in enumerate(areas):
        ax = axes[k // cols][k % cols]
        im = ax.imshow(scores[:, k, :], origin='lower', aspect='auto', vmin=vmin, vmax=vmax,
                       cmap='viridis', extent=(bottoms[0], bottoms[-1], tops[0], tops[-1]))
        ax.set_title(f'min_area = {area}')
        ax.set_xlabel('bottom threshold')
        ax.set_ylabel('top score threshold')
        if area == best[1]:
            ax.plot(best[2], best[0], 'r*', markersize=14)
    for k in range(len(areas), rows * cols):
        axes[k // cols][k % cols].axis('off')
    fig.colorbar(im, ax=axes.ravel().tolist(), label='mean per-image Dice')
    fig.suptitle(f'SIIM triplet search: best {best} (red star)')
    fig.savefig(path, dpi=100)
    plt.close(fig)


def collect_rsna_results(inferencer, split: str, max_images: Optional[int] = None,
                         batch_size: int = 4, progress: bool = True
                         ) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(pred_boxes, pred_scores, gt_boxes)`` per image of the config's ``split`` dataset.

    Boxes are original-image ``x1, y1, x2, y2`` pixels; every predicted box (no threshold),
    highest score first.
    """
    from mmengine.utils import ProgressBar
    dataset = inferencer.build_dataset(split)
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    bar = ProgressBar(n, file=sys.stderr) if progress else None
    results = []
    for _, pred in inferencer.predict_dataset(dataset=dataset, indices=range(n),
                                              batch_size=batch_size):
        gt = pred.gt_boxes if pred.gt_boxes is not None else np.zeros((0, 4), np.float32)
        results.append((pred.all_boxes, pred.all_scores, gt.reshape(-1, 4)))
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    return results


def rsna_threshold_sweep(results, thrs: Sequence[float], target_recall: float) -> dict:
    """Competition score and image-level stats at each threshold; the best and the target.

    Returns:
        dict: ``sweep`` (one row per threshold), ``best`` (highest RSNA score; ties go to
        the lower threshold: the same score with more recall), ``at_target`` (highest
        threshold reaching ``target_recall`` image recall, or None) and ``num_positive``.
    """
    from mmchest.evaluation.rsna_thresholds import highest_threshold_reaching, score_threshold_sweep
    sweep = score_threshold_sweep(results, thrs)
    scored = [row for row in sweep if not np.isnan(row['rsna_mAP'])]
    best = max(scored or sweep, key=lambda row: (np.nan_to_num(row['rsna_mAP'], nan=-1.0),
                                                 -row['score_thr']))
    return dict(sweep=sweep, best=best,
                at_target=highest_threshold_reaching(sweep, target_recall),
                num_positive=sum(1 for _, _, gt in results if len(gt)))


def plot_rsna_curves(sweep, best, at_target, target: float, path: str, title: str) -> None:
    """``thresholds.png``: RSNA score, image precision/recall/F1 and box recall curves."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    thrs = [row['score_thr'] for row in sweep]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    for key, label, style in (('rsna_mAP', 'RSNA score (competition)', 'k-'),
                              ('img_recall', 'image recall', 'C3-'),
                              ('img_precision', 'image precision', 'C0-'),
                              ('img_f1', 'image F1', 'C0:'),
                              ('box_recall', 'box recall (IoU > 0.4)', 'C3--')):
        ax.plot(thrs, [row[key] for row in sweep], style, label=label, marker='.')
    ax.axvline(best['score_thr'], color='k', alpha=0.4)
    ax.annotate(f"best score {best['rsna_mAP']:.3f}", (best['score_thr'], 0.02),
                rotation=90, va='bottom', ha='right', fontsize=8)
    ax.axhline(target, color='C3', alpha=0.3, lw=0.8)
    if at_target is not None:
        ax.axvline(at_target['score_thr'], color='C3', alpha=0.4)
        ax.annotate(f'image recall >= {target:g}', (at_target['score_thr'], 0.02),
                    rotation=90, va='bottom', ha='right', fontsize=8, color='C3')
    ax.set_xlabel('box score threshold (boxes with score > threshold are kept)')
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc='lower left', fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)
