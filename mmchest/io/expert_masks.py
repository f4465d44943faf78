"""Experts' pneumonia masks: read one (``.png``/``.npz``), read an image's set, fuse them.

Multi-expert pneumonia layout: ``masks/expert{1,2,3}/<id>_<view>.png|.npz``, 1 = pneumonia.
PNG: one 8-bit or 16-bit channel (or identical colour channels) holding 0/1 or 0/255.
NPZ: the published masks are ``np.load(path)['mask']``; an archive with a single array under
any other key is accepted too. Anything else raises :class:`ExpertMaskError` naming the file.

Fusion modes of :func:`fuse_masks` (``n`` = number of experts, masks binarised as in
:func:`mmchest.evaluation.dice.as_binary_mask`):
    * ``'majority'``: pixels marked by strictly more than half the experts,
      i.e. at least ``n // 2 + 1`` (2 of 3, 3 of 4, 2 of 2). uint8 0/1.
    * ``'union'``: marked by any expert. uint8 0/1.
    * ``'intersection'``: marked by every expert. uint8 0/1.
    * ``'mean'``: fraction of experts marking the pixel, a float32 soft target in [0, 1].
    * ``'single'`` (one chosen expert) is the caller's business: pick that expert's mask.

Framework-free (numpy, cv2): the ``LoadExpertMasks`` transform and the
``MultiExpertDiceMetric`` both call :func:`load_expert_masks` and :func:`fuse_masks`.
"""
from __future__ import annotations

import os
import os.path as osp
import zipfile
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmchest.evaluation.dice import as_binary_mask

__all__ = ['ExpertMaskError', 'MASK_SUFFIXES', 'FUSE_MODES', 'read_expert_mask',
           'find_expert_mask', 'load_expert_masks', 'named_binary_masks', 'fuse_masks']

PathLike = Union[str, 'os.PathLike[str]']

#: Modes of :func:`fuse_masks` (see the module docstring).
FUSE_MODES: Tuple[str, ...] = ('majority', 'union', 'intersection', 'mean')

Masks = Union[Mapping[Hashable, np.ndarray], Sequence[np.ndarray]]

#: File suffixes searched for an expert mask, in order.
MASK_SUFFIXES: tuple = ('.png', '.npz')
_NPZ_KEY = 'mask'


class ExpertMaskError(ValueError):
    """An expert mask file that cannot be read as a binary mask; the message names the file."""


def _binarise(arr: np.ndarray, path: str) -> np.ndarray:
    """Check ``arr`` is a 2-D 0/1 or 0/255 mask and return it as uint8 0/1."""
    if arr.ndim == 3 and 1 in (arr.shape[0], arr.shape[-1]):
        arr = arr[0] if arr.shape[0] == 1 else arr[..., 0]
    if arr.ndim != 2:
        raise ExpertMaskError(f'{path}: expected a 2-D mask, got shape {arr.shape}')
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ExpertMaskError(f'{path}: expected a numeric mask, got dtype {arr.dtype}')
    values = np.unique(arr)
    if np.all(np.isin(values, (0, 1))) or np.all(np.isin(values, (0, 255))):
        return (arr != 0).astype(np.uint8)
    shown = ', '.join(f'{v:g}' for v in values[:6]) + (', ...' if values.size > 6 else '')
    raise ExpertMaskError(f'{path}: mask values must be 0/1 (1 = pneumonia) or 0/255, '
                          f'found {shown}')


def _read_png(path: str) -> np.ndarray:
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ExpertMaskError(f'{path}: cannot be decoded as an image')
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[..., :3]
        if not all(np.array_equal(arr[..., 0], arr[..., c]) for c in range(1, arr.shape[2])):
            raise ExpertMaskError(f'{path}: colour mask with differing channels; '
                                  'expected a single-channel 0/1 mask')
        arr = arr[..., 0]
    return arr


