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
"""
import argparse
import json
import os
import sys

import numpy as np

from mmchest.arg_types import float_range


def parse_args(argv=None):
    from mmengine.config import DictAction
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
    parser.add_argument('--device', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test (e.g. '
                        'val_dataloader.dataset.data_root=DIR)')
    return parser.parse_args(argv)


def plot_surface(scores: np.ndarray, tops, areas, bottoms, best, path: str) -> None:
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


def main(argv=None) -> int:
    args = parse_args(argv)
    import mmchest  # noqa: F401
    from mmengine.utils import ProgressBar

    from mmchest.postprocessing.triplet_threshold import threshold_grid_search
    from mmchest.seg.inference import (build_eval_dataset, load_segmentor, predict_dataset,
                                       probability_map)

    model = load_segmentor(args.config, args.checkpoint, device=args.device,
                           cfg_options=args.cfg_options, triplet=False)
    dataset = build_eval_dataset(model, args.split)
    print(f"Tuning on the config's {args.split!r} split ({len(dataset)} images, "
          f"{model.cfg[f'{args.split}_dataloader']['dataset'].get('data_root')})")
    n = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    probs, gts = [], []
    bar = ProgressBar(n)
    for _, sample in predict_dataset(model, dataset, range(n)):
        probs.append(probability_map(sample).astype(np.float16))
        gts.append(sample.gt_sem_seg.data[0].cpu().numpy() == 1)
        bar.update()
    best, scores = threshold_grid_search([p.astype(np.float32) for p in probs], gts,
                                         args.top, args.min_areas, args.bottom)
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
    plot_surface(scores, args.top, args.min_areas, args.bottom, best,
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
