"""Benchmark mmchest.io.rle against a straightforward Python-loop codec on 1024x1024 masks.

The loop reference follows the SIIM competition's mask_functions.py: ``rle2mask`` loops over
runs, ``mask2rle`` loops over pixels (fixed to also emit a run that reaches the last pixel).
It lives here on purpose, not in the package.

Usage::

    python benchmarks/rle_codec.py [--size 1024] [--repeats 5]
"""
import argparse
import platform
import subprocess
import timeit
from typing import Callable, Dict, List

import cv2
import numpy as np

from mmchest.io.rle import rle_decode, rle_encode


def loop_decode(rle: str, height: int, width: int) -> np.ndarray:
    """Reference decoder: SIIM rle2mask, one Python iteration per run."""
    mask = np.zeros(width * height, dtype=np.uint8)
    if rle.strip() == '-1':
        return mask.reshape(width, height).T
    array = [int(x) for x in rle.split()]
    position = 0
    for start, length in zip(array[0::2], array[1::2]):
        position += start
        mask[position:position + length] = 1
        position += length
    return mask.reshape(width, height).T


def loop_encode(mask: np.ndarray) -> str:
    """Reference encoder: SIIM mask2rle, one Python iteration per pixel (column-major)."""
    values = mask.T.ravel().tolist()
    out: List[str] = []
    last, run_start, run_length, gap_from = 0, -1, 0, 0
    for pixel, value in enumerate(values):
        if value != last:
            if value:
                run_start, run_length = pixel, 1
            else:
                out += [str(run_start - gap_from), str(run_length)]
                gap_from = pixel
        elif value:
            run_length += 1
        last = value
    if last:
        out += [str(run_start - gap_from), str(run_length)]
    return ' '.join(out) if out else '-1'


def blob_mask(size: int, num_blobs: int, area: float, seed: int) -> np.ndarray:
    """A few filled ellipses covering roughly ``area`` of the image."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    radius = int(np.sqrt(area * size * size / (np.pi * num_blobs)))
    for _ in range(num_blobs):
        centre = tuple(int(c) for c in rng.integers(radius, size - radius, 2))
        axes = (int(radius * rng.uniform(0.7, 1.3)), int(radius * rng.uniform(0.7, 1.3)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask


def noisy_mask(size: int, seed: int) -> np.ndarray:
    """Thresholded lightly smoothed noise: a mask with very many short runs."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.0)
    return (noise > 0.52).astype(np.uint8)


def best_ms(func: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` single calls, in milliseconds."""
    return min(timeit.repeat(func, number=1, repeat=repeats)) * 1e3


def cpu_model() -> str:
    """The CPU model name as lscpu reports it."""
    try:
        for line in subprocess.run(['lscpu'], capture_output=True, text=True).stdout.splitlines():
            if line.startswith('Model name:'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    size = args.size
    masks: Dict[str, np.ndarray] = {
        '1 blob, ~1%': blob_mask(size, 1, 0.01, 0),
        '3 blobs, ~3%': blob_mask(size, 3, 0.03, 1),
        '5 blobs, ~5%': blob_mask(size, 5, 0.05, 2),
        'noisy': noisy_mask(size, 3),
        'empty': np.zeros((size, size), np.uint8),
    }
    print(f'RLE codec, {size}x{size} masks, SIIM relative format, best of {args.repeats}')
    print(f'CPU: {cpu_model()}, numpy {np.__version__}, Python {platform.python_version()}')
    header = (f'| {"mask":<13} | {"area":>6} | {"runs":>6} | {"decode ms":>9} | {"loop ms":>8} | '
              f'{"x":>5} | {"encode ms":>9} | {"loop ms":>8} | {"x":>5} | {"both x":>6} |')
    print(header)
    print('|' + '|'.join('-' * (len(c)) for c in header.split('|')[1:-1]) + '|')
    for name, mask in masks.items():
        rle = rle_encode(mask)
        assert loop_encode(mask) == rle, name
        assert np.array_equal(loop_decode(rle, size, size), mask), name
        assert np.array_equal(rle_decode(rle, (size, size)), mask), name
        runs = 0 if rle == '-1' else len(rle.split()) // 2
        loop_repeats = max(1, args.repeats // 2)
        dec = best_ms(lambda: rle_decode(rle, (size, size)), args.repeats)
        dec_loop = best_ms(lambda: loop_decode(rle, size, size), loop_repeats)
        enc = best_ms(lambda: rle_encode(mask), args.repeats)
        enc_loop = best_ms(lambda: loop_encode(mask), loop_repeats)
        print(f'| {name:<13} | {mask.mean():>6.1%} | {runs:>6} | {dec:>9.2f} | {dec_loop:>8.2f} | '
              f'{dec_loop / dec:>5.1f} | {enc:>9.2f} | {enc_loop:>8.1f} | {enc_loop / enc:>5.0f} | '
              f'{(dec_loop + enc_loop) / (dec + enc):>6.0f} |')


if __name__ == '__main__':
    main()
