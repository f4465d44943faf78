"""RSNA Pneumonia Detection labels: read, group per patient, clean boxes (pandas/numpy only).

Formats (Kaggle "RSNA Pneumonia Detection Challenge", stage 2):
    * ``stage_2_train_labels.csv``: ``patientId,x,y,width,height,Target``; one row per box
      (x, y = top-left corner in pixels of the 1024x1024 image), one row with empty
      coordinates and ``Target=0`` for a patient without pneumonia.
    * ``stage_2_detailed_class_info.csv``: ``patientId,class``, class one of
      :data:`RSNA_DETAILED_CLASSES`, repeated once per label row.
    * Submission: ``patientId,PredictionString``, the string being space-separated
      ``score x y width height`` groups (see :func:`format_prediction_string`).

Boxes are returned as ``(x1, y1, x2, y2)`` float pixels (continuous coordinates, ``x2 = x +
width``). Bad rows are clipped or rejected and counted per reason in a :class:`BoxReport`
(see :data:`BOX_REASONS`); with ``strict=True`` the first one raises instead. Error messages
name the CSV file and line; reports and messages never list patient ids.
"""
from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

__all__ = [
    'RSNA_CLASSES', 'RSNA_DETAILED_CLASSES', 'LABEL_COLUMNS', 'BOX_REASONS', 'RSNALabelError',
    'RSNAPatient', 'BoxReport', 'read_rsna_labels', 'read_rsna_class_info',
    'rsna_patient_targets', 'clean_box', 'parse_rsna_labels', 'format_prediction_string'
]

#: Detection classes (one, with the trailing comma).
RSNA_CLASSES: Tuple[str, ...] = ('pneumonia',)
#: The image-level 3-class label of ``stage_2_detailed_class_info.csv``.
RSNA_DETAILED_CLASSES: Tuple[str, ...] = ('Lung Opacity', 'No Lung Opacity / Not Normal',
                                          'Normal')
#: Required columns of ``stage_2_train_labels.csv``.
LABEL_COLUMNS: Tuple[str, ...] = ('patientId', 'x', 'y', 'width', 'height', 'Target')
#: Reasons counted in :attr:`BoxReport.counts`, with what happens to the row.
BOX_REASONS: Dict[str, str] = OrderedDict([
    ('nan_coordinate', 'Target=1 row with a missing or non-finite coordinate: rejected'),
    ('non_positive_size', 'width or height <= 0: rejected'),
    ('clipped', 'partly outside the image: clipped to it, kept'),
    ('outside_image', 'less than min_size left inside the image: rejected'),
    ('duplicate', 'same box twice for one patient: the copy rejected'),
    ('box_on_negative', 'Target=0 row with coordinates: the coordinates ignored'),
    ('mixed_target', 'Target=0 row of a patient who also has Target=1 rows: ignored'),
    ('positive_without_box', 'Target=1 patient left without a valid box: patient dropped'),
    ('class_missing', 'patient absent from the detailed class file: class_label None'),
    ('class_conflict', 'detailed class disagrees between rows or with Target: first kept'),
])

ImageHW = Tuple[int, int]
ImageSize = Union[None, ImageHW, Mapping[str, ImageHW], Callable[[str], ImageHW]]
PathOrFrame = Union[str, os.PathLike, pd.DataFrame]


class RSNALabelError(ValueError):
    """A label file is malformed (missing column, bad value); the message names file and line."""


@dataclass
class RSNAPatient:
    """One patient (= one image) after grouping and cleaning.

    Args:
        patient_id (str): The Kaggle ``patientId`` (also the DICOM file stem).
        target (int): 1 if the patient has pneumonia boxes, else 0 (after cleaning).
        boxes (np.ndarray): Shape (N, 4) float64 xyxy pixels; (0, 4) for a negative.
        class_label (str, optional): The detailed 3-class label, or None if unknown.
        lines (list[int]): 1-based CSV line numbers of the patient's rows (header = line 1).
    """
    patient_id: str
    target: int
    boxes: np.ndarray
    class_label: Optional[str] = None
    lines: List[int] = field(default_factory=list)


