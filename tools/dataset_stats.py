#!/usr/bin/env python
"""Summarise a config's dataset: a table (Markdown + JSON) and PNG plots.

    python tools/dataset_stats.py configs/mask_rcnn_rsna.py --out work_dirs/stats_rsna
    python tools/dataset_stats.py configs/unet_siim.py --split val --out work_dirs/stats_val \
        --cfg-options val_dataloader.dataset.data_root=/data/siim

The dataset is built from the config's ``<split>_dataloader.dataset`` after ``--cfg-options``
(as ``mim train`` builds it), and the statistics come from its data infos
(:mod:`mmchest.analysis.dataset_stats`). Shortcut for a whole download (every labelled
image, the layout's config from ``configs/`` with ``data_root`` set to ROOT):

    python tools/dataset_stats.py {siim,siim_png,rsna,multi_expert} ROOT --out DIR

Written to ``--out``: ``stats.md`` (also printed) and ``stats.json`` with counts by class,
view position, sex and age band (10-year bands, 80+; 'unknown' when a header lacks the
value), boxes per image and the mask area distribution (percent of the image, positive
images); plots ``counts.png``, ``boxes_per_image.png``, ``mask_area.png`` and
``box_centres.png`` (heatmap of box centres in normalised image coordinates, one panel per
view position). No image id or patient value is printed.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from mmchest.analysis.dataset_stats import LAYOUTS


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help=f'config file, or a download layout {LAYOUTS}')
    parser.add_argument('root', nargs='?', help='dataset root folder (layout form only)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'],
                        help='the dataloader whose dataset is summarised (default: '
                        '%(default)s; the layout form takes every labelled image)')
    parser.add_argument('--name', default=None,
                        help='name in the table and plots (default: layout or config name)')
    parser.add_argument('--bins', type=int, default=16,
                        help='heatmap grid size (default: %(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim train')
    args = parser.parse_args(argv)
    if args.config in LAYOUTS and args.root is None:
        parser.error(f'the layout form needs a dataset root: {args.config} ROOT')
    if args.config not in LAYOUTS and args.root is not None:
        parser.error(f'ROOT is for the layout form ({", ".join(LAYOUTS)}); with a config, '
                     'override data_root with --cfg-options')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmchest.analysis.dataset_stats import layout_config, records_from_config, write_stats
    if args.root is not None:
        if not osp.isdir(args.root):
            from mmchest.data_root import require_paths
            require_paths([args.root], f'{args.config} dataset', 'datasets/')
        cfg, split, name = layout_config(args.config, args.root), 'train', args.config
    else:
        cfg, split = Config.fromfile(args.config), args.split
        name = osp.splitext(osp.basename(args.config))[0]
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    records = records_from_config(cfg, split)
    if not records:
        print(f'no labelled image found in {args.config!r}', file=sys.stderr)
        return 2
    result = write_stats(records, args.out, args.name or name, args.bins)
    print(result['table'])
    print(f'wrote stats.md, stats.json and 4 plots to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
