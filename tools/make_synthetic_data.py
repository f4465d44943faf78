"""Write synthetic chest X-ray data sets in the layouts of the real downloads.

Example::

    python tools/make_synthetic_data.py --out datasets/synthetic
    python tools/make_synthetic_data.py --out datasets/synthetic --layouts siim rsna \\
        --size 512 --num 400 --seed 1

Layouts (under ``--out``): ``siim/`` (SIIM-ACR Kaggle DICOMs + ``train-rle.csv`` +
``stage_2_train.csv``), ``siim_png/`` (MMSegmentation ``chest_image_pneum`` PNG export),
``rsna/`` (RSNA Pneumonia Detection stage 2) and ``multi_expert_pneumonia/`` (zenodo 5732746).
See ``mmchest/synthetic/`` for what each contains (``mmchest.synthetic.layouts`` writes them).
Same arguments, same bytes.
"""
import argparse
import os.path as osp
import sys
import time
from typing import Callable, Dict, List

try:
    import mmchest  # noqa: F401
except ImportError:  # running from a checkout that is not pip-installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmchest import synthetic  # noqa: E402
from mmchest.synthetic.layouts import (LAYOUTS, describe_layout, layout_image_count,  # noqa: E402
                                       write_layout)


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write synthetic SIIM / RSNA / multi-expert chest X-ray data sets.')
    parser.add_argument('--out', default='datasets/synthetic',
                        help='output root (default: %(default)s)')
    parser.add_argument('--layouts', nargs='+', choices=LAYOUTS, default=list(LAYOUTS),
                        help='layouts to write (default: all)')
    parser.add_argument('--size', type=int, default=256,
                        help=f'image side in pixels, {synthetic.MIN_SIZE}..{synthetic.MAX_SIZE} '
                        '(default: %(default)s)')
    parser.add_argument('--num', type=int, default=100,
                        help='training images per layout (SIIM, RSNA) or studies (multi-expert, '
                        'half pneumonia, half normal, two views each) (default: %(default)s)')
    parser.add_argument('--num-test', type=int, default=None,
                        help='unlabelled test images for SIIM and RSNA (default: num // 4)')
    parser.add_argument('--seed', type=int, default=0, help='seed (default: %(default)s)')
    args = parser.parse_args(argv)
    if not synthetic.MIN_SIZE <= args.size <= synthetic.MAX_SIZE:
        parser.error(f'--size must be between {synthetic.MIN_SIZE} and {synthetic.MAX_SIZE}')
    if args.num < 1:
        parser.error('--num must be >= 1')
    if args.num_test is not None and args.num_test < 0:
        parser.error('--num-test must be >= 0')
    return args


def make_progress(total: int) -> Callable[[], None]:
    """A per-image callback: mmengine's ProgressBar when installed, else a plain counter."""
    try:
        from mmengine.utils import ProgressBar
    except ImportError:
        ProgressBar = None
    if ProgressBar is not None:
        bar = ProgressBar(total)
        return bar.update
    state = {'done': 0, 'start': time.time()}
    step = max(1, total // 10)

    def update() -> None:
        state['done'] += 1
        if state['done'] % step == 0 or state['done'] == total:
            elapsed = time.time() - state['start']
            print(f'  {state["done"]}/{total} images, {elapsed:.1f} s', flush=True)

    return update


def main(argv: List[str] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    results = {}
    start = time.time()
    for layout in args.layouts:
        total = layout_image_count(layout, args.num, args.num_test)
        print(f'{layout}: {total} images at {args.size}x{args.size}')
        results[layout] = write_layout(layout, args.out, args.num, args.num_test,
                                       size=args.size, seed=args.seed,
                                       progress=make_progress(total))
        print()
    print(f'Done in {time.time() - start:.1f} s. Summary:')
    for layout, info in results.items():
        print(describe_layout(layout, info))
    return results


if __name__ == '__main__':
    main()
