"""The RSNA Pneumonia Detection Challenge (stage 2) download layout: DICOMs + label CSVs.

``rsna/``: ``stage_2_{train,test}_images/<patientId>.dcm``, ``stage_2_train_labels.csv``
(``patientId,x,y,width,height,Target``) and ``stage_2_detailed_class_info.csv``.
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from typing import Dict, Iterator, List

from .dicom_writer import _write_tagged_dicom
from .files import SyntheticCase, _labelled_draws, _patient_tags, _spacing
from .painter import chest_radiograph
from .seeding import PathLike, Progress, _check_size

__all__ = ['rsna_cases', 'write_rsna']

_RSNA_NEGATIVE_CLASSES = ('Normal', 'No Lung Opacity / Not Normal')


def rsna_cases(num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.5) -> Iterator[SyntheticCase]:
    """Generate the RSNA images and labels (train then test).

    Positives ('Lung Opacity') have 1-4 opacities (mostly 1-2); negatives are split between
    'Normal' and 'No Lung Opacity / Not Normal' (drawn with an enlarged heart). Positives are
    more often AP, as in the real data.

    Args:
        num_train (int): labelled patients. Defaults to 40.
        num_test (int): unlabelled patients. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with opacities, in each split. Defaults to 0.5.

    Yields:
        SyntheticCase: ``case_id`` = patientId (a UUID), ``label`` = the detailed class,
        ``sample.boxes`` = the opacity boxes (x1, y1, x2, y2).
    """
    size = _check_size(size)
    for split, index, positive, rng in _labelled_draws('rsna', seed, num_train, num_test,
                                                       positive_fraction):
        if positive:
            label = 'Lung Opacity'
            sample = chest_radiograph(size, [seed, 'rsna', split, index], lesion='pneumonia',
                                      num_opacities=int(rng.choice([1, 2, 2, 3, 4])))
            if not sample.instances:  # no room for any opacity: retry with one
                sample = chest_radiograph(size, [seed, 'rsna', split, index, 'retry'],
                                          lesion='pneumonia', num_opacities=1)
            if not sample.instances:  # pragma: no cover - never seen at 64..512 px
                raise RuntimeError(f'could not place an opacity in RSNA case {index}')
            view = str(rng.choice(['AP', 'PA'], p=[0.7, 0.3]))
        else:
            label = str(rng.choice(_RSNA_NEGATIVE_CLASSES))
            sample = chest_radiograph(size, [seed, 'rsna', split, index],
                                      heart_scale=1.3 if label != 'Normal' else 1.0)
            view = str(rng.choice(['AP', 'PA'], p=[0.4, 0.6]))
        tags = _patient_tags('rsna', seed, split, index, rng)
        tags['ViewPosition'] = view
        yield SyntheticCase(split, tags['PatientID'], sample, label, tags)


def write_rsna(root: PathLike,
               num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.5,
               progress: Progress = None) -> Dict[str, object]:
    """Write the RSNA Pneumonia Detection Challenge (stage 2) layout under ``<root>/rsna``.

    Files: ``stage_2_train_images/<patientId>.dcm``, ``stage_2_test_images/<patientId>.dcm``,
    ``stage_2_train_labels.csv`` (``patientId,x,y,width,height,Target``: one row per box with
    float pixel coordinates, or one row with empty coordinates and ``Target`` 0) and
    ``stage_2_detailed_class_info.csv`` (``patientId,class``, one row per label row).

    Args:
        root (str | os.PathLike): output root; ``rsna/`` is created inside.
        num_train, num_test, size, seed, positive_fraction: as in :func:`rsna_cases`.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'test', 'positives', 'boxes'}``.
    """
    out = osp.join(os.fspath(root), 'rsna')
    os.makedirs(out, exist_ok=True)
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    labels: List[List[str]] = []
    classes: List[List[str]] = []
    positives = 0
    for case in rsna_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        _write_tagged_dicom(osp.join(out, f'stage_2_{case.split}_images', f'{case.case_id}.dcm'),
                            case.sample.image, case.tags, _spacing(size))
        ids[case.split].append(case.case_id)
        if case.split == 'train':
            boxes = case.sample.boxes
            if len(boxes):
                positives += 1
                for x1, y1, x2, y2 in boxes.tolist():
                    labels.append([case.case_id, f'{x1:.1f}', f'{y1:.1f}', f'{x2 - x1:.1f}',
                                   f'{y2 - y1:.1f}', '1'])
                    classes.append([case.case_id, case.label])
            else:
                labels.append([case.case_id, '', '', '', '', '0'])
                classes.append([case.case_id, case.label])
        if progress is not None:
            progress()
    with open(osp.join(out, 'stage_2_train_labels.csv'), 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['patientId', 'x', 'y', 'width', 'height', 'Target'])
        writer.writerows(labels)
    with open(osp.join(out, 'stage_2_detailed_class_info.csv'), 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['patientId', 'class'])
        writer.writerows(classes)
    return {'root': out, 'train': ids['train'], 'test': ids['test'], 'positives': positives,
            'boxes': sum(row[-1] == '1' for row in labels)}
