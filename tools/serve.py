#!/usr/bin/env python
"""A small browser demo: upload a DICOM, see the radiograph with the model's overlay.

    python tools/serve.py configs/demo/unet_siim_synthetic.py \
        work_dirs/unet_siim_synthetic/iter_400.pth --port 8000
    # then open http://127.0.0.1:8000/

Works with the mmseg (mask contour) and mmdet (boxes and scores) configs of this project,
through the same inference API as ``tools/infer.py`` (:mod:`mmchest.apis`; the app is
:func:`mmchest.apis.webapp.create_app`). The page shows the overlay and the
finding probability (maximum foreground probability, or highest box score).

Safety: only DICOM uploads are accepted (Part 10 prefix, or a ``.dcm``/``.dicom`` name whose
content parses as DICOM), at most ``--max-upload-mb``; others get a 400/413 page that says
why. The header's declared size (Rows x Columns x frames x samples) is checked against
``--max-pixels`` before anything is decoded or inflated, so a small decompression bomb gets a
413 instead of taking the server's memory. Each upload is written under a private
temporary directory with a server-chosen name, predicted, and deleted; the uploaded file
name is only shown (escaped), never used as a path. Results are embedded in the page as
``data:`` URIs, so no route serves files. The server binds to 127.0.0.1 unless ``--host``
says otherwise; it is a demo, not a production server.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmseg or mmdet config of this project')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--host', default='127.0.0.1', help='default: %(default)s')
    parser.add_argument('--port', type=int, default=8000, help='default: %(default)s')
    parser.add_argument('--max-upload-mb', type=float, default=64,
                        help='largest accepted upload in MB (default: %(default)s)')
    parser.add_argument('--max-pixels', type=int, default=None,
                        help='largest image accepted, Rows x Columns x frames x samples from '
                        'the header (default: 8192 x 8192)')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='detection: boxes with score > this (default: %(default)s)')
    parser.add_argument('--device', default=None, help="e.g. 'cuda:0' or 'cpu' (default: "
                        'CUDA when available)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from mmchest.apis.webapp import run_server
    return run_server(args.config, args.checkpoint, host=args.host, port=args.port,
                      max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                      score_thr=args.score_thr, device=args.device)


if __name__ == '__main__':
    sys.exit(main())
