"""Detection boxes as a DICOM Structured Report: a TID 1500 Measurement Report (highdicom).

Pure module (numpy, pydicom, highdicom; no registry, no OpenMMLab imports).

Comprehensive 3D SR (SOP Class 1.2.840.10008.5.1.4.1.1.88.34, the class OHIF writes and
reads its measurements in; the content uses only 2-D SCOORDs, so it is a Comprehensive SR
in all but name) holding TID 1500 "Imaging Measurement Report":

* observation context: the model as the observer device (TID 1004: UID from the weights'
  SHA-256, name ``mmchest``, model name = the config's stem);
* procedure reported: Plain chest X-ray (SCT 399208008);
* the source radiograph in the Current Requested Procedure Evidence Sequence (so a report
  without boxes still references it) and in every ROI's SCOORD; no TID 1600 image library
  (highdicom builds one for CR/DX only from a two-valued Patient Orientation and an Imager
  Pixel Spacing, which the Kaggle files do not carry);
* one TID 1501 image-level group first (tracking identifier "<Finding> image", the finding
  type and category, the algorithm, the image-level probability: the highest box score, 0
  without boxes, or the caller's value) referencing the source image, so that a report
  without boxes still says "examined, probability 0" about that image (TID 1500 needs at
  least one group);
* one TID 1410 "Planar ROI Measurements" group per box: tracking identifier and UID, finding
  type from :func:`mmchest.io.dicom_derived.finding_code` (Pneumonia SCT 233604007 for the
  RSNA boxes), finding category Morphologically Abnormal Structure (SCT 49755003), the
  algorithm (TID 4019: name, version, parameters), the region as a closed SCOORD POLYLINE
  (five points, the first repeated; image pixel coordinates: column, row, (0, 0) the top
  left corner of the top left pixel, so mmdet's ``x1, y1, x2, y2`` boxes are the corners
  unchanged) on the source image, and the box score as a NUM measurement "Probability"
  (DCM 122157) with unit UCUM ``1`` ("no units").

Why SR and not a SEG of the box regions: a box is a region plus a score; TID 1500 carries
both per box, with the finding coded, and OHIF and 3D Slicer (QuantitativeReporting) display
its planar ROIs as measurements; a SEG would keep the region only.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional, Union

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from mmchest.io.dicom_derived import (AlgorithmInfo, DerivedObjectError, finding_code,
                                      read_source_header)

__all__ = ['SR_SERIES_NUMBER', 'CHEST_XRAY', 'box_polyline', 'build_measurement_report',
           'write_measurement_report']

PathLike = Union[str, 'os.PathLike[str]']
#: Series Number of the SR series.
SR_SERIES_NUMBER: int = 901
#: Procedure reported: SNOMED CT "Plain chest X-ray".
CHEST_XRAY: Code = Code('399208008', 'SCT', 'Plain chest X-ray')


def box_polyline(box: Sequence[float], rows: int, columns: int) -> np.ndarray:
    """A box as a closed SCOORD POLYLINE, clipped to the image.

    Args:
        box (Sequence[float]): ``x1, y1, x2, y2`` in pixels (``x2``/``y2`` the far edges).
        rows (int): image height.
        columns (int): image width.

    Returns:
        np.ndarray: (5, 2) float32 ``(column, row)`` points: the four corners clockwise from
        the top left, then the top left again.

    Raises:
        DerivedObjectError: when the box is not finite or is empty after clipping.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if not np.isfinite([x1, y1, x2, y2]).all():
        raise DerivedObjectError(f'box {list(box)} is not finite')
    x1, x2 = np.clip([x1, x2], 0, columns)
    y1, y2 = np.clip([y1, y2], 0, rows)
    if x2 <= x1 or y2 <= y1:
        raise DerivedObjectError(f'box {list(box)} is empty inside the {rows}x{columns} image')
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]], np.float32)