@dataclass
class BoxReport:
    """What cleaning did to one label file (or the patients of one split of it).

    Args:
        source (str): The label file (or a description).
        n_rows (int): Label rows of the patients considered.
        n_patients (int): Patients kept.
        n_positive (int): Kept patients with at least one box.
        n_negative (int): Kept patients without boxes.
        n_boxes (int): Boxes kept.
        counts (dict[str, int]): Rows (or patients, for ``positive_without_box``,
            ``class_missing``, ``class_conflict``) per reason of :data:`BOX_REASONS`.
    """
    source: str = ''
    n_rows: int = 0
    n_patients: int = 0
    n_positive: int = 0
    n_negative: int = 0
    n_boxes: int = 0
    counts: Dict[str, int] = field(default_factory=lambda: {k: 0 for k in BOX_REASONS})

    @property
    def n_issues(self) -> int:
        """int: Total count over all reasons."""
        return int(sum(self.counts.values()))

    def summary(self) -> str:
        """str: A few human-readable lines (counts only, never patient ids)."""
        head = (f'RSNA labels {self.source}: {self.n_rows} rows -> {self.n_patients} images '
                f'({self.n_positive} with boxes, {self.n_negative} without), '
                f'{self.n_boxes} boxes')
        issues = [f'  {name}: {n} ({BOX_REASONS[name]})' for name, n in self.counts.items()
                  if n]
        return '\n'.join([head + (';' if issues else '; no bad rows')] + issues)


# --------------------------------------------------------------------------- reading
def _read_csv(source: PathOrFrame, what: str) -> Tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), f'<{what} DataFrame>'
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path!r}')
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise RSNALabelError(f'{path}: cannot parse as CSV ({type(err).__name__}: '
                             f'{str(err).splitlines()[0] if str(err) else ""})') from None
    return df, path


