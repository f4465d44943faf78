"""Write an RSNA Pneumonia Detection Kaggle submission from a trained mmdet detector.

Output format: ``patientId,PredictionString``, one row per DICOM in ``--img-dir`` (the file
stem is the patientId); the string holds ``score x y width height`` groups in original-image
pixels, highest score first, for the boxes with ``score > --score-thr`` (empty if none).

Example::

    python tools/rsna_submission.py configs/mask_rcnn_rsna.py \
        work_dirs/mask_rcnn_rsna/best_rsna_mAP_epoch_12.pth \
        --img-dir datasets/rsna/stage_2_test_images --out work_dirs/submission.csv \
        --score-thr 0.5 --device cuda:0
"""
from __future__ import annotations

import argparse
import csv
import os
import os.path as osp
import sys
from typing import List, Sequence

import mmchest  # noqa: F401  (registers the transforms; safe checkpoint loading)
from mmchest.io.rsna_labels import format_prediction_string


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


def list_dicoms(img_dir: str) -> List[str]:
    """Sorted ``*.dcm`` paths directly inside ``img_dir``."""
    if not osp.isdir(img_dir):
        from mmchest.data_root import require_paths
        require_paths([img_dir], 'RSNA Pneumonia Detection test images',
                      'datasets/rsna/README.md')
    paths = sorted(osp.join(img_dir, f) for f in os.listdir(img_dir)
                   if f.lower().endswith('.dcm'))
    if not paths:
        raise FileNotFoundError(f'no .dcm files in {img_dir!r}')
    return paths


def inference_pipeline(cfg) -> list:
    """The config's test pipeline without annotation loading."""
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    return [t for t in pipeline if not str(t['type']).endswith('LoadAnnotations')]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from mmcv.transforms import Compose

    from mmchest.det.inference import load_detector, predict_batches

    paths = list_dicoms(args.img_dir)
    model = load_detector(args.config, args.checkpoint, args.device, args.cfg_options)
    pipeline = Compose(inference_pipeline(model.cfg))

    rows = []
    n_boxes = 0
    for i, res in predict_batches(model, lambda i: pipeline(dict(img_path=paths[i], img_id=i)),
                                  range(len(paths)), args.batch_size):
        pred = res.pred_instances
        text = format_prediction_string(pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                                        score_thr=args.score_thr,
                                        image_hw=tuple(res.ori_shape[:2]))
        n_boxes += len(text.split()) // 5
        rows.append((osp.splitext(osp.basename(paths[i]))[0], text))

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
