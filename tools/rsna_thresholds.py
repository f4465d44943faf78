#!/usr/bin/env python
"""Choose the RSNA box score threshold on a labelled split: competition score and recall.

    python tools/rsna_thresholds.py configs/mask_rcnn_rsna.py \
        work_dirs/mask_rcnn_rsna/best_rsna_mAP_epoch_12.pth --target-recall 0.9

Runs the detector over the config's ``val_dataloader`` dataset (``--split test`` for the
held-out one) and, for each box score threshold of ``--thrs`` (boxes with ``score > thr`` are
kept, as in a submission), computes the RSNA competition score, the image-level precision,
recall and F1 of "is there pneumonia", and the share of ground-truth boxes found (IoU > 0.4).
It prints the threshold with the best score and the highest threshold that still reaches
``--target-recall`` (image level), with the options that apply each, and writes
``thresholds.png`` (the curves against the threshold) and ``thresholds.json``.
"""
import argparse
import copy
import json
import os
import sys

import numpy as np

from mmchest.arg_types import float_range


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmdet config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', default='val', choices=['val', 'test'],
                        help="the config's dataloader to use (default: %(default)s)")
    parser.add_argument('--thrs', type=float_range, default='0.05:0.95:0.05',
                        help='box score thresholds, start:stop:step or a,b,c '
                        '(default: 0.05:0.95:0.05)')
    parser.add_argument('--target-recall', type=float, default=0.9,
                        help='image-level recall to reach (default: %(default)s)')
    parser.add_argument('--out-dir', default=None, help='default: next to the checkpoint')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    return parser.parse_args(argv)


def collect(model, dataset, n: int, batch_size: int):
    """``(pred_boxes, pred_scores, gt_boxes)`` per image, original-image xyxy pixels."""
    from mmchest.det.inference import predict_batches
    return [(s.pred_instances.bboxes.cpu().numpy(), s.pred_instances.scores.cpu().numpy(),
             s.gt_instances.bboxes.cpu().numpy().reshape(-1, 4))
            for _, s in predict_batches(model, dataset.__getitem__, range(n), batch_size)]


def plot_curves(sweep, best, at_target, target: float, path: str, title: str) -> None:
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


def main(argv=None) -> int:
    args = parse_args(argv)
    import mmchest  # noqa: F401  (registers the dataset and transforms; safe checkpoints)
    from mmdet.registry import DATASETS

    from mmchest.det.inference import load_detector
    from mmchest.evaluation.rsna_thresholds import (highest_threshold_reaching,
                                                    score_threshold_sweep)

    model = load_detector(args.config, args.checkpoint, args.device, args.cfg_options)
    dataset = DATASETS.build(copy.deepcopy(model.cfg[f'{args.split}_dataloader']['dataset']))
    n = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    results = collect(model, dataset, n, args.batch_size)

    sweep = score_threshold_sweep(results, args.thrs)
    scored = [row for row in sweep if not np.isnan(row['rsna_mAP'])]
    # ties go to the lower threshold: the same score with more recall
    best = max(scored or sweep, key=lambda row: (np.nan_to_num(row['rsna_mAP'], nan=-1.0),
                                                 -row['score_thr']))
    at_target = highest_threshold_reaching(sweep, args.target_recall)

    out_dir = args.out_dir or os.path.join(os.path.dirname(args.checkpoint) or '.',
                                           'thresholds')
    os.makedirs(out_dir, exist_ok=True)
    n_pos = sum(1 for _, _, gt in results if len(gt))
    with open(os.path.join(out_dir, 'thresholds.json'), 'w') as f:
        json.dump(dict(split=args.split, num_images=n, num_positive=n_pos,
                       target_recall=args.target_recall, best=best, at_target_recall=at_target,
                       sweep=sweep), f, indent=1)
    plot_curves(sweep, best, at_target, args.target_recall,
                os.path.join(out_dir, 'thresholds.png'),
                f'RSNA, {args.split} split: {n} images, {n_pos} with boxes')

    print(f'\n{n} images ({n_pos} with boxes), split {args.split!r}')
    print(f"{'thr':>5} {'RSNA':>6} {'img P':>6} {'img R':>6} {'img F1':>6} {'box R':>6}")
    for row in sweep:
        print(f"{row['score_thr']:5.2f} {row['rsna_mAP']:6.3f} {row['img_precision']:6.3f} "
              f"{row['img_recall']:6.3f} {row['img_f1']:6.3f} {row['box_recall']:6.3f}")
    print(f"Best RSNA score {best['rsna_mAP']:.4f} at score_thr={best['score_thr']:g} "
          f"(image recall {best['img_recall']:.3f}): "
          f"--cfg-options test_evaluator.score_thr={best['score_thr']:g}; "
          f"tools/rsna_submission.py --score-thr {best['score_thr']:g}")
    if at_target is None:
        print(f'No threshold of the grid reaches image recall {args.target_recall:g}; '
              'try lower --thrs.')
    else:
        print(f"Image recall >= {args.target_recall:g} up to score_thr="
              f"{at_target['score_thr']:g} (recall {at_target['img_recall']:.3f}, precision "
              f"{at_target['img_precision']:.3f}, RSNA score {at_target['rsna_mAP']:.4f})")
    print(f"Plot: {os.path.join(out_dir, 'thresholds.png')}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
