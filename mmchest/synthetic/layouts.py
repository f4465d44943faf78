"""All four layouts behind one call: what ``tools/make_synthetic_data.py`` writes.

``--num`` is the number of training images (SIIM, RSNA) or of studies (multi-expert: half
pneumonia, half normal, two views each); ``--num-test`` (default ``num // 4``) the unlabelled
test images of SIIM and RSNA.
"""
from __future__ import annotations

from typing import Dict, Optional

from .multi_expert import write_multi_expert
from .rsna import write_rsna
from .seeding import PathLike, Progress
from .siim import write_siim, write_siim_png

__all__ = ['LAYOUTS', 'layout_image_count', 'write_layout', 'describe_layout']

#: Layout names, in the order they are written.
LAYOUTS = ('siim', 'siim_png', 'rsna', 'multi_expert')


def _counts(num: int, num_test: Optional[int]) -> tuple:
    return (num // 4 if num_test is None else num_test), max(1, num // 2)


def layout_image_count(layout: str, num: int, num_test: Optional[int] = None) -> int:
    """Images :func:`write_layout` writes (one progress call each)."""
    test, half = _counts(num, num_test)
    return 4 * half if layout == 'multi_expert' else num + test


def write_layout(layout: str,
                 out: PathLike,
                 num: int,
                 num_test: Optional[int] = None,
                 *,
                 size: int = 256,
                 seed: int = 0,
                 progress: Progress = None) -> Dict[str, object]:
    """Write one layout under ``out`` (its ``write_*`` function with the tool's counts).

    Args:
        layout (str): One of :data:`LAYOUTS`.
        out (str | os.PathLike): Output root.
        num (int): Training images, or multi-expert studies.
        num_test (int, optional): Test images of SIIM and RSNA. Defaults to ``num // 4``.
        size (int): Image side, 64..512. Defaults to 256.
        seed (int): Dataset seed. Defaults to 0.
        progress (Callable[[], None], optional): Called once per image written.

    Returns:
        dict: What the layout's ``write_*`` function returns.
    """
    test, half = _counts(num, num_test)
    if layout == 'siim':
        return write_siim(out, num, test, size=size, seed=seed, progress=progress)
    if layout == 'siim_png':
        return write_siim_png(out, num, test, size=size, seed=seed, progress=progress)
    if layout == 'rsna':
        return write_rsna(out, num, test, size=size, seed=seed, progress=progress)
    if layout == 'multi_expert':
        return write_multi_expert(out, half, half, size=size, seed=seed, progress=progress)
    raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')


def describe_layout(layout: str, info: Dict[str, object]) -> str:
    """One summary line of what :func:`write_layout` wrote (counts only, no ids)."""
    if layout == 'multi_expert':
        detail = (f'{info["images"]} images, {info["masks"]} expert masks, '
                  f'{len(info["dup_list"])} same-patient groups')
    elif layout == 'siim_png':
        detail = (f'{len(info["train"])} train + {len(info["val"])} val listed, '
                  f'{len(info["test"])} test images')
    elif layout == 'siim':
        detail = (f'{len(info["train"])} train ({info["positives"]} with pneumothorax, '
                  f'{info["rows"]} RLE rows), {len(info["test"])} test images')
    else:
        detail = (f'{len(info["train"])} train ({info["positives"]} with opacities, '
                  f'{info["boxes"]} boxes), {len(info["test"])} test images')
    return f'  {layout:<13} {info["root"]}: {detail}'