def _check_columns(df: pd.DataFrame, required: Sequence[str], name: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RSNALabelError(f'{name}: missing column(s) {missing}; expected header '
                             f'{",".join(required)}, got {",".join(map(str, df.columns))}')


def read_rsna_labels(source: PathOrFrame) -> pd.DataFrame:
    """Read and validate ``stage_2_train_labels.csv``.

    Args:
        source (str | os.PathLike | pd.DataFrame): The CSV file, or a frame with the same
            columns (values as strings or numbers).

    Returns:
        pd.DataFrame: Columns ``patientId`` (str), ``x``, ``y``, ``width``, ``height``
        (float64, NaN when empty), ``Target`` (int64) and ``line`` (1-based CSV line, header =
        line 1), one row per label row in file order. ``df.attrs['source']`` names the file.

    Raises:
        FileNotFoundError: The file does not exist.
        RSNALabelError: A missing column, an empty patientId, a non-numeric coordinate, or a
            Target that is not 0/1 (naming the line).
    """
    df, name = _read_csv(source, 'RSNA labels')
    _check_columns(df, LABEL_COLUMNS, name)
    out = pd.DataFrame({'patientId': df['patientId'].astype(str).str.strip()})
    out['line'] = np.arange(len(df), dtype=np.int64) + 2
    empty_id = np.flatnonzero((out['patientId'] == '') | (out['patientId'] == 'nan'))
    if empty_id.size:
        raise RSNALabelError(f'{name}: line {int(out["line"].iloc[empty_id[0]])}: '
                             f'empty patientId')
    for col in ('x', 'y', 'width', 'height', 'Target'):
        missing = df[col].isna().to_numpy()
        text = df[col].astype(object).where(~missing, '').astype(str).str.strip()
        empty = text.str.lower().isin(['', 'nan', 'na', 'none']).to_numpy()
        values = pd.to_numeric(text.where(~empty), errors='coerce').to_numpy(np.float64)
        bad = np.flatnonzero(np.isnan(values) & ~empty)
        if bad.size:
            i = int(bad[0])
            raise RSNALabelError(f'{name}: line {int(out["line"].iloc[i])}: column {col} '
                                 f'is {str(df[col].iloc[i])!r}, not a number')
        out[col] = values
    target = out['Target'].to_numpy()
    bad = np.flatnonzero(~np.isin(target, (0.0, 1.0)))
    if bad.size:
        i = int(bad[0])
        raise RSNALabelError(f'{name}: line {int(out["line"].iloc[i])}: Target is '
                             f'{df["Target"].iloc[i]!r}; expected 0 or 1')
    out['Target'] = target.astype(np.int64)
    out = out[['patientId', 'x', 'y', 'width', 'height', 'Target', 'line']]
    out.attrs['source'] = name
    return out


def read_rsna_class_info(source: PathOrFrame) -> Tuple[Dict[str, str], Dict[str, int]]:
    """Read ``stage_2_detailed_class_info.csv`` into one class per patient.

    Args:
        source (str | os.PathLike | pd.DataFrame): The CSV file (``patientId,class``) or frame.

    Returns:
        tuple[dict[str, str], dict[str, int]]: The class of each patient (its first row) and,
        for patients whose rows disagree, the number of disagreeing rows.

    Raises:
        FileNotFoundError: The file does not exist.
        RSNALabelError: A missing column, or a class outside :data:`RSNA_DETAILED_CLASSES`
            (naming the line).
    """
    df, name = _read_csv(source, 'RSNA detailed class info')
    _check_columns(df, ('patientId', 'class'), name)
    classes: Dict[str, str] = {}
    conflicts: Dict[str, int] = {}
    for i, (pid, cls) in enumerate(zip(df['patientId'].astype(str).str.strip(),
                                       df['class'].astype(str).str.strip())):
        if cls not in RSNA_DETAILED_CLASSES:
            raise RSNALabelError(f'{name}: line {i + 2}: class is {cls!r}; expected one of '
                                 f'{list(RSNA_DETAILED_CLASSES)}')
        if pid not in classes:
            classes[pid] = cls
        elif classes[pid] != cls:
            conflicts[pid] = conflicts.get(pid, 0) + 1
    return classes, conflicts


def rsna_patient_targets(labels: pd.DataFrame) -> 'OrderedDict[str, int]':
    """Target of each patient (1 if any of its rows has Target=1), in first-seen order.

    Args:
        labels (pd.DataFrame): Output of :func:`read_rsna_labels`.

    Returns:
        OrderedDict[str, int]: patientId -> 0/1.
    """
    out: 'OrderedDict[str, int]' = OrderedDict()
    for pid, target in zip(labels['patientId'], labels['Target']):
        out[pid] = max(out.get(pid, 0), int(target))
    return out


# --------------------------------------------------------------------------- cleaning
def clean_box(x: float, y: float, width: float, height: float,
              image_hw: Optional[ImageHW] = None,
              min_size: float = 1.0) -> Tuple[Optional[Tuple[float, float, float, float]],
                                              Optional[str]]:
    """Convert one ``x, y, width, height`` row to xyxy, clipping it to the image.

    Args:
        x (float): Left edge in pixels.
        y (float): Top edge in pixels.
        width (float): Box width in pixels.
        height (float): Box height in pixels.
        image_hw (tuple[int, int], optional): Image (height, width); None skips clipping.
            Defaults to None.
        min_size (float): Smallest width and height kept after clipping. Defaults to 1.0.

    Returns:
        tuple: ``(box, reason)``: ``box`` is ``(x1, y1, x2, y2)`` or None when rejected;
        ``reason`` is None for a clean box, else a key of :data:`BOX_REASONS`
        (``'clipped'`` comes with a box, the others with None).
    """
    vals = (x, y, width, height)
    if not all(v is not None and math.isfinite(float(v)) for v in vals):
        return None, 'nan_coordinate'
    x, y, width, height = (float(v) for v in vals)
    if width <= 0 or height <= 0:
        return None, 'non_positive_size'
    x1, y1, x2, y2 = x, y, x + width, y + height
    if image_hw is None:
        return (x1, y1, x2, y2), None
    h, w = float(image_hw[0]), float(image_hw[1])
    cx1, cy1 = min(max(x1, 0.0), w), min(max(y1, 0.0), h)
    cx2, cy2 = min(max(x2, 0.0), w), min(max(y2, 0.0), h)
    if cx2 - cx1 < min_size or cy2 - cy1 < min_size:
        return None, 'outside_image'
    if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
        return (cx1, cy1, cx2, cy2), 'clipped'
    return (x1, y1, x2, y2), None


def _size_lookup(image_size: ImageSize) -> Callable[[str], Optional[ImageHW]]:
    if image_size is None:
        return lambda pid: None
    if callable(image_size):
        return image_size
    if isinstance(image_size, Mapping):
        return lambda pid: image_size.get(pid)
    hw = tuple(int(v) for v in image_size)  # type: ignore[union-attr]
    if len(hw) != 2 or min(hw) <= 0:
        raise ValueError(f'image_size must be (height, width) > 0, got {image_size!r}')
    return lambda pid: hw  # type: ignore[return-value]


def parse_rsna_labels(labels: PathOrFrame,
                      class_info: Optional[PathOrFrame] = None,
                      image_size: ImageSize = None,
                      min_size: float = 1.0,
                      strict: bool = False,
                      patients: Optional[Iterable[str]] = None
                      ) -> Tuple[List[RSNAPatient], BoxReport]:
    """Group label rows per patient, convert boxes to xyxy and clip or reject bad ones.

    Args:
        labels (str | os.PathLike | pd.DataFrame): ``stage_2_train_labels.csv``, or the frame
            :func:`read_rsna_labels` returned for it.
        class_info (str | os.PathLike | pd.DataFrame, optional):
            ``stage_2_detailed_class_info.csv``. Defaults to None (no class labels).
        image_size (tuple | Mapping | Callable, optional): Image ``(height, width)``: one for
            all, a patientId-keyed mapping, or a function called once per kept patient
            (e.g. reading the DICOM header). None, or a lookup returning None, skips
            clipping. Defaults to None.
        min_size (float): Smallest width/height kept after clipping. Defaults to 1.0.
        strict (bool): Raise on the first bad row instead of clipping/rejecting (``clipped``
            and every other reason except ``class_missing`` raise). Defaults to False.
        patients (Iterable[str], optional): Only these patients (e.g. one split), in this
            order. Defaults to None (all, in first-seen order).

    Returns:
        tuple[list[RSNAPatient], BoxReport]: Patients in order (those dropped as
        ``positive_without_box`` left out) and the report.

    Raises:
        RSNALabelError: Malformed file, a requested patient absent from the labels, or with
            ``strict=True`` any bad row (naming the line and the reason).
    """
    df = labels if isinstance(labels, pd.DataFrame) and 'line' in labels.columns \
        else read_rsna_labels(labels)
    source = str(df.attrs.get('source', '<RSNA labels>'))
    classes, conflicts = (read_rsna_class_info(class_info) if class_info is not None
                          else ({}, {}))
    size_of = _size_lookup(image_size)
    report = BoxReport(source=source)

    rows_of: 'OrderedDict[str, List[int]]' = OrderedDict()
    for i, pid in enumerate(df['patientId'].to_numpy()):
        rows_of.setdefault(pid, []).append(i)
    if patients is None:
        order = list(rows_of)
    else:
        order = list(patients)
        missing = [p for p in order if p not in rows_of]
        if missing:
            raise RSNALabelError(f'{source}: {len(missing)} requested patient(s) have no '
                                 f'label rows')

    cols = {c: df[c].to_numpy() for c in ('x', 'y', 'width', 'height', 'Target', 'line')}

    def issue(reason: str, line: int, count: int = 1) -> None:
        if strict and reason != 'class_missing':
            raise RSNALabelError(f'{source}: line {line}: {reason} '
                                 f'({BOX_REASONS[reason]})')
        report.counts[reason] += count

    out: List[RSNAPatient] = []
    for pid in order:
        idxs = rows_of[pid]
        lines = [int(cols['line'][i]) for i in idxs]
        report.n_rows += len(idxs)
        target = int(max(cols['Target'][i] for i in idxs))
        hw = size_of(pid) if target else None
        boxes: List[Tuple[float, float, float, float]] = []
        for i, line in zip(idxs, lines):
            xywh = [cols[c][i] for c in ('x', 'y', 'width', 'height')]
            if cols['Target'][i] == 0:
                if any(math.isfinite(v) for v in xywh):
                    issue('box_on_negative', line)
                if target:
                    issue('mixed_target', line)
                continue
            box, reason = clean_box(*xywh, image_hw=hw, min_size=min_size)
            if reason is not None:
                issue(reason, line)
            if box is None:
                continue
            if box in boxes:
                issue('duplicate', line)
                continue
            boxes.append(box)
        if target and not boxes:
            issue('positive_without_box', lines[0])
            continue
        cls = classes.get(pid)
        if class_info is not None:
            if cls is None:
                issue('class_missing', lines[0])
            elif pid in conflicts or (cls == 'Lung Opacity') != bool(boxes):
                issue('class_conflict', lines[0])
        out.append(RSNAPatient(patient_id=pid, target=int(bool(boxes)),
                               boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
                               class_label=cls, lines=lines))
    report.n_patients = len(out)
    report.n_positive = sum(p.target for p in out)
    report.n_negative = report.n_patients - report.n_positive
    report.n_boxes = int(sum(len(p.boxes) for p in out))
    return out, report


# --------------------------------------------------------------------------- submission
def format_prediction_string(boxes: np.ndarray,
                             scores: np.ndarray,
                             score_thr: float = 0.0,
                             image_hw: Optional[ImageHW] = None,
                             decimals: int = 1) -> str:
    """Format one image's detections as a Kaggle ``PredictionString``.

    Format: space-separated groups ``score x y width height`` (score with 4 decimals),
    highest score first, e.g. ``'0.9500 10.0 20.0 30.0 40.0'``; ``''`` for no detection.

    Args:
        boxes (np.ndarray): Shape (N, 4) xyxy pixels in original-image coordinates.
        scores (np.ndarray): Shape (N,) confidences.
        score_thr (float): Keep detections with ``score > score_thr``. Defaults to 0.0.
        image_hw (tuple[int, int], optional): Clip boxes to this (height, width); boxes left
            empty are dropped. Defaults to None.
        decimals (int): Decimals of the coordinates. Defaults to 1.

    Returns:
        str: The PredictionString.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(b) != len(s):
        raise ValueError(f'got {len(b)} boxes but {len(s)} scores')
    if not np.isfinite(b).all() or np.isnan(s).any():
        raise ValueError('boxes and scores must be finite')
    if image_hw is not None:
        h, w = image_hw
        b = np.stack([b[:, 0].clip(0, w), b[:, 1].clip(0, h), b[:, 2].clip(0, w),
                      b[:, 3].clip(0, h)], axis=1)
    keep = (s > score_thr) & (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, s = b[keep], s[keep]
    parts = []
    for i in np.argsort(-s, kind='stable'):
        x1, y1, x2, y2 = b[i]
        parts.append(f'{s[i]:.4f} {x1:.{decimals}f} {y1:.{decimals}f} '
                     f'{x2 - x1:.{decimals}f} {y2 - y1:.{decimals}f}')
    return ' '.join(parts)
