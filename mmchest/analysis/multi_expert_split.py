"""Re-split the multi-expert pneumonia dataset by patient into an indices.json-shaped split.

The split is stratified by class (pneumonia / norma) and grouped by patient: the pneumonia
studies of one ``masks/dup_list.json`` group, and both views of a study, share a split.
Without an ``indices.json`` (the zenodo download as published) and with the default seed and
fractions, it is exactly the split the configs use by default (the dataset's
``ann_file=None``); with one, the studies it lists are re-split. ``tools/multi_expert_split.py``
is the command line. All parsing is :mod:`mmchest.io.multi_expert_layout`'s.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from mmchest.io.multi_expert_layout import (CLASS_DIRS, DEFAULT_SPLIT_RATIOS, SPLITS,
                                            indices_to_json, load_json, parse_dup_list,
                                            parse_indices, resplit, scan_images, split_leaks)

__all__ = ['DEFAULT_FRACTIONS', 'PatientSplit', 'split_by_patient', 'write_split']

#: ``(train, val, test)`` relative sizes, as the dataset's default.
DEFAULT_FRACTIONS = tuple(DEFAULT_SPLIT_RATIOS[k] for k in SPLITS)


@dataclass
class PatientSplit:
    """A patient-grouped split and where its studies came from.

    Attributes:
        indices (dict): ``{split: {class: [study ids]}}`` (``indices.json`` shape).
        source (str): The split file re-split, or the ``images/`` folder scanned.
        source_leaks (int, optional): Same-patient groups spanning several splits in the
            re-split file; None when ``images/`` was scanned.
        dup_list (str, optional): The groups file used; None when it was not found (the
            split then groups by study only).
    """
    indices: Dict[str, Dict[str, List]]
    source: str
    source_leaks: Optional[int] = None
    dup_list: Optional[str] = None


def split_by_patient(data_root: str,
                     fractions: Sequence[float] = DEFAULT_FRACTIONS,
                     seed: int = 0,
                     indices: str = 'indices.json',
                     dup_list: str = 'masks/dup_list.json') -> PatientSplit:
    """Split the studies of a multi-expert download by patient.

    Args:
        data_root (str): Folder holding ``images/``, ``masks/`` (and ``indices.json``).
        fractions (Sequence[float]): Train, val, test relative sizes.
            Defaults to :data:`DEFAULT_FRACTIONS`.
        seed (int): Random seed. Defaults to 0.
        indices (str): Studies to re-split, relative to ``data_root``; when absent every
            image under ``images/`` is used. Defaults to 'indices.json'.
        dup_list (str): Same-patient groups, relative to ``data_root``.
            Defaults to 'masks/dup_list.json'.

    Returns:
        PatientSplit: The split (no group spans two splits) and its sources.

    Raises:
        FileNotFoundError: Neither the split file nor ``images/`` exists.
    """
    indices_path = osp.join(data_root, indices)
    dup_path = osp.join(data_root, dup_list)
    has_groups = osp.isfile(dup_path)
    groups = parse_dup_list(load_json(dup_path), dup_path) if has_groups else {}
    source_leaks = None
    if osp.isfile(indices_path):
        source = parse_indices(load_json(indices_path), indices_path)
        studies = {cls: [i for s in source.values() for i in s[cls]] for cls in CLASS_DIRS}
        source_leaks, where = len(split_leaks(source, groups)), indices_path
    elif osp.isdir(osp.join(data_root, 'images')):
        where = osp.join(data_root, 'images')
        found = scan_images(where)
        studies = {cls: list(found[cls]) for cls in CLASS_DIRS}
    else:
        raise FileNotFoundError(f'neither {indices_path} nor {osp.join(data_root, "images")} '
                                'exists')
    out = resplit(studies, groups, dict(zip(SPLITS, fractions)), seed=seed)
    leaks = split_leaks(out, groups)
    if leaks:  # pragma: no cover - a grouped split cannot leak
        raise RuntimeError(f'the grouped split leaks {len(leaks)} group(s)')
    return PatientSplit(out, where, source_leaks, dup_path if has_groups else None)


def write_split(path: str, indices: Dict[str, Dict[str, List]]) -> None:
    """Write a split as ``indices.json`` is shaped (folders created)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(indices_to_json(indices), f, indent=1)
