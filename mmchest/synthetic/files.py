"""What the layout writers share: the case record, PNG/NPZ writers and metadata draws.

Pure module (numpy, cv2 and the standard library).
"""
from __future__ import annotations

import io
import os
import os.path as osp
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, Tuple

import cv2
import numpy as np

from .painter import SyntheticImage
from .seeding import _check_count, _rng, synthetic_patient_id, synthetic_uid

__all__ = ['SyntheticCase']


@dataclass
class SyntheticCase:
    """One file of a layout: where it goes and what it shows.

    Attributes:
        split (str): ``'train'``, ``'test'`` (SIIM, RSNA) or ``'train'``/``'val'``/``'test'``
            (multi-expert).
        case_id (str): SOPInstanceUID (SIIM), patientId (RSNA) or ``'<id>_<view>'``
            (multi-expert).
        sample (SyntheticImage): the image and its labels.
        label (str): dataset-specific image label: ``'positive'``/``'negative'`` (SIIM),
            the RSNA detailed class, or ``'pneumonia'``/``'norma'`` (multi-expert).
        tags (dict): DICOM tags of the file (UIDs, sex, age, view position); empty for PNGs.
    """
    split: str
    case_id: str
    sample: SyntheticImage
    label: str
    tags: Dict[str, str] = field(default_factory=dict)


def _age_string(rng: np.random.Generator) -> str:
    return f'{int(rng.integers(18, 90)):03d}Y'


def _spacing(size: int) -> Tuple[float, float]:
    """Pixel spacing of a 1024-px, 0.168-mm radiograph resampled to ``size``."""
    mm = round(0.168 * 1024 / size, 4)
    return mm, mm


def _positives(rng: np.random.Generator, count: int, fraction: float) -> np.ndarray:
    """Exactly ``round(count * fraction)`` positives, at random places."""
    flags = np.zeros(count, bool)
    flags[:int(round(count * fraction))] = True
    return rng.permutation(flags)


def _labelled_draws(layout: str, seed: int, num_train: int, num_test: int,
                    positive_fraction: float
                    ) -> Iterator[Tuple[str, int, bool, np.random.Generator]]:
    """``(split, index, positive, meta rng)`` of each image of a SIIM/RSNA layout, train then
    test, with exactly ``round(count * positive_fraction)`` positives per split."""
    for split, count in (('train', _check_count('num_train', num_train)),
                         ('test', _check_count('num_test', num_test))):
        flags = _positives(_rng(seed, layout, split, 'labels'), count, positive_fraction)
        for index in range(count):
            yield split, index, bool(flags[index]), _rng(seed, layout, split, index, 'meta')


def _patient_tags(layout: str, seed: int, split: str, index: int,
                  rng: np.random.Generator) -> Dict[str, str]:
    """The UIDs, PatientID, PatientSex and PatientAge of one image (sex and age from ``rng``)."""
    return dict(StudyInstanceUID=synthetic_uid(seed, layout, split, index, 'study'),
                SeriesInstanceUID=synthetic_uid(seed, layout, split, index, 'series'),
                SOPInstanceUID=synthetic_uid(seed, layout, split, index, 'sop'),
                PatientID=synthetic_patient_id(seed, layout, split, index),
                PatientSex=str(rng.choice(['M', 'F'])), PatientAge=_age_string(rng))


def _save_npz(path: str, mask: np.ndarray) -> None:
    """``np.savez_compressed(path, mask=mask)`` with a fixed timestamp, so bytes repeat."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    info = zipfile.ZipInfo('mask.npy', date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(mask), allow_pickle=False)
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr(info, buffer.getvalue())


def _imwrite(path: str, image: np.ndarray) -> None:
    """Write an 8-bit single-channel PNG, creating folders."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')
