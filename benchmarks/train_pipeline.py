"""Benchmark: the SIIM and RSNA training pipelines, per image, against a bare JPEG decode.

Writes a small synthetic SIIM download and a small RSNA download at full Kaggle size
(1024x1024 JPEG-baseline DICOMs; the synthetic radiographs are drawn at 512 px and upsampled,
masks and boxes scaled with them), builds each dataset from its config with the data root
pointed there, and times, one pipeline after the other (as a loader worker runs one), each
call right after a bare decode of the same image so that both see the same background load:

- the bare libjpeg-turbo decode of the image's JPEG frame (``simplejpeg``, bytes in memory),
- the ``train_pipeline`` of ``configs/unet_siim.py`` (``configs/_base_/datasets/siim.py``),
- the SIIM train pipeline before issue 14 (mmseg's ``RandomResize`` -> ``RandomCrop`` ->
  ``RandomRotate`` -> ``RandomFlip`` -> ``PhotoMetricDistortion`` on a 3-channel image),
  kept here as the reference,
- the ``train_pipeline`` of ``configs/mask_rcnn_rsna.py``,

and prints, per pipeline, the median wall and CPU (this thread's) ms per image, their ratio
to the medians of the decodes timed next to it, and the median ms of every transform. All of
it is one run.

Usage::

    python benchmarks/train_pipeline.py [--num 24] [--runs 8] [--warmup 1] [--size 1024]

Files are written to a temporary directory that is removed afterwards.
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List

import cv2
import numpy as np
import pydicom
import simplejpeg
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DATASETS, init_default_scope

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mmchest  # noqa: E402,F401
from mmchest import synthetic  # noqa: E402
from mmchest.io.rle import rle_encode  # noqa: E402

SIIM_CONFIG = 'configs/unet_siim.py'
RSNA_CONFIG = 'configs/mask_rcnn_rsna.py'
#: configs/_base_/datasets/siim.py's train_pipeline before issue 14 (the reference row).
SIIM_BEFORE = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='LoadRLEMask'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.9, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomRotate', prob=0.3, degree=10, pad_val=0, seg_pad_val=0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', hue_delta=1, saturation_range=(1.0, 1.0)),
    dict(type='PackSegInputs'),
]


def _upsample(img: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    if nearest:
        return cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST)
    # film-grain-like noise, as in benchmarks/dicom_load.py: a smooth upsampled image would
    # compress (and decode) far faster than a real radiograph
    up = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noise = np.random.default_rng(int(img[::7, ::7].sum())).normal(0, 4, up.shape)
    return np.clip(up + noise, 0, 255).astype(np.uint8)


def write_siim(root: str, num: int, size: int) -> str:
    """A SIIM Kaggle layout of ``num`` labelled ``size`` px DICOMs; returns its root."""
    out = osp.join(root, 'siim')
    rows = ['ImageId, EncodedPixels']
    for case in synthetic.siim_cases(num, 1, size=512, seed=3):
        if case.split != 'train':
            continue
        tags = case.tags
        synthetic.write_dicom(
            osp.join(out, 'dicom-images-train', tags['StudyInstanceUID'],
                     tags['SeriesInstanceUID'], f'{case.case_id}.dcm'),
            _upsample(case.sample.image, size), sop_instance_uid=tags['SOPInstanceUID'],
            study_instance_uid=tags['StudyInstanceUID'],
            series_instance_uid=tags['SeriesInstanceUID'], patient_id=tags['PatientID'])
        mask = _upsample(case.sample.mask, size, nearest=True)
        rows.append(f'{case.case_id}, {rle_encode(mask) if mask.any() else "-1"}')
    Path(out, 'train-rle.csv').write_text('\n'.join(rows) + '\n')
    return out


def write_rsna(root: str, num: int, size: int) -> str:
    """An RSNA stage-2 layout of ``num`` labelled ``size`` px DICOMs; returns its root."""
    out = osp.join(root, 'rsna')
    labels = ['patientId,x,y,width,height,Target']
    classes = ['patientId,class']
    k = size / 512
    for case in synthetic.rsna_cases(num, 1, size=512, seed=3):
        if case.split != 'train':
            continue
        synthetic.write_dicom(osp.join(out, 'stage_2_train_images', f'{case.case_id}.dcm'),
                              _upsample(case.sample.image, size), patient_id=case.case_id)
        boxes = case.sample.boxes.tolist()
        for x1, y1, x2, y2 in boxes:
            labels.append(f'{case.case_id},{x1 * k:.1f},{y1 * k:.1f},'
                          f'{(x2 - x1) * k:.1f},{(y2 - y1) * k:.1f},1')
        if not boxes:
            labels.append(f'{case.case_id},,,,,0')
        classes += [f'{case.case_id},{case.label}'] * max(1, len(boxes))
    Path(out, 'stage_2_train_labels.csv').write_text('\n'.join(labels) + '\n')
    Path(out, 'stage_2_detailed_class_info.csv').write_text('\n'.join(classes) + '\n')
    return out


def build_dataset(config: str, data_root: str, split_key: str):
    """The config's training dataset on ``data_root`` (all images in 'train'), no pipeline."""
    cfg = Config.fromfile(str(REPO / config))
    init_default_scope(cfg.default_scope)
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.update(data_root=data_root, pipeline=[])
    ds_cfg[split_key] = dict(train=0.9, val=0.05, test=0.05)
    return DATASETS.build(ds_cfg), cfg.train_dataloader.dataset.pipeline


