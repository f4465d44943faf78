#!/usr/bin/env python
"""Run a model on a PACS study over DICOMweb and store its SEG/SR back into the study.

    python tools/pacs_infer.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        --url http://127.0.0.1:8042/dicom-web --study 1.2.826.0.1.3680043.8.498.1
    python tools/pacs_infer.py configs/mask_rcnn_rsna.py epoch_12.pth \
        --url http://127.0.0.1:8042/dicom-web --watch --interval 10

Each image instance of the study is fetched with WADO-RS, predicted, and its DICOM
Segmentation (segmentation configs; ``--seg-type fractional`` for probabilities) or TID 1500
Structured Report (detection configs) is stored with STOW-RS into the same study. Images that
an mmchest SEG/SR in the study already references are skipped, so reruns store nothing
twice. ``--watch`` polls QIDO-RS every ``--interval`` seconds (all studies, or the
``--study`` ones) and handles each new image once; stop it with Ctrl-C.

One line per image on stdout: ``<study> <instance> -> <SEG|SR> <new instance>`` or
``<study> <instance> failed: <reason>``. Exit status: 0 all done, 1 the model cannot be
loaded, 2 the server cannot be reached, 3 some images failed (the others were stored).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='segmentation or detection config of this project')
    parser.add_argument('checkpoint', help="checkpoint file ('none': untrained weights)")
    parser.add_argument('--url', required=True,
                        help='DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web')
    parser.add_argument('--study', action='append', default=None, metavar='UID',
                        help='Study Instance UID (repeatable); required without --watch')
    parser.add_argument('--watch', action='store_true',
                        help='poll for new images (all studies unless --study is given)')
    parser.add_argument('--interval', type=float, default=10.0,
                        help='--watch: seconds between polls (default: %(default)s)')
    parser.add_argument('--max-polls', type=int, default=None,
                        help='--watch: stop after this many polls (default: never)')
    parser.add_argument('--seg-type', choices=('binary', 'fractional'), default='binary',
                        help='SEG from the mask (binary) or the probability map (fractional)')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='detection: report boxes with score > this (default: %(default)s)')
    parser.add_argument('--device', default=None,
                        help="e.g. 'cuda:0' or 'cpu' (default: CUDA when available)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    args = parser.parse_args(argv)
    if not args.watch and not args.study:
        parser.error('--study is required without --watch')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    import requests
    from dicomweb_client import DICOMwebClient

    from mmchest.engine.checkpoint_fit import CHECKPOINT_ERRORS
    from mmchest.pacs import model_deriver, process_study, study_uids, watch

    client = DICOMwebClient(args.url)
    try:  # reachable? (before the model loads)
        if args.study:
            client.search_for_series(study_instance_uid=args.study[0], limit=1)
        else:
            study_uids(client)
    except (requests.RequestException, OSError) as err:
        print(f'error: cannot query {args.url} ({type(err).__name__}: {err})', file=sys.stderr)
        return 2
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    try:
        derive = model_deriver(args.config, checkpoint, seg_type=args.seg_type,
                               device=args.device, score_thr=args.score_thr,
                               cfg_options=args.cfg_options)
    except CHECKPOINT_ERRORS as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if args.watch:
        results = watch(client, derive, interval=args.interval, studies=args.study,
                        max_polls=args.max_polls)
    else:
        def one_by_one():
            for uid in args.study:
                done = process_study(client, uid, derive)
                if not done:
                    print(f'{uid}: nothing to do (no image without an mmchest SEG/SR)',
                          file=sys.stderr)
                yield from done
        results = one_by_one()
    failed = 0
    try:
        for r in results:
            if r.ok:
                modality = 'SEG' if r.derived_sop_class_uid.startswith(
                    '1.2.840.10008.5.1.4.1.1.66') else 'SR'
                print(f'{r.study_instance_uid} {r.sop_instance_uid} -> {modality} '
                      f'{r.derived_sop_instance_uid}', flush=True)
            else:
                failed += 1
                print(f'{r.study_instance_uid} {r.sop_instance_uid} failed: {r.error}',
                      flush=True)
    except KeyboardInterrupt:
        print('stopped', file=sys.stderr)
    return 3 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
