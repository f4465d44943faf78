#!/usr/bin/env python
"""Convert DICOM files to 8-bit PNG, in parallel and resumable, without patient identifiers.

    # any folder of DICOMs -> the same tree of PNGs
    python tools/dicom_to_png.py datasets/rsna/stage_2_test_images work_dirs/rsna_png \
        --names sop --norm percentile --size 512
    # the SIIM-ACR download -> MMSegmentation's chest_image_pneum layout
    python tools/dicom_to_png.py datasets/siim datasets/siim_png --layout chest_image_pneum

Layouts (``--layout``): ``mirror`` (default; every ``*.dcm``/``*.dicom`` under SRC, same tree or
``--names sop``), ``siim_png`` (SRC = the SIIM-ACR download -> ``images/{train,test}``,
``masks/train``) and ``chest_image_pneum`` (``siim_png`` + seeded ``train.txt``/``val.txt``).
Resume-safe, options recorded in ``OUT/.mmchest_dicom_to_png.json`` (a rerun with other
options exits 2; ``--overwrite`` redoes everything), unreadable files reported (exit 3), no
patient identifiers in names or PNGs. Everything is done by
:func:`mmchest.analysis.dicom_to_png.dicom_to_png` (its docstring has the details).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from mmchest.analysis.dicom_to_png import LAYOUTS, dicom_to_png


# ---------------------------------------------------------------------------------- CLI
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='folder of DICOMs (mirror) or the SIIM-ACR download')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--layout', choices=LAYOUTS, default='mirror')
    parser.add_argument('--names', choices=('input', 'sop'), default='input',
                        help='mirror layout: name PNGs after the input file (keeping its '
                        'folder) or after the SOPInstanceUID (flat) (default: %(default)s)')
    parser.add_argument('--size', type=int, default=None,
                        help='resize so the longer side is this many pixels')
    parser.add_argument('--norm', choices=('auto', 'none', 'minmax', 'percentile', 'window'),
                        default='auto',
                        help='DICOM intensity mapping (see read_dicom; default: %(default)s, '
                        'as a viewer shows it: 8-bit files bit-identical, deeper ones '
                        'through their VOI LUT / window)')
    parser.add_argument('--window', type=float, nargs=2, metavar=('CENTER', 'WIDTH'),
                        help="window for --norm window (default: the file's tags)")
    parser.add_argument('--percentiles', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        default=(0.5, 99.5), help='clip percentiles for --norm percentile')
    parser.add_argument('--voi-lut', action='store_true', help="apply the file's VOI LUT")
    parser.add_argument('--ann-file', default=None, help='SIIM layouts: RLE CSV (default: '
                        'train-rle.csv, else stage_2_train.csv)')
    parser.add_argument('--val-fraction', type=float, default=0.2,
                        help='chest_image_pneum: share of val.txt (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    parser.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1),
                        help='processes (default: %(default)s; 1 = no pool)')
    parser.add_argument('--overwrite', action='store_true',
                        help="redo every file with this run's options and record them in "
                        'OUT/.mmchest_dicom_to_png.json (refused while another run writes '
                        'OUT; other files in OUT are left as they are)')
    args = parser.parse_args(argv)
    if args.size is not None and args.size < 1:
        parser.error('--size must be positive')
    if not 0 <= args.val_fraction < 1:
        parser.error('--val-fraction must be in [0, 1)')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    result = dicom_to_png(args.src, args.out, layout=args.layout, names=args.names,
                          size=args.size, norm=args.norm, window=args.window,
                          percentiles=args.percentiles, voi_lut=args.voi_lut,
                          ann_file=args.ann_file, val_fraction=args.val_fraction,
                          seed=args.seed, workers=args.workers, overwrite=args.overwrite)
    if result.status != 2:
        print(result.summary())
    return result.status


if __name__ == '__main__':
    sys.exit(main())
