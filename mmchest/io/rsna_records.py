"""RSNA patients of one split, with their DICOM headers: shared by every RSNA dataset.

The detection dataset (mmdet) and the classification dataset (mmpretrain) both read the Kaggle
CSVs with :mod:`mmchest.io.rsna_labels`, cut the same seeded, Target-stratified patient split
and check every labelled DICOM at build time; this module does that once, framework-free. The
build-time file check is injected (``screen``: the datasets pass
:meth:`mmchest.engine.bad_files.BadFilesMixin._screen_files`), so nothing here imports a host.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..splits import grouped_stratified_split
from .rsna_labels import (BoxReport, RSNAPatient, parse_rsna_labels, read_rsna_labels,
                          rsna_patient_targets)

__all__ = ['DEFAULT_SPLIT_FRACTIONS', 'check_split', 'class_info_path', 'rsna_split_patients',
           'RSNARecords', 'load_rsna_records']

#: Default ``split_fractions``: 80 / 10 / 10 per cent of the patients of each Target.
DEFAULT_SPLIT_FRACTIONS: Dict[str, float] = dict(train=0.8, val=0.1, test=0.1)

#: ``(own entries, other splits' entries, extra=callback) -> kept own entries``.
Screen = Callable[..., List[dict]]


def check_split(split: Optional[str], fractions: Mapping[str, float]) -> Dict[str, float]:
    """``dict(fractions)``, once ``split`` (None: all patients) is known to be one of its keys.

    Raises:
        ValueError: ``split`` is not a key of ``fractions``.
    """
    fractions = dict(fractions)
    if split is not None and split not in fractions:
        raise ValueError(f'split {split!r} is not one of split_fractions {list(fractions)}')
    return fractions


def class_info_path(class_info_file: Optional[str], data_root: Optional[str]) -> Optional[str]:
    """Where the datasets look for ``stage_2_detailed_class_info.csv``: ``class_info_file``
    joined to ``data_root`` when relative; None when no file is named."""
    if not class_info_file:
        return None
    if data_root and not osp.isabs(class_info_file):
        return osp.join(data_root, class_info_file)
    return class_info_file


def rsna_split_patients(targets: Mapping[str, int],
                        split: str,
                        fractions: Mapping[str, float] = DEFAULT_SPLIT_FRACTIONS,
                        seed: int = 0) -> List[str]:
    """Patients of one split, stratified by Target; each patient lands in exactly one split.

    The patients are sorted by id before the seeded split, so the result depends only on the
    set of patients, their Targets, ``fractions`` and ``seed`` (not on the CSV's row order).

    Args:
        targets (Mapping[str, int]): patientId -> Target (0/1), e.g. from
            :func:`mmchest.io.rsna_labels.rsna_patient_targets`.
        split (str): A key of ``fractions``.
        fractions (Mapping[str, float]): Split name -> relative size. Defaults to
            :data:`DEFAULT_SPLIT_FRACTIONS`.
        seed (int): Random seed. Defaults to 0.

    Returns:
        list[str]: The split's patientIds, sorted.
    """
    check_split(split, fractions)
    pids = sorted(targets)
    parts = grouped_stratified_split([targets[p] for p in pids], fractions, seed=seed,
                                     groups=pids)
    return [pids[i] for i in parts[split]]


@dataclass
class RSNARecords:
    """What :func:`load_rsna_records` found.

    Args:
        records (list[RSNAPatient]): The split's usable patients, in order.
        report (BoxReport): What box cleaning did (its source names the split).
        headers (dict): patientId -> ``(height, width, view_position)`` of its DICOM
            (``image_size`` and None when the headers were not used).
        img_dir (str): The DICOM folder (``<img_dir>/<patientId>.dcm``).
    """
    records: List[RSNAPatient]
    report: BoxReport
    headers: Dict[str, Tuple[int, int, Optional[str]]]
    img_dir: str

    def img_path(self, patient_id: str) -> str:
        """str: The DICOM of one patient."""
        return osp.join(self.img_dir, f'{patient_id}.dcm')


def load_rsna_records(ann_file: str,
                      img_dir: str,
                      screen: Screen,
                      class_info: Optional[str] = None,
                      split: Optional[str] = None,
                      split_fractions: Mapping[str, float] = DEFAULT_SPLIT_FRACTIONS,
                      split_seed: int = 0,
                      image_size: Optional[Sequence[int]] = None,
                      min_box_size: float = 1.0,
                      strict: bool = False) -> RSNARecords:
    """Read the labels, cut the split, check the DICOMs and clean the boxes.

    Args:
        ann_file (str): ``stage_2_train_labels.csv``.
        img_dir (str): The DICOM folder.
        screen (Callable): ``screen(own, others, extra=f) -> kept``: checks the entries
            ``dict(img_path, patient_id)`` of this split (``own``) and of the other splits
            and returns the usable ``own`` ones, calling ``f(entry, check)`` for each usable
            image with its header check (``height``, ``width``, ``view_position``).
        class_info (str, optional): ``stage_2_detailed_class_info.csv`` (None: no classes).
            Defaults to None.
        split (str, optional): Keep one split (:func:`rsna_split_patients`). Defaults to None.
        split_fractions (Mapping[str, float]): Split name -> relative size.
            Defaults to :data:`DEFAULT_SPLIT_FRACTIONS`.
        split_seed (int): Seed of the split. Defaults to 0.
        image_size (Sequence[int], optional): ``(height, width)`` of every image instead of
            the DICOM headers (then ``view_position`` is None). Defaults to None.
        min_box_size (float): See :func:`mmchest.io.rsna_labels.parse_rsna_labels`.
            Defaults to 1.0.
        strict (bool): Raise on the first bad label row. Defaults to False.

    Returns:
        RSNARecords: The split's patients, report and headers.
    """
    labels = read_rsna_labels(ann_file)
    targets = rsna_patient_targets(labels)
    patients = list(targets)
    if split is not None:
        patients = rsna_split_patients(targets, split, split_fractions, split_seed)
    mine = set(patients)
    entries = {pid: dict(img_path=osp.join(img_dir, f'{pid}.dcm'), patient_id=pid)
               for pid in targets}
    headers: Dict[str, Tuple[int, int, Optional[str]]] = {}

    def keep_header(info: dict, check) -> None:
        headers[info['patient_id']] = (check.height, check.width, check.view_position)

    kept = screen([entries[p] for p in patients],
                  [entries[p] for p in targets if p not in mine], extra=keep_header)
    patients = [d['patient_id'] for d in kept]
    size = None if image_size is None else (int(image_size[0]), int(image_size[1]))

    def header(pid: str) -> Tuple[int, int, Optional[str]]:
        if size is not None:
            return size[0], size[1], None
        return headers[pid]

    records, report = parse_rsna_labels(
        labels, class_info=class_info, image_size=lambda p: header(p)[:2],
        min_size=min_box_size, strict=strict,
        patients=patients)  # the kept ones (all, in first-seen order, without a split)
    if split is not None:
        report.source += f' [split {split!r}, seed {split_seed}]'
    return RSNARecords(records=records, report=report,
                       headers={r.patient_id: header(r.patient_id) for r in records},
                       img_dir=img_dir)
