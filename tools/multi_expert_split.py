#!/usr/bin/env python
"""Re-split the multi-expert pneumonia dataset by patient, writing an indices.json-shaped file.

The split is stratified by class (pneumonia / norma) and grouped by patient: the pneumonia
studies of one ``masks/dup_list.json`` group, and both views of a study, share a split.
Without an ``indices.json`` (the zenodo download as published) and with the default seed and
fractions, the file holds exactly the split the configs use by default (the dataset's
``ann_file=None``); with one, the studies it lists are re-split.

Example::

    python tools/multi_expert_split.py datasets/multi_expert_pneumonia \
        --out datasets/multi_expert_pneumonia/indices_by_patient.json --seed 0

then train with ``--cfg-options train_dataloader.dataset.ann_file=indices_by_patient.json``
(and the same for the val/test dataloaders).
:func:`mmchest.analysis.multi_expert_split.split_by_patient` does the work.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmchest.analysis.multi_expert_split import DEFAULT_FRACTIONS, split_by_patient, write_split


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='folder holding images/, masks/ (and indices.json)')
    parser.add_argument('--out', required=True, help='output JSON (indices.json shape)')
    parser.add_argument('--fractions', type=float, nargs=3, default=DEFAULT_FRACTIONS,
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='relative split sizes (default: %(default)s, as the dataset)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument('--indices', default='indices.json',
                        help='studies to re-split, relative to data_root; when absent every '
                        'image under images/ is used (default: indices.json)')
    parser.add_argument('--dup-list', default='masks/dup_list.json',
                        help='same-patient groups, relative to data_root '
                        '(default: masks/dup_list.json)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        split = split_by_patient(args.data_root, args.fractions, args.seed, args.indices,
                                 args.dup_list)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if split.source_leaks is not None:
        print(f'{split.source}: {split.source_leaks} same-patient group(s) span several splits')
    if split.dup_list is None:
        print(f'warning: {osp.join(args.data_root, args.dup_list)} not found; grouping by '
              'study only', file=sys.stderr)
    write_split(args.out, split.indices)
    for name, by_class in split.indices.items():
        print(f'{name}: ' + ', '.join(f'{len(ids)} {cls}' for cls, ids in by_class.items()))
    print(f'wrote {args.out} (seed {args.seed}, 0 leaking groups)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
