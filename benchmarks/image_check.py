"""Benchmark: the build-time bad-file check on a 10k-image SIIM download.

Writes a synthetic SIIM download (``mmchest.synthetic.write_siim``: nested
``dicom-images-train/<study>/<series>/<uid>.dcm``, 64 px JPEG-Baseline DICOMs, the header
cost does not depend on the image size) into a temporary directory and times:

- ``scan_images`` over every file with no cache (the first build's cost),
- building the SIIM ``train`` split without the check (the check replaced by a no-op),
- building ``train`` with the check and an empty on-disk cache (first build of a run),
- building ``val`` next, in the same process (in-process results),
- building ``train`` again in a "new process" (in-process results cleared, on-disk cache:
  the next run, another distributed rank, ``mim test``).

Usage::

    python benchmarks/image_check.py [--num 10000] [--runs 3]

Times are the best of ``--runs`` (page cache warm after the first pass; the first cold pass
is reported separately).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time


def _best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=10000)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ['MMCHEST_CACHE_DIR'] = os.path.join(tmp, 'cache')
        from mmengine.logging import MMLogger
        from mmengine.registry import init_default_scope
        init_default_scope('mmseg')
        import mmchest  # noqa: F401
        from mmchest.engine import bad_files
        from mmchest.io import image_check
        from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
        from mmchest.synthetic import write_siim

        start = time.perf_counter()
        info = write_siim(tmp, num_train=args.num, num_test=0, size=64, seed=0)
        print(f'wrote {args.num} DICOMs in {time.perf_counter() - start:.0f} s')
        MMLogger.get_current_instance().setLevel('WARNING')
        paths = sorted(os.path.join(r, n) for r, _, fs in os.walk(info['root'])
                       for n in fs if n.endswith('.dcm'))

        def scan():
            image_check._MEMO.clear()
            image_check.scan_images(paths, cache_dir='')

        start = time.perf_counter()
        scan()
        first = time.perf_counter() - start
        scan_s = _best(scan, args.runs)

        def build(split):
            return SIIMPneumothoraxDataset(data_root=info['root'], pipeline=[], split=split,
                                           split_ratios=dict(train=0.8, val=0.1, test=0.1))

        real = bad_files.BadFilesMixin._screen_files
        bad_files.BadFilesMixin._screen_files = lambda self, own, *a, **k: own
        base_s = _best(lambda: build('train'), args.runs)
        bad_files.BadFilesMixin._screen_files = real

        def first_build():
            image_check._MEMO.clear()
            shutil.rmtree(os.environ['MMCHEST_CACHE_DIR'], ignore_errors=True)
            build('train')

        first_s = _best(first_build, args.runs)
        val_s = _best(lambda: build('val'), args.runs)

        def next_process():
            image_check._MEMO.clear()
            build('train')

        cached_s = _best(next_process, args.runs)

    cpu = subprocess.run(['sh', '-c', "lscpu | grep 'Model name' | head -1"],
                         capture_output=True, text=True).stdout.split(':')[-1].strip()
    print(f'machine: {cpu or platform.processor()}, {os.cpu_count()} CPUs, '
          f'Python {platform.python_version()}')
    n = len(paths)
    print('| step | s | ms per file |')
    print('|---|---:|---:|')
    for name, secs in [
            ('scan_images, first pass (files just written)', first),
            ('scan_images, no cache (best)', scan_s),
            ('build train, check disabled', base_s),
            ('build train, check, empty cache (first build)', first_s),
            ('build val after train, same process', val_s),
            ('build train, new process, on-disk cache', cached_s)]:
        print(f'| {name} | {secs:.2f} | {1000 * secs / n:.3f} |')


if __name__ == '__main__':
    main()
