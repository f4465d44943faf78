"""SIIM-ACR Pneumothorax labels: read ``train-rle.csv`` / ``stage_2_train.csv`` (csv only).

Format (Kaggle "SIIM-ACR Pneumothorax Segmentation", 2019): one row per lesion part,
``ImageId,EncodedPixels`` (the stage-1 file has a space before ``EncodedPixels``), RLE
column-major, stage-1 offsets relative to the end of the previous run, ``-1`` = empty image.
Several rows of one image are merged into one mask at load time (:mod:`mmchest.io.rle`).
Error messages name the file, the line and the ImageId. :func:`find_siim_csv` and
:func:`find_dicoms` find the CSV and the DICOMs of a download (the tools' one discovery).
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from typing import Dict, List, Optional

from mmchest.io.rle import RLEError, is_empty_rle

__all__ = ['SIIM_CSV_NAMES', 'DICOM_SUFFIXES', 'read_siim_csv', 'find_siim_csv', 'find_dicoms']


def read_siim_csv(path: str) -> Dict[str, List[tuple]]:
    """Group the rows of ``train-rle.csv`` / ``stage_2_train.csv`` by ImageId.

    Columns are found by their header names, so both headers are accepted (``ImageId,
    EncodedPixels`` with or without the stage-1 leading space) and extra columns, before or
    after, are ignored. A row with more values than the header has columns (other than
    trailing empty ones) is refused naming the line and the columns. Every row of an image
    is kept (they are merged into one mask at load time); empty rows (``-1``) are kept as
    markers of a labelled, empty image.

    Args:
        path (str): CSV file.

    Returns:
        dict[str, list[tuple[int, str]]]: ImageId to ``(csv_row, rle)`` pairs; ``csv_row``
        is the 1-based line number in the file (the header is line 1).
    """
    grouped: Dict[str, List[tuple]] = {}
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f, skipinitialspace=True)
        header = next(reader, None)
        columns = [c.strip() for c in header or []]
        if 'ImageId' not in columns or 'EncodedPixels' not in columns:
            raise ValueError(f'{path}: expected columns ImageId and EncodedPixels (any order, '
                             f'other columns are ignored), got {columns}')
        id_col, rle_col = columns.index('ImageId'), columns.index('EncodedPixels')
        for values in reader:
            row = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) > len(columns) and any(v.strip() for v in values[len(columns):]):
                raise ValueError(
                    f'{path}, line {row}: {len(values)} values but the header has '
                    f'{len(columns)} columns {columns}; a value with a comma must be quoted')
            if len(values) <= max(id_col, rle_col):
                raise ValueError(f'{path}, line {row}: {len(values)} value(s), expected the '
                                 f'columns {columns}')
            image_id, rle = values[id_col].strip(), values[rle_col].strip()
            if not image_id:
                raise ValueError(f'{path}, line {row}: empty ImageId')
            _check_rle_syntax(rle, path, row, image_id)
            grouped.setdefault(image_id, []).append((row, rle))
    return grouped


def _check_rle_syntax(rle: str, path: str, row: int, image_id: str) -> None:
    """Cheap syntax check so a broken CSV fails at dataset build, not mid-epoch."""
    if is_empty_rle(rle):
        return
    parts = rle.split()
    if len(parts) % 2:
        raise RLEError(f'{path}, line {row} (ImageId {image_id}): odd number of RLE values '
                       f'({len(parts)})')
    if not all(p.isdigit() for p in parts):
        bad = next(p for p in parts if not p.isdigit())
        raise RLEError(f'{path}, line {row} (ImageId {image_id}): RLE value {bad!r} is not '
                       'a non-negative integer')


#: The label CSVs of the SIIM-ACR download, in the order they are looked for.
SIIM_CSV_NAMES = ('train-rle.csv', 'stage_2_train.csv')
#: Suffixes of DICOM files (compared case-insensitively).
DICOM_SUFFIXES = ('.dcm', '.dicom')


def find_siim_csv(root: str, ann_file: Optional[str] = None) -> str:
    """The RLE CSV of a SIIM-ACR download: ``ann_file``, else the first of
    :data:`SIIM_CSV_NAMES` that exists.

    Args:
        root (str): The download folder.
        ann_file (str, optional): The CSV, relative to ``root`` or absolute. Defaults to None.

    Returns:
        str: The CSV's path.

    Raises:
        FileNotFoundError: None of the candidates exists (they are named).
    """
    candidates = [ann_file] if ann_file else list(SIIM_CSV_NAMES)
    paths = [c if osp.isabs(c) else osp.join(root, c) for c in candidates]
    found = next((p for p in paths if osp.isfile(p)), None)
    if found is None:
        raise FileNotFoundError(f'no RLE CSV in {root!r} (looked for {candidates})')
    return found


def find_dicoms(folder: str) -> List[str]:
    """Sorted ``*.dcm`` / ``*.dicom`` files under ``folder`` (recursive, links followed).

    SIIM's ``dicom-images-{train,test}/<Study>/<Series>/<ImageId>.dcm``: the ImageId is the
    file's stem.
    """
    return sorted(osp.join(root, name) for root, _, names in os.walk(folder, followlinks=True)
                  for name in names if name.lower().endswith(DICOM_SUFFIXES))