def build_measurement_report(source: Union[PathLike, Dataset],
                             boxes: np.ndarray,
                             scores: np.ndarray,
                             algorithm: AlgorithmInfo,
                             *,
                             finding: str = 'pneumonia',
                             series_instance_uid: Optional[str] = None,
                             series_number: int = SR_SERIES_NUMBER,
                             sop_instance_uid: Optional[str] = None,
                             instance_number: int = 1,
                             content_qualification: str = 'RESEARCH',
                             image_probability: Optional[float] = None
                             ) -> hd.sr.Comprehensive3DSR:
    """Build a TID 1500 Measurement Report with one planar ROI per box.

    Args:
        source (str | os.PathLike | pydicom.Dataset): the DICOM image the boxes were found on
            (only its header is read).
        boxes (np.ndarray): (N, 4) ``x1, y1, x2, y2`` in the source's pixels; N may be 0.
            Boxes are clipped to the image; one without area inside it gets no ROI.
        scores (np.ndarray): (N,) box scores in [0, 1].
        algorithm (AlgorithmInfo): the model.
        finding (str): class name of the boxes. Defaults to 'pneumonia'.
        series_instance_uid (str, optional): the SR series; a new UID if None.
        series_number (int): Series Number. Defaults to :data:`SR_SERIES_NUMBER`.
        sop_instance_uid (str, optional): the SR's SOP Instance UID; a new UID if None.
        instance_number (int): Instance Number. Defaults to 1.
        content_qualification (str): 'RESEARCH' (default), 'PRODUCT' or 'SERVICE'.
        image_probability (float, optional): the image-level probability in [0, 1]; the
            highest score (0 without boxes) if None.

    Returns:
        highdicom.sr.Comprehensive3DSR: the report (``.save_as(path)`` writes it), marked
        complete and unverified (nobody has signed it).

    Raises:
        DerivedObjectError: when the source is not a usable DICOM image, or the boxes and
            scores do not match or are not finite, or a score is outside [0, 1].
    """
    src = read_source_header(source)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise DerivedObjectError(f'{len(boxes)} boxes but {len(scores)} scores')
    if len(scores) and (not np.isfinite(scores).all() or scores.min() < 0 or scores.max() > 1):
        raise DerivedObjectError('box scores must be finite and in [0, 1]')
    if not np.isfinite(boxes).all():
        raise DerivedObjectError('box coordinates must be finite')
    if image_probability is None:
        image_probability = float(scores.max()) if len(scores) else 0.0
    if not 0.0 <= float(image_probability) <= 1.0:
        raise DerivedObjectError(f'image_probability must be in [0, 1], got {image_probability}')
    rows, columns = int(src.Rows), int(src.Columns)
    finding_type = finding_code(finding)
    label = finding.strip().capitalize() or finding_type.meaning
    algo = hd.sr.AlgorithmIdentification(
        name=algorithm.name,
        version=algorithm.version,
        parameters=[f'{k}={v}' for k, v in algorithm.parameters.items()])
    source_ref = hd.sr.SourceImageForRegion(src.SOPClassUID, src.SOPInstanceUID)
    groups: list = [hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f'{label} image'),
        finding_type=finding_type,
        finding_category=codes.SCT.MorphologicallyAbnormalStructure,
        algorithm_id=algo,
        measurements=[hd.sr.Measurement(
            name=codes.DCM.Probability, value=float(round(float(image_probability), 6)),
            unit=codes.UCUM.NoUnits, algorithm_id=algo)],
        source_images=[hd.sr.SourceImageForMeasurementGroup(src.SOPClassUID,
                                                            src.SOPInstanceUID)])]
    clipped_w = np.clip(boxes[:, 2], 0, columns) - np.clip(boxes[:, 0], 0, columns)
    clipped_h = np.clip(boxes[:, 3], 0, rows) - np.clip(boxes[:, 1], 0, rows)
    inside = (clipped_w > 0) & (clipped_h > 0)  # a box without area in the image: no ROI
    for i, (box, score) in enumerate(zip(boxes[inside], scores[inside]), start=1):
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
            graphic_data=box_polyline(box, rows, columns),
            source_image=source_ref)
        probability = hd.sr.Measurement(
            name=codes.DCM.Probability, value=float(round(score, 6)), unit=codes.UCUM.NoUnits,
            algorithm_id=algo)
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f'{label} {i}'),
            referenced_region=region,
            finding_type=finding_type,
            finding_category=codes.SCT.MorphologicallyAbnormalStructure,
            algorithm_id=algo,
            measurements=[probability]))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=algorithm.device_uid,
            name=algorithm.name,
            manufacturer_name='mmchest',
            model_name=algorithm.model_name,
            serial_number=algorithm.serial_number))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=CHEST_XRAY,
        imaging_measurements=groups)
    try:
        return hd.sr.Comprehensive3DSR(
            evidence=[src],
            content=report[0],
            series_instance_uid=series_instance_uid or hd.UID(),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or hd.UID(),
            instance_number=instance_number,
            manufacturer='mmchest',
            is_complete=True,
            is_final=False,
            is_verified=False,
            series_description=f'{algorithm.name} SR {algorithm.model_name}'[:64],
            content_qualification=content_qualification)
    except (ValueError, TypeError, AttributeError) as err:
        raise DerivedObjectError(f'highdicom refused the report: {err}') from None


def write_measurement_report(path: PathLike,
                             source: Union[PathLike, Dataset],
                             boxes: np.ndarray,
                             scores: np.ndarray,
                             algorithm: AlgorithmInfo,
                             **kwargs) -> hd.sr.Comprehensive3DSR:
    """Build a report with :func:`build_measurement_report` and write it as a DICOM file.

    Args:
        path (str | os.PathLike): the output file; its folder must exist.
        source (str | os.PathLike | pydicom.Dataset): the DICOM source image.
        boxes (np.ndarray): (N, 4) boxes.
        scores (np.ndarray): (N,) scores.
        algorithm (AlgorithmInfo): the model.
        **kwargs: further arguments of :func:`build_measurement_report`.

    Returns:
        highdicom.sr.Comprehensive3DSR: the report as written.
    """
    sr = build_measurement_report(source, boxes, scores, algorithm, **kwargs)
    sr.save_as(os.fspath(path), enforce_file_format=True)
    return sr