def _read_npz(path: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if _NPZ_KEY in keys:
                return archive[_NPZ_KEY]
            if len(keys) == 1:
                return archive[keys[0]]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ExpertMaskError(f'{path}: not a readable .npz archive ({err})') from None
    raise ExpertMaskError(f"{path}: .npz has no 'mask' array and {len(keys)} arrays "
                          f'({", ".join(keys) or "none"}); expected the mask under '
                          "'mask' or a single array")


def read_expert_mask(path: PathLike) -> np.ndarray:
    """Read one expert's mask as a uint8 0/1 array (1 = pneumonia).

    Args:
        path (str | os.PathLike): A ``.png`` or ``.npz`` file (see the module docstring).

    Returns:
        np.ndarray: uint8 array of shape (H, W) holding 0 and 1.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ExpertMaskError: Unknown suffix, undecodable file, ambiguous ``.npz``, not 2-D, or
            values other than 0/1 and 0/255.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'expert mask not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix == '.png':
        arr = _read_png(path)
    elif suffix == '.npz':
        arr = _read_npz(path)
    else:
        raise ExpertMaskError(f'{path}: unsupported mask suffix {suffix!r}; '
                              f'expected one of {MASK_SUFFIXES}')
    return _binarise(np.asarray(arr), path)


def find_expert_mask(mask_dir: PathLike, stem: str,
                     suffixes: Sequence[str] = MASK_SUFFIXES) -> Optional[str]:
    """Find ``<mask_dir>/<stem><suffix>`` for exactly one of ``suffixes``.

    Args:
        mask_dir (str | os.PathLike): One expert's folder, e.g. ``masks/expert2``.
        stem (str): File name without suffix, e.g. ``'17_pa'``.
        suffixes (Sequence[str]): Suffixes to try. Defaults to :data:`MASK_SUFFIXES`.

    Returns:
        str | None: The path, or None if no such file exists.

    Raises:
        ExpertMaskError: If more than one suffix matches (``17_pa.png`` and ``17_pa.npz``),
            since it is unclear which one is the expert's mask.
    """
    found = [osp.join(os.fspath(mask_dir), stem + s) for s in suffixes
             if osp.isfile(osp.join(os.fspath(mask_dir), stem + s))]
    if len(found) > 1:
        raise ExpertMaskError(f'ambiguous expert mask: {" and ".join(found)} both exist; '
                              'keep one')
    return found[0] if found else None


def load_expert_masks(paths: Dict[str, Optional[str]], experts: Sequence[str],
                      shape: Tuple[int, int], image: str = 'image') -> List[np.ndarray]:
    """Read the masks of ``experts`` (None path = empty mask) and check their shape.

    Args:
        paths (dict[str, str | None]): Expert to mask file; None = no pneumonia (empty).
        experts (Sequence[str]): Experts to read, in order.
        shape (tuple[int, int]): Expected (H, W), the image's original size.
        image (str): Image name for error messages. Defaults to 'image'.

    Returns:
        list[np.ndarray]: uint8 0/1 masks of ``shape``, one per expert.

    Raises:
        KeyError: An expert absent from ``paths``.
        ValueError: A mask whose shape differs from the image's.
    """
    out = []
    for expert in experts:
        if expert not in paths:
            raise KeyError(f'{image}: no mask path for {expert!r} (have {sorted(paths)})')
        path = paths[expert]
        mask = np.zeros(shape, np.uint8) if path is None else read_expert_mask(path)
        if mask.shape != tuple(shape):
            raise ValueError(f'{path}: mask shape {mask.shape} != image shape '
                             f'{tuple(shape)} of {image}')
        out.append(mask)
    return out


def named_binary_masks(masks: Masks) -> Dict[Hashable, np.ndarray]:
    """Return ``{name: bool mask}`` (list indices as names), checking that the shapes agree.

    Args:
        masks (Mapping[str, np.ndarray] | Sequence[np.ndarray]): One mask per expert.

    Returns:
        dict: Name to boolean mask, in input order.

    Raises:
        ValueError: If a mask's shape differs from the first one's (both experts named), or a
            float mask holds values other than 0 and 1.
    """
    items = masks.items() if isinstance(masks, Mapping) else enumerate(masks)
    out: Dict[Hashable, np.ndarray] = {}
    shape = None
    first = None
    for name, mask in items:
        m = as_binary_mask(mask, f'expert {name!r}')
        if shape is None:
            shape, first = m.shape, name
        elif m.shape != shape:
            raise ValueError(f'expert {name!r} mask shape {m.shape} != expert {first!r} '
                             f'mask shape {shape}')
        out[name] = m
    return out


def fuse_masks(masks: Masks, mode: str = 'majority') -> np.ndarray:
    """Fuse several experts' masks of one image into one.

    Args:
        masks (Sequence[np.ndarray] | Mapping[str, np.ndarray]): One mask per expert, same shape.
        mode (str): One of ``'majority'``, ``'union'``, ``'intersection'``, ``'mean'`` (see the
            module docstring). Defaults to 'majority'.

    Returns:
        np.ndarray: uint8 0/1 mask, or float32 in [0, 1] for ``'mean'``.

    Raises:
        ValueError: On an unknown mode (including ``'single'``), no masks, or shape mismatch.
    """
    if mode not in FUSE_MODES:
        hint = " ('single' is handled by the caller: select one expert's mask)" \
            if mode == 'single' else ''
        raise ValueError(f'unknown fuse mode {mode!r}; expected one of {FUSE_MODES}{hint}')
    named = named_binary_masks(masks)
    if not named:
        raise ValueError('fuse_masks needs at least one mask')
    stack = np.stack(list(named.values()))
    n = stack.shape[0]
    votes = stack.sum(axis=0, dtype=np.int64)
    if mode == 'mean':
        return (votes / n).astype(np.float32)
    need = {'majority': n // 2 + 1, 'union': 1, 'intersection': n}[mode]
    return (votes >= need).astype(np.uint8)
