#!/usr/bin/env python
"""Search SIIM triplet thresholds (top score, min area, bottom) on a validation set.

    python tools/search_thresholds.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        --out-dir work_dirs/unet_siim/thresholds

    python tools/search_thresholds.py configs/unet_siim.py CKPT --cfg-options \
        val_dataloader.dataset.data_root=/data/siim

Runs the model (without its configured triplet) over the config's ``val_dataloader`` dataset
(after ``--cfg-options``, as ``mim test`` reads the config), sweeps every triplet of the grid
with the competition score (mean per-image Dice, empty vs empty = 1), prints the best one with
the ``--cfg-options`` that applies it, and writes ``thresholds.png`` (the score over top x
bottom threshold, one panel per min area) and ``thresholds.json`` (the whole grid).
``min_area`` counts pixels at the original resolution. Tune on ``val`` and report the score of
``mim test`` on the held-out ``test`` split: the best score here is optimistic by construction.

A command line over :func:`mmchest.apis.thresholds.siim_triplet_search`.
"""
import argparse
import json
import os
import sys

from mmchest.arg_types import add_run_args, float_range, run_kwargs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', default=None, help='default: next to the checkpoint')
    parser.add_argument('--split', default='val', choices=['val', 'test'],
                        help="the config's dataloader to tune on (default: %(default)s; "
                        'tuning on test makes its score optimistic)')
    parser.add_argument('--top', type=float_range, default='0.5:0.95:0.05')
    parser.add_argument('--min-areas', type=int, nargs='+', default=[0, 250, 500, 1000, 2000, 3000])
    parser.add_argument('--bottom', type=float_range, default='0.2:0.6:0.05')
    parser.add_argument('--max-images', type=int, default=None)
    add_run_args(parser, device=None, device_help=None,
                 cfg_options_help='override config settings, as in mim test (e.g. '
                 'val_dataloader.dataset.data_root=DIR)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmchest.apis import ChestSegInferencer
    from mmchest.apis.thresholds import plot_siim_surface, siim_triplet_search

    inferencer = ChestSegInferencer(args.config, args.checkpoint, triplet=False,
                                    **run_kwargs(args))
    found = siim_triplet_search(inferencer, args.split, args.top, args.min_areas, args.bottom,
                                args.max_images)
    best, scores, n = found['best'], found['scores'], found['num_images']
    out_dir = args.out_dir or os.path.join(os.path.dirname(args.checkpoint) or '.',
                                           'thresholds')
    os.makedirs(out_dir, exist_ok=True)
    best_score = float(scores.max())
    with open(os.path.join(out_dir, 'thresholds.json'), 'w') as f:
        json.dump(dict(best=dict(top_score_threshold=best[0], min_area=best[1],
                                 bottom_threshold=best[2], dice=best_score),
                       top=args.top, min_areas=args.min_areas, bottom=args.bottom,
                       scores=scores.tolist(), num_images=n, split=args.split),
                  f, indent=1)
    plot_siim_surface(scores, args.top, args.min_areas, args.bottom, best,
                      os.path.join(out_dir, 'thresholds.png'))
    print(f'\n{n} images of split {args.split!r}. Best triplet: '
          f'top_score_threshold={best[0]}, min_area={best[1]}, '
          f'bottom_threshold={best[2]} -> siim/dice {best_score:.4f}')
    print('Apply it with: --cfg-options '
          f'model.test_cfg.triplet.top_score_threshold={best[0]} '
          f'model.test_cfg.triplet.min_area={best[1]} '
          f'model.test_cfg.triplet.bottom_threshold={best[2]}')
    print(f'Plot: {os.path.join(out_dir, "thresholds.png")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
