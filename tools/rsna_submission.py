"""Write an RSNA Pneumonia Detection Kaggle submission from a trained mmdet detector.

Output format: ``patientId,PredictionString``, one row per DICOM in ``--img-dir`` (the file
stem is the patientId); the string holds ``score x y width height`` groups in original-image
pixels, highest score first, for the boxes with ``score > --score-thr`` (empty if none).

Example::

    python tools/rsna_submission.py configs/mask_rcnn_rsna.py \
        work_dirs/mask_rcnn_rsna/best_rsna_mAP_epoch_12.pth \
        --img-dir datasets/rsna/stage_2_test_images --out work_dirs/submission.csv \
        --score-thr 0.5 --device cuda:0

A command line over :func:`mmchest.apis.submission.rsna_submission_rows`.
"""
from __future__ import annotations

import argparse
import csv
import os
import os.path as osp
import sys
from typing import Sequence


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmdet config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--img-dir', default='datasets/rsna/stage_2_test_images',
                        help='folder of <patientId>.dcm files (default: %(default)s)')
    parser.add_argument('--out', default='submission.csv', help='CSV to write')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='keep boxes with score > this (default: %(default)s)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from mmchest.apis import ChestDetInferencer
    from mmchest.apis.submission import list_dicoms, rsna_submission_rows

    paths = list_dicoms(args.img_dir)
    inferencer = ChestDetInferencer(args.config, args.checkpoint, device=args.device,
                                    cfg_options=args.cfg_options, score_thr=args.score_thr)
    rows, n_boxes = rsna_submission_rows(inferencer, paths, args.score_thr, args.batch_size)

    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['patientId', 'PredictionString'])
        writer.writerows(rows)
    n_pos = sum(1 for _, text in rows if text)
    print(f'wrote {args.out}: {len(rows)} images, {n_pos} with boxes, {n_boxes} boxes '
          f'(score > {args.score_thr:g})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
