"""Benchmark: displaying a 16-bit CR-like radiograph (2048x2500, 12 bits stored) as 8 bits.

Compares (median and minimum of ``--runs`` interleaved calls after ``--warmup``), for two
files that differ only in their VOI tags:

- ``mmchest.io.dicom.read_dicom(path)``: the default ``norm='auto'`` (file read, parse,
  modality LUT, VOI window or percentile window, MONOCHROME1 inversion, uint8 HxW);
- pydicom's own route: ``dcmread`` + ``pixel_array`` + ``apply_modality_lut`` +
  ``apply_voi_lut`` (float64, not yet inverted or quantised to 8 bits, i.e. less work; on
  the file without VOI tags ``apply_voi_lut`` returns its input, so nothing is windowed);
- for the file without VOI tags, that route plus what it lacks for display: a 0.5-99.5
  percentile window with ``np.percentile``, inversion and 8-bit quantisation.

Files: MONOCHROME1, BitsStored 12, Rescale Slope 1 / Intercept -1024 (stored values shifted,
as some CR exports write), explicit VR little endian; "window" has Window Center/Width tags,
"no window" has none (mmchest then windows between the 0.5 and 99.5 percentiles).

Usage::

    python benchmarks/dicom_16bit.py [--rows 2500] [--cols 2048] [--runs 20] [--warmup 3]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from dicom_load import machine, time_ms
from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

from mmchest.io.dicom import read_dicom
from mmchest.synthetic import dicom_dataset, save_dicom


def cr_like(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """12-bit chest-like values (MONOCHROME1: dense = low), uint16."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    yy /= rows
    xx /= cols
    lungs = np.exp(-(((xx - 0.3) / 0.14)**2 + ((yy - 0.5) / 0.28)**2))
    lungs += np.exp(-(((xx - 0.7) / 0.14)**2 + ((yy - 0.5) / 0.28)**2))
    img = 1200 + 1800 * lungs + 200 * np.sin(yy * 60) + rng.normal(0, 40, (rows, cols))
    return np.clip(img, 0, 4095).astype(np.uint16)


def write_cr(path: Path, arr: np.ndarray, window: bool) -> None:
    tags = dict(WindowCenter='1100', WindowWidth='2600') if window else {}
    save_dicom(dicom_dataset(arr, bits_stored=12, photometric='MONOCHROME1', Modality='CR',
                             RescaleSlope='1', RescaleIntercept='-1024', **tags), path)


def pydicom_route(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return apply_voi_lut(apply_modality_lut(pixel_array(ds), ds), ds)


def pydicom_route_displayed(path: Path) -> np.ndarray:
    values = pydicom_route(path)
    lo, hi = np.percentile(values, (0.5, 99.5))
    return (255 - (np.clip(values, lo, hi) - lo) / (hi - lo) * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=2500)
    parser.add_argument('--cols', type=int, default=2048)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    args = parser.parse_args()

    arr = cr_like(args.rows, args.cols)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {kind: Path(tmp) / f'{kind}.dcm' for kind in ('window', 'no window')}
        for kind, path in paths.items():
            write_cr(path, arr, window=kind == 'window')
        rows = []
        for kind, path in paths.items():
            rows += [(f'mmchest read_dicom (default, uint8), {kind}',
                      lambda p=path: read_dicom(p)),
                     (f'pydicom pixel_array + modality + VOI LUT (float64), {kind}',
                      lambda p=path: pydicom_route(p))]
        rows.append(('pydicom route + np.percentile window + invert (uint8), no window',
                     lambda p=paths['no window']: pydicom_route_displayed(p)))
        timings = time_ms([fn for _, fn in rows], args.runs, args.warmup)
    print(f'{args.cols}x{args.rows} 16-bit (12 stored) MONOCHROME1 CR-like, uncompressed '
          f'({arr.nbytes / 2**20:.1f} MiB pixel data); {args.runs} interleaved runs after '
          f'{args.warmup} warm-up')
    print(f'machine: {machine()}\n')
    print('| method | median ms | min ms | x pydicom (median) |')
    print('|---|---:|---:|---:|')
    for i, (name, (med, best)) in enumerate(zip([n for n, _ in rows], timings)):
        ref = timings[min(i | 1, 3)][0]  # the pydicom route on the same file
        print(f'| {name} | {med:.1f} | {best:.1f} | {med / ref:.2f} |')


if __name__ == '__main__':
    main()
