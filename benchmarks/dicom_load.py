"""Benchmark: loading a 1024x1024 8-bit JPEG-Baseline chest-like DICOM.

Compares (median and minimum wall time of ``--runs`` calls after ``--warmup`` calls, one
process, the methods called round-robin so that background load hits all of them alike):

- raw libjpeg-turbo decode of the encapsulated frame (``simplejpeg``, bytes in memory),
  alone and followed by the grey -> 3-channel copy the transform's default output needs,
- ``mmchest.io.dicom.read_dicom`` (file read + parse + decode, HxW),
- ``LoadDicomImageFromFile`` (the full transform: file read, parse, decode, HxWx3 BGR),
- mmcv ``LoadImageFromFile`` on the same pixels saved as PNG,
- naive ``pydicom.dcmread(path).pixel_array`` (pydicom's default plugin order).

Usage::

    python benchmarks/dicom_load.py [--size 1024] [--runs 50] [--warmup 5] [--quality 95]

Files are written to a temporary directory that is removed afterwards.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pydicom
import simplejpeg
from pydicom.encaps import get_frame
from pydicom.uid import JPEGBaseline8Bit

from mmchest.io.dicom import read_dicom
from mmchest.synthetic import dicom_dataset, save_dicom


def chest_like(size: int, seed: int = 0) -> np.ndarray:
    """A smooth chest-radiograph-like image (dark lungs, bright mediastinum, ribs) + noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 200 - 60 * np.exp(-(((xx - 0.3) / 0.14)**2 + ((yy - 0.5) / 0.28)**2))
    img -= 60 * np.exp(-(((xx - 0.7) / 0.14)**2 + ((yy - 0.5) / 0.28)**2))
    img += 15 * np.sin(yy * 60) * (np.abs(xx - 0.5) > 0.1)
    img *= np.clip(1.2 - 1.5 * np.abs(xx - 0.5), 0.2, 1)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_jpeg_dicom(path: Path, img: np.ndarray, quality: int) -> bytes:
    """Write ``img`` as a JPEG Baseline 8-bit MONOCHROME2 DICOM; return the JPEG frame."""
    jpg = simplejpeg.encode_jpeg(img[..., None], quality=quality, colorspace='GRAY')
    save_dicom(dicom_dataset(img, JPEGBaseline8Bit, encoded_frames=[jpg], Modality='CR',
                             ViewPosition='PA', PatientSex='F', PatientAge='058Y',
                             PixelSpacing=['0.168', '0.168']), path)
    return jpg


def time_ms(fns: list[Callable[[], object]], runs: int,
            warmup: int) -> list[tuple[float, float]]:
    """(median, min) milliseconds per function, calls interleaved round-robin.

    Interleaving gives every method the same share of background load, so ratios stay
    meaningful on a busy machine.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for i in range(runs):
        order = list(range(len(fns)))
        order = order[i % len(fns):] + order[:i % len(fns)]  # rotate the start
        for j in order:
            start = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - start)
    return [(statistics.median(t) * 1e3, min(t) * 1e3) for t in times]


def machine() -> str:
    model = platform.processor() or 'unknown CPU'
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                model = line.split(':', 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f'{model}, {os.cpu_count()} logical cores, Python {platform.python_version()}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--quality', type=int, default=95)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        dcm_path, png_path = Path(tmp) / 'img.dcm', Path(tmp) / 'img.png'
        jpg = write_jpeg_dicom(dcm_path, chest_like(args.size), args.quality)
        pixels, _ = read_dicom(dcm_path)
        cv2.imwrite(str(png_path), pixels)  # the same pixels, lossless
        frame = get_frame(pydicom.dcmread(dcm_path).PixelData, 0, number_of_frames=1)
        assert frame == jpg

        rows: list[tuple[str, Callable[[], object]]] = [
            ('raw simplejpeg.decode_jpeg (frame bytes in memory)',
             lambda: simplejpeg.decode_jpeg(frame, colorspace='GRAY')),
            ('raw decode + cv2 GRAY2BGR (3-channel output, no file I/O)',
             lambda: cv2.cvtColor(simplejpeg.decode_jpeg(frame, colorspace='GRAY'),
                                  cv2.COLOR_GRAY2BGR)),
            ('mmchest read_dicom (file -> HxW uint8)', lambda: read_dicom(dcm_path)),
        ]
        try:
            from mmcv.transforms import LoadImageFromFile

            from mmchest.transforms import LoadDicomImageFromFile
        except ImportError as exc:
            print(f'mmcv transforms skipped: {exc}')
        else:
            load_dcm, load_png = LoadDicomImageFromFile(), LoadImageFromFile()
            out_dcm = load_dcm(dict(img_path=str(dcm_path)))['img']
            out_png = load_png(dict(img_path=str(png_path)))['img']
            assert np.array_equal(out_dcm, out_png), 'DICOM and PNG paths disagree'
            rows += [
                ('LoadDicomImageFromFile (file -> HxWx3 BGR)',
                 lambda: load_dcm(dict(img_path=str(dcm_path)))),
                ('mmcv LoadImageFromFile on the PNG (HxWx3 BGR)',
                 lambda: load_png(dict(img_path=str(png_path)))),
            ]
        rows.append(('naive pydicom.dcmread(path).pixel_array',
                     lambda: pydicom.dcmread(dcm_path).pixel_array))

        timings = time_ms([fn for _, fn in rows], args.runs, args.warmup)
        results = list(zip([name for name, _ in rows], timings))
        raw_med, raw_min = results[0][1]
        print(f'{args.size}x{args.size} 8-bit JPEG Baseline q{args.quality}: DICOM '
              f'{dcm_path.stat().st_size / 1024:.0f} KiB, PNG {png_path.stat().st_size / 1024:.0f} '
              f'KiB; {args.runs} interleaved runs after {args.warmup} warm-up')
        print(f'machine: {machine()}\n')
        print('| method | median ms | x raw (median) | min ms | x raw (min) |')
        print('|---|---:|---:|---:|---:|')
        for name, (med, best) in results:
            print(f'| {name} | {med:.2f} | {med / raw_med:.2f} | {best:.2f} | '
                  f'{best / raw_min:.2f} |')


if __name__ == '__main__':
    main()
