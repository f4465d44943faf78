#!/usr/bin/env python
"""Run a trained mmchest model (mmseg or mmdet config) on DICOM / PNG files.

    python tools/infer.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        datasets/siim/dicom-images-test extra.png --out work_dirs/infer_siim
    python tools/infer.py configs/mask_rcnn_rsna.py work_dirs/mask_rcnn_rsna/epoch_12.pth \
        datasets/rsna/stage_2_test_images --out work_dirs/infer_rsna --score-thr 0.9

Inputs are files (read as DICOM when they end in .dcm/.dicom or carry the DICOM prefix,
otherwise as an image) or folders, searched recursively for *.dcm, *.dicom and *.png.
Before the model loads, every input is resolved (a missing one is listed in ``errors.csv``,
the others go on) and ``--out`` is created and proved writable (otherwise exit status 2).

Outputs under ``--out``. ``<name>`` is the input file's stem, made unique with ``_2``, ...;
a DICOM whose stem contains its PatientID or PatientName (the rule of
:mod:`mmchest.io.safe_names`, shared with ``tools/dicom_to_png.py``) is named by its
SOPInstanceUID instead, or ``sha256-<16 hex digits>`` of the file when the UID is missing,
carries the identifier too, or the header cannot be parsed; ``summary.csv`` maps names to
sources:

- segmentation: ``masks/<name>.png``, 8-bit, original size, 0 = background, 255 = finding
  (after the config's post-processing, e.g. SIIM triplet thresholding);
- detection: ``boxes/<name>.json``, ``{"image", "height", "width", "score_thr", "boxes":
  [{"x1", "y1", "x2", "y2", "score"}, ...]}`` in original-image pixels, boxes with
  ``score > --score-thr``, highest score first;
- ``overlays/<name>.png``: the radiograph with the mask contour, or with the boxes and scores;
- ``summary.csv``: ``image,source,probability,has_finding,mask_pixels|num_boxes``, one row
  per image. ``probability`` is the has-finding score: the maximum foreground probability
  (segmentation) or the highest box score (detection; 0 without boxes).

- ``--format dicom``: ``dicom/<name>.dcm``, a DICOM Segmentation (segmentation configs;
  BINARY from the mask, or FRACTIONAL from the probability map with ``--seg-type
  fractional``) or a TID 1500 Comprehensive 3D SR with one planar ROI and probability per box
  (detection configs), referencing the source DICOM (docs/hospital_outputs.md); instead of
  the masks/boxes, or next to them with ``--format native --format dicom``. A non-DICOM
  input gets no DICOM output and a row in ``errors.csv``;
- ``errors.csv``: ``source,error``, one row per input that is missing or cannot be read
  (header only when there is none, so a rerun never leaves an old list behind).

``--backend onnxruntime`` runs a model exported with ``tools/export.py`` (CHECKPOINT is the
``.onnx`` file; segmentation configs) on onnxruntime, with the same outputs
(docs/deploy.md).

A missing or unreadable input is reported on stderr and in ``errors.csv`` and skipped; the
run goes on with the others and exits with status 3. ``source`` columns repeat the input
paths as given. The model runs on CUDA when available (``--device``).

A command line over :func:`mmchest.apis.infer_folder.infer_to_folder` (the inference API,
:func:`mmchest.apis.init_inferencer`, is documented in docs/inference.md).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmseg or mmdet config of this project')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='DICOM/PNG files or folders (searched recursively)')
    parser.add_argument('--out', required=True,
                        help='output folder (created; checked before the model loads)')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='detection: keep boxes with score > this (default: %(default)s)')
    parser.add_argument('--device', default=None, help="e.g. 'cuda:0' or 'cpu' (default: "
                        'CUDA when available)')
    parser.add_argument('--no-overlay', action='store_true', help='skip the overlay PNGs')
    parser.add_argument('--max-pixels', type=int, default=None,
                        help='largest DICOM read, Rows x Columns x frames x samples from its '
                        "header (default: the config loader's, 8192 x 8192); larger files "
                        'are listed in errors.csv')
    parser.add_argument('--format', action='append', choices=('native', 'dicom'),
                        dest='formats', help='native: masks/*.png or boxes/*.json (default); '
                        'dicom: dicom/<name>.dcm, a DICOM SEG (segmentation) or TID 1500 SR '
                        '(detection) referencing its DICOM source; repeat for both: '
                        '--format native --format dicom')
    parser.add_argument('--seg-type', choices=('binary', 'fractional'), default='binary',
                        help='--format dicom SEG from the mask (binary, default) or the '
                        'probability map (fractional)')
    parser.add_argument('--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
                        help='onnxruntime: CHECKPOINT is the .onnx file of tools/export.py '
                        '(segmentation configs; no mmcv/mmseg at run time; --cfg-options '
                        'may only change model.test_cfg.triplet.*). Default: %(default)s')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from mmchest.apis.infer_folder import infer_to_folder
    return infer_to_folder(args.config, args.checkpoint, args.inputs, args.out,
                           score_thr=args.score_thr, device=args.device,
                           overlays=not args.no_overlay, max_pixels=args.max_pixels,
                           cfg_options=args.cfg_options, formats=args.formats or ['native'],
                           seg_type=args.seg_type, backend=args.backend)


if __name__ == '__main__':
    sys.exit(main())
