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
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

from mmchest.io.multi_expert_layout import (CLASS_DIRS, DEFAULT_SPLIT_RATIOS, SPLITS,
                                            indices_to_json, load_json, parse_dup_list,
                                            parse_indices, resplit, scan_images, split_leaks)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='folder holding images/, masks/ (and indices.json)')
    parser.add_argument('--out', required=True, help='output JSON (indices.json shape)')
    parser.add_argument('--fractions', type=float, nargs=3,
                        default=tuple(DEFAULT_SPLIT_RATIOS[k] for k in SPLITS),
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
    indices_path = osp.join(args.data_root, args.indices)
    dup_path = osp.join(args.data_root, args.dup_list)
    groups = parse_dup_list(load_json(dup_path), dup_path) if osp.isfile(dup_path) else {}
    if osp.isfile(indices_path):
        source = parse_indices(load_json(indices_path), indices_path)
        studies = {cls: [i for s in source.values() for i in s[cls]] for cls in CLASS_DIRS}
        print(f'{indices_path}: {len(split_leaks(source, groups))} same-patient group(s) '
              'span several splits')
    elif osp.isdir(osp.join(args.data_root, 'images')):
        found = scan_images(osp.join(args.data_root, 'images'))
        studies = {cls: list(found[cls]) for cls in CLASS_DIRS}
    else:
        print(f'error: neither {indices_path} nor {osp.join(args.data_root, "images")} '
              'exists', file=sys.stderr)
        return 2
    if not osp.isfile(dup_path):
        print(f'warning: {dup_path} not found; grouping by study only', file=sys.stderr)
    out = resplit(studies, groups, dict(zip(SPLITS, args.fractions)), seed=args.seed)
    leaks = split_leaks(out, groups)
    assert not leaks, leaks  # grouped split: cannot happen
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(indices_to_json(out), f, indent=1)
    for split, by_class in out.items():
        print(f'{split}: ' + ', '.join(f'{len(ids)} {cls}' for cls, ids in by_class.items()))
    print(f'wrote {args.out} (seed {args.seed}, 0 leaking groups)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
