#!/usr/bin/env python
"""Write a SIIM-ACR Kaggle submission from a trained model and a folder of test DICOMs.

    python tools/siim_submission.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        datasets/siim/dicom-images-test --out submission.csv

Rows are ``ImageId,EncodedPixels`` with ``-1`` for an empty mask; the RLE is the SIIM
relative, column-major format (``--rle-format absolute`` for 1-indexed absolute starts). The
config's test-time post-processing (triplet thresholding, e.g. the one tuned on the validation
split, passed with ``--cfg-options model.test_cfg.triplet...``) is applied. A DICOM that
cannot be read is reported, written as ``-1`` and counted; the tool then exits with status 3.

A command line over :func:`mmchest.apis.submission.siim_submission_rows`.
"""
import argparse
import csv
import os
import sys

from mmchest.arg_types import add_run_args, run_kwargs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('dicom_dir', help='folder searched recursively for *.dcm')
    parser.add_argument('--out', default='submission.csv')
    parser.add_argument('--rle-format', choices=['relative', 'absolute'], default='relative')
    add_run_args(parser, device=None,
                 cfg_options_help='override config settings, as in mim test (e.g. the triplet '
                 'tools/search_thresholds.py prints)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmchest.apis import ChestSegInferencer
    from mmchest.apis.submission import siim_submission_rows

    inferencer = ChestSegInferencer(args.config, args.checkpoint, **run_kwargs(args))
    rows, failed = siim_submission_rows(inferencer, args.dicom_dir,
                                        relative=args.rle_format == 'relative')
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['ImageId', 'EncodedPixels'])
        writer.writerows(rows)
    os.replace(tmp, args.out)
    positives = sum(r != '-1' for _, r in rows)
    print(f'\nwrote {len(rows)} rows ({positives} with pneumothorax) to {args.out}'
          + (f'; {failed} unreadable DICOM(s) written as -1' if failed else ''))
    return 3 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
