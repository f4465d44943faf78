#!/usr/bin/env python
"""Decode every image of a config's train/val/test datasets and write an exclude list.

    python tools/check_dataset.py configs/unet_siim.py
    python tools/check_dataset.py configs/mask_rcnn_rsna.py --workers 16 \
        --cfg-options train_dataloader.dataset.data_root=/data/rsna \
        val_dataloader.dataset.data_root=/data/rsna test_dataloader.dataset.data_root=/data/rsna

Builds each dataset from the config (after ``--cfg-options``, as ``mim train`` reads it, with
``bad_files='skip'`` so nothing stops the listing), decodes every file with the pipeline's own
loader in parallel worker processes, prints a summary, and writes ``<data_root>/exclude.txt``
(``--out``): one ``path<TAB>reason`` line per file that will not load. Pass it to the datasets
as ``exclude_file``. Exits 1 when it found bad files, 0 otherwise.
"""
import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--workers', type=int, default=None,
                        help='decoding processes (default: min(8, CPUs); 0: in this process)')
    parser.add_argument('--out', default=None, help='default: <data_root>/exclude.txt')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim train')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmchest.analysis.check_dataset import SPLITS, check_dataset
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    report = check_dataset(cfg, splits=args.splits, workers=args.workers, out=args.out)
    bad = report['bad']
    print(f'checked {report["checked"]} file(s) of splits {", ".join(args.splits)}: '
          f'{len(bad)} will not load')
    for path, reason, splits in bad[:50]:
        print(f'  [{",".join(splits)}] {path}: {reason}')
    if len(bad) > 50:
        print(f'  ... and {len(bad) - 50} more')
    print(f'list: {report["exclude_file"]}')
    if bad:
        root = report['data_root']
        name = report['exclude_file']
        if root and osp.abspath(name).startswith(osp.abspath(root) + osp.sep):
            name = osp.relpath(osp.abspath(name), osp.abspath(root))
        options = ' '.join(f'{SPLITS[s]}.dataset.exclude_file={name}' for s in args.splits)
        print(f'train without them: mim train ... --cfg-options {options}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
