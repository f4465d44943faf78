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

A command line over :mod:`mmchest.apis.thresholds`.
"""
import argparse
import json
import os
import sys

from mmchest.arg_types import add_run_args, float_range, run_kwargs


def parse_args(argv=None):
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
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmchest.apis import ChestDetInferencer
    from mmchest.apis.thresholds import collect_rsna_results, plot_rsna_curves, rsna_threshold_sweep

    inferencer = ChestDetInferencer(args.config, args.checkpoint, **run_kwargs(args))
    results = collect_rsna_results(inferencer, args.split, args.max_images, args.batch_size)
    n = len(results)
    found = rsna_threshold_sweep(results, args.thrs, args.target_recall)
    sweep, best, at_target = found['sweep'], found['best'], found['at_target']

    out_dir = args.out_dir or os.path.join(os.path.dirname(args.checkpoint) or '.',
                                           'thresholds')
    os.makedirs(out_dir, exist_ok=True)
    n_pos = found['num_positive']
    with open(os.path.join(out_dir, 'thresholds.json'), 'w') as f:
        json.dump(dict(split=args.split, num_images=n, num_positive=n_pos,
                       target_recall=args.target_recall, best=best, at_target_recall=at_target,
                       sweep=sweep), f, indent=1)
    plot_rsna_curves(sweep, best, at_target, args.target_recall,
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