class TimedPipeline:
    """A pipeline whose transforms record their own wall time (ms) per call."""

    def __init__(self, name: str, transforms: List[dict], scope: str):
        init_default_scope(scope)
        self.name = name
        self.scope = scope
        self.compose = Compose(copy.deepcopy(transforms))
        self.per_transform: Dict[str, List[float]] = defaultdict(list)
        self.names = []
        for i, t in enumerate(self.compose.transforms):
            label = f'{i}. {type(t).__name__}'
            self.names.append(label)
            self.compose.transforms[i] = self._timed(t, label)

    def _timed(self, transform: Callable, label: str) -> Callable:
        def call(results):
            out, wall, cpu = timed(transform, results)
            self.per_transform[label].append((wall, cpu))
            return out
        return call

    def __call__(self, data_info: dict):
        return self.compose(data_info)


def timed(fn: Callable, *args):
    """``fn(*args)`` and its wall and CPU (this thread's) time in ms."""
    wall, cpu = time.perf_counter(), time.thread_time()
    out = fn(*args)
    return out, (time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3


def decode_gray(jpg: bytes) -> np.ndarray:
    """The bare decode: libjpeg-turbo, JPEG bytes in memory to HxW uint8."""
    return simplejpeg.decode_jpeg(jpg, colorspace='GRAY')


def jpeg_frame(path: str) -> bytes:
    ds = pydicom.dcmread(path)
    return next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    return (f'{cpu}, {os.cpu_count()} logical CPUs, load average {load:.1f}; Python '
            f'{platform.python_version()}, numpy {np.__version__}, opencv {cv2.__version__}, '
            f'simplejpeg {simplejpeg.__version__}')


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num', type=int, default=24, help='images per dataset')
    parser.add_argument('--runs', type=int, default=8, help='timed passes over the images')
    parser.add_argument('--warmup', type=int, default=1, help='untimed passes first')
    parser.add_argument('--size', type=int, default=1024, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='numpy seed of the augmentations')
    args = parser.parse_args(argv)
    # as in a loader worker (torch's DataLoader sets one torch thread; cv2 is told the same)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    np.random.seed(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        siim_ds, siim_pipe = build_dataset(SIIM_CONFIG, write_siim(tmp, args.num, args.size),
                                           'split_ratios')
        rsna_ds, rsna_pipe = build_dataset(RSNA_CONFIG, write_rsna(tmp, args.num, args.size),
                                           'split_fractions')
        pipes = [
            (TimedPipeline('SIIM train pipeline (configs/unet_siim.py)', siim_pipe, 'mmseg'),
             siim_ds),
            (TimedPipeline('SIIM train pipeline before issue 14 (mmseg transforms)',
                           SIIM_BEFORE, 'mmseg'), siim_ds),
            (TimedPipeline('RSNA train pipeline (configs/mask_rcnn_rsna.py)', rsna_pipe,
                           'mmdet'), rsna_ds),
        ]
        frames = {id(ds): [jpeg_frame(ds.get_data_info(i)['img_path']) for i in range(len(ds))]
                  for ds in (siim_ds, rsna_ds)}
        # One block of passes per pipeline, as a loader worker runs one pipeline (pipelines
        # interleaved call by call evict each other's buffers from the caches); each call
        # right after a bare decode of the same image, so both see the same load.
        decode: Dict[str, List[tuple]] = defaultdict(list)  # per pipeline: (wall, cpu)
        totals: Dict[str, List[tuple]] = defaultdict(list)
        for pipe, ds in pipes:
            init_default_scope(pipe.scope)
            for run in range(args.warmup + args.runs):
                for i in range(len(ds)):
                    info = ds.get_data_info(i)
                    _, wall, cpu = timed(decode_gray, frames[id(ds)][i])
                    out, p_wall, p_cpu = timed(pipe, info)
                    assert out is not None and out['inputs'].shape[-2:] != (0, 0)
                    if run >= args.warmup:
                        decode[pipe.name].append((wall, cpu))
                        totals[pipe.name].append((p_wall, p_cpu))
                if run < args.warmup:
                    pipe.per_transform.clear()

    def med(pairs, k):
        return statistics.median(p[k] for p in pairs)

    print(f'Machine: {machine()}')
    print(f'{args.num} synthetic {args.size}x{args.size} JPEG-baseline DICOMs per dataset, '
          f'{args.runs} timed passes after {args.warmup} warm-up, one cv2/torch thread; '
          'wall time and CPU time of this thread (not counting time the process waits '
          'for a core)\n')
    print('| method | median wall ms/image | x bare decode (wall) | min wall ms | '
          'median CPU ms/image | x bare decode (CPU) |')
    print('|---|---:|---:|---:|---:|---:|')
    ratios = {}
    for pipe, ds in pipes:
        base = decode[pipe.name]
        rows = totals[pipe.name]
        wall, cpu = med(rows, 0) / med(base, 0), med(rows, 1) / med(base, 1)
        ratios[pipe.name] = dict(wall=wall, cpu=cpu)
        print(f'| bare decode next to it | {med(base, 0):.2f} | 1.00 | '
              f'{min(p[0] for p in base):.2f} | {med(base, 1):.2f} | 1.00 |')
        print(f'| {pipe.name} | {med(rows, 0):.2f} | {wall:.2f} | '
              f'{min(p[0] for p in rows):.2f} | {med(rows, 1):.2f} | {cpu:.2f} |')
    for pipe, _ in pipes:
        print(f'\n{pipe.name}, median ms per transform (wall / CPU):')
        for label in pipe.names:
            pairs = pipe.per_transform[label]
            print(f'  {label:<40} {med(pairs, 0):7.2f} / {med(pairs, 1):.2f}')
    return ratios


if __name__ == '__main__':
    main()
