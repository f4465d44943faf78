"""The multi-expert pneumonia layout (zenodo 5732746): PNG images, per-expert PNG/NPZ masks.

``multi_expert_pneumonia/``: ``images/{pneumonia,norma}/<id>_{pa,lat}.png``,
``masks/expert{1,2,3}/<id>_<view>.png|.npz``, ``indices.json``, ``masks/dup_list.json``.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np

from .files import SyntheticCase, _imwrite, _save_npz
from .painter import chest_radiograph
from .seeding import PathLike, Progress, _check_count, _check_size, _rng

__all__ = ['expert_mask', 'multi_expert_cases', 'write_multi_expert']

#: Per expert: file format of the mask (``'mixed'``: .png for even ids, .npz for odd ids).
_EXPERT_FORMATS = {1: 'png', 2: 'npz', 3: 'mixed'}


def expert_mask(mask: np.ndarray, expert: int, seed: Sequence[Union[int, str]]) -> np.ndarray:
    """One expert's version of a true mask: dilated or eroded by 1-3 pixels at the edges.

    Args:
        mask (np.ndarray): uint8 0/1 true mask.
        expert (int): 1, 2 or 3.
        seed (Sequence[int | str]): seed parts of the image.

    Returns:
        np.ndarray: uint8 0/1 mask; never empty when ``mask`` is not.
    """
    rng = _rng('expert', expert, *seed)
    radius = int(rng.integers(1, 4))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grow = rng.random() < 0.5
    out = cv2.dilate(mask, kernel) if grow else cv2.erode(mask, kernel)
    if mask.any() and not out.any():
        out = mask.copy()
    return out.astype(np.uint8)


def multi_expert_cases(num_pneumonia: int = 20,
                       num_normal: int = 20,
                       *,
                       size: int = 256,
                       seed: int = 0) -> Tuple[List[SyntheticCase], Dict[str, List[int]],
                                               Dict[str, Dict[str, List[int]]]]:
    """Generate the multi-expert pneumonia studies, same-patient groups and split.

    Ids are integers drawn independently for each class folder, so they repeat across
    ``pneumonia/`` and ``norma/`` (different patients). Pneumonia studies of one patient
    (``dup_list.json`` groups of 2-3) share their anatomy; at least one group is split across
    train and val, as in the published split.

    Args:
        num_pneumonia (int): pneumonia studies (each a PA and a lateral image). Defaults to 20.
        num_normal (int): normal studies. Defaults to 20.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.

    Returns:
        tuple: ``(cases, dup_list, indices)``: one case per image (``case_id`` =
        ``'<id>_<view>'``, ``label`` = class folder, ``split`` from ``indices``); the groups
        ``{"case_N": [ids]}``; and ``{"train"|"val"|"test": {"pneumonia": ids, "norma": ids}}``.
    """
    size = _check_size(size)
    num_pneumonia = _check_count('num_pneumonia', num_pneumonia)
    num_normal = _check_count('num_normal', num_normal)
    rng = _rng(seed, 'multi_expert', 'layout')
    ids = {cls: sorted(int(i) + 1 for i in rng.choice(max(3 * n, 1), n, replace=False))
           for cls, n in (('pneumonia', num_pneumonia), ('norma', num_normal))}
    common = sorted(set(ids['pneumonia']) & set(ids['norma']))
    if num_pneumonia and num_normal and not common:  # make sure ids collide across folders
        ids['norma'][0] = ids['pneumonia'][0]
        ids['norma'].sort()

    # Same-patient groups among pneumonia ids.
    shuffled = [int(i) for i in rng.permutation(ids['pneumonia'])]
    dup_list: Dict[str, List[int]] = {}
    position = 0
    while position + 2 <= len(shuffled) and len(dup_list) < max(1, num_pneumonia // 8):
        length = min(int(rng.choice([2, 2, 3])), len(shuffled) - position)
        dup_list[f'case_{len(dup_list) + 1}'] = sorted(shuffled[position:position + length])
        position += length
    group_of = {i: name for name, members in dup_list.items() for i in members}

    # Split ~70/15/15 by class; the first group deliberately straddles train and val.
    indices: Dict[str, Dict[str, List[int]]] = {s: {'pneumonia': [], 'norma': []}
                                                for s in ('train', 'val', 'test')}
    for cls in ('pneumonia', 'norma'):
        order = [int(i) for i in rng.permutation(ids[cls])]
        n = len(order)
        n_val, n_test = int(round(0.15 * n)), int(round(0.15 * n))
        for k, i in enumerate(order):
            split = 'val' if k < n_val else 'test' if k < n_val + n_test else 'train'
            indices[split][cls].append(i)
    if dup_list:
        first = dup_list['case_1']
        for split in indices.values():
            split['pneumonia'] = [i for i in split['pneumonia'] if i not in first]
        indices['train']['pneumonia'].append(first[0])
        indices['val']['pneumonia'].extend(first[1:])
    for split in indices.values():
        for cls in split:
            split[cls].sort()
    split_of = {(cls, i): name for name, by_class in indices.items()
                for cls, members in by_class.items() for i in members}

    cases: List[SyntheticCase] = []
    for cls in ('pneumonia', 'norma'):
        for i in ids[cls]:
            anatomy = ([seed, 'multi_expert', 'patient', group_of[i]]
                       if cls == 'pneumonia' and i in group_of else
                       [seed, 'multi_expert', 'patient', cls, i])
            meta = _rng(seed, 'multi_expert', cls, i, 'meta')
            for view in ('pa', 'lat'):
                parts = [seed, 'multi_expert', cls, i, view]
                if cls == 'pneumonia':
                    count = int(meta.choice([1, 1, 2])) if view == 'pa' else 1
                    sample = chest_radiograph(size, parts, lesion='pneumonia', view=view,
                                              num_opacities=count, anatomy_seed=anatomy + [view])
                else:
                    sample = chest_radiograph(size, parts, view=view,
                                              anatomy_seed=anatomy + [view])
                cases.append(SyntheticCase(split_of[(cls, i)], f'{i}_{view}', sample, cls))
    return cases, dup_list, indices


def write_multi_expert(root: PathLike,
                       num_pneumonia: int = 20,
                       num_normal: int = 20,
                       *,
                       size: int = 256,
                       seed: int = 0,
                       progress: Progress = None) -> Dict[str, object]:
    """Write the multi-expert pneumonia layout under ``<root>/multi_expert_pneumonia``.

    Files: ``images/{pneumonia,norma}/<id>_{pa,lat}.png`` (8-bit greyscale),
    ``masks/expert{1,2,3}/<id>_<view>.png|.npz`` for pneumonia images only (PNG 0/1, or NPZ
    with the array under ``'mask'``; expert 1 writes PNG, expert 2 NPZ, expert 3 both),
    ``indices.json`` and ``masks/dup_list.json``. Each expert's mask is the true mask
    dilated or eroded by 1-3 px (see :func:`expert_mask`).

    Args:
        root (str | os.PathLike): output root; ``multi_expert_pneumonia/`` is created inside.
        num_pneumonia, num_normal, size, seed: as in :func:`multi_expert_cases`.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'images', 'masks', 'dup_list', 'indices'}``.
    """
    out = osp.join(os.fspath(root), 'multi_expert_pneumonia')
    cases, dup_list, indices = multi_expert_cases(num_pneumonia, num_normal, size=size,
                                                  seed=seed)
    num_masks = 0
    for case in cases:
        _imwrite(osp.join(out, 'images', case.label, f'{case.case_id}.png'), case.sample.image)
        if case.label == 'pneumonia':
            study_id = int(case.case_id.split('_')[0])
            for expert, fmt in _EXPERT_FORMATS.items():
                mask = expert_mask(case.sample.mask, expert, [seed, case.case_id])
                if fmt == 'mixed':
                    fmt = 'png' if study_id % 2 == 0 else 'npz'
                path = osp.join(out, 'masks', f'expert{expert}', f'{case.case_id}.{fmt}')
                if fmt == 'png':
                    _imwrite(path, mask)
                else:
                    _save_npz(path, mask)
                num_masks += 1
        if progress is not None:
            progress()
    os.makedirs(osp.join(out, 'masks'), exist_ok=True)
    with open(osp.join(out, 'indices.json'), 'w') as f:
        json.dump(indices, f, indent=1)
    with open(osp.join(out, 'masks', 'dup_list.json'), 'w') as f:
        json.dump(dup_list, f, indent=1)
    return {'root': out, 'images': len(cases), 'masks': num_masks, 'dup_list': dup_list,
            'indices': indices}
