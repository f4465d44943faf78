"""Tests for mmchest.io.dicom_sr: TID 1500 reports of boxes on a synthetic RSNA-like
radiograph, read back with highdicom and pydicom and checked with dciodvfy."""
from __future__ import annotations

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import UID

from mmchest.io.dicom_derived import AlgorithmInfo, DerivedObjectError, dciodvfy
from mmchest.io.dicom_sr import box_polyline, build_measurement_report, write_measurement_report
from mmchest.synthetic import write_dicom


@pytest.fixture
def algorithm(tmp_path):
    cfg = tmp_path / 'mask_rcnn_rsna.py'
    cfg.write_text('x = 1\n')
    return AlgorithmInfo.from_files(cfg, extra={'score_thr': '0.3'})


@pytest.fixture
def source(tmp_path):
    path = tmp_path / 'patient.dcm'
    write_dicom(path, np.random.default_rng(1).integers(0, 255, (100, 120), dtype=np.uint8))
    return path


def _evidence_uids(ds):
    return [sop.ReferencedSOPInstanceUID
            for study in ds.CurrentRequestedProcedureEvidenceSequence
            for series in study.ReferencedSeriesSequence
            for sop in series.ReferencedSOPSequence]


@pytest.mark.needs_dciodvfy
def test_report_with_boxes(tmp_path, source, algorithm):
    boxes = np.array([[10.5, 20, 50, 70], [60, 5, 130, 40]], np.float32)  # 2nd one clipped
    scores = np.array([0.92, 0.41], np.float32)
    out = tmp_path / 'sr.dcm'
    write_measurement_report(out, source, boxes, scores, algorithm)
    errors, warnings = dciodvfy(out)
    assert errors == [], errors
    assert all('Study ID' in w for w in warnings), warnings

    src = pydicom.dcmread(source)
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == '1.2.840.10008.5.1.4.1.1.88.34' and ds.Modality == 'SR'
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    assert UID(ds.SOPInstanceUID).is_valid and ds.SOPInstanceUID != src.SOPInstanceUID
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    assert _evidence_uids(ds) == [src.SOPInstanceUID]
    assert ds.CompletionFlag == 'COMPLETE' and ds.VerificationFlag == 'UNVERIFIED'
    assert 'ViewPosition' not in ds and 'PixelSpacing' not in ds

    sr = hd.sr.srread(out)
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == '1500'
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == 2
    expected = [box_polyline(b, 100, 120) for b in boxes]
    for group, points, score in zip(groups, expected, scores):
        roi = group.roi
        assert roi.GraphicType == 'POLYLINE'
        np.testing.assert_allclose(roi.value, points)
        assert roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == \
            src.SOPInstanceUID
        (measurement, ) = group.get_measurements()
        assert measurement.name.value == '122157'  # DCM Probability
        assert measurement.unit.value == '1' and measurement.unit.scheme_designator == 'UCUM'
        assert measurement.value == pytest.approx(float(score), abs=1e-6)
        assert group.finding_type.value == '233604007'
    np.testing.assert_allclose(expected[1][:, 0].max(), 120)  # clipped to the width
    np.testing.assert_allclose(expected[0][0], expected[0][-1])  # closed
    (image_group, ) = sr.content.get_image_measurement_groups()
    assert image_group.get_measurements()[0].value == pytest.approx(0.92, abs=1e-6)
    params = [item.TextValue for item in pydicom.dcmread(out).ContentSequence[-1]
              .ContentSequence[0].ContentSequence if item.get('TextValue', '').startswith(
                  'config_sha256')]
    assert params == [f'config_sha256={algorithm.config_sha256}']


@pytest.mark.needs_dciodvfy
def test_report_without_boxes_still_references_the_image(tmp_path, source, algorithm):
    out = tmp_path / 'none.dcm'
    write_measurement_report(out, source, np.zeros((0, 4)), np.zeros(0), algorithm)
    assert dciodvfy(out)[0] == []
    sr = hd.sr.srread(out)
    assert sr.content.get_planar_roi_measurement_groups() == []
    (group, ) = sr.content.get_image_measurement_groups()
    assert group.get_measurements()[0].value == 0
    assert _evidence_uids(sr) == [pydicom.dcmread(source).SOPInstanceUID]


def test_bad_inputs_are_refused(tmp_path, source, algorithm):
    png = tmp_path / 'x.png'
    cv2.imwrite(str(png), np.zeros((8, 8), np.uint8))
    with pytest.raises(DerivedObjectError, match='not a DICOM file'):
        build_measurement_report(png, np.zeros((0, 4)), [], algorithm)
    with pytest.raises(DerivedObjectError, match='1 boxes but 2 scores'):
        build_measurement_report(source, [[0, 0, 5, 5]], [0.5, 0.6], algorithm)
    with pytest.raises(DerivedObjectError, match=r'\[0, 1\]'):
        build_measurement_report(source, [[0, 0, 5, 5]], [1.5], algorithm)
    with pytest.raises(DerivedObjectError, match='finite'):
        build_measurement_report(source, [[0, 0, np.nan, 5]], [0.5], algorithm)
    with pytest.raises(DerivedObjectError, match='empty'):
        box_polyline([200, 0, 250, 5], 100, 120)
    # a box without area inside the image gets no ROI; the others do
    sr = build_measurement_report(source, [[200, 0, 250, 5], [1, 1, 9, 9], [5, 5, 5, 9]],
                                  [0.9, 0.5, 0.4], algorithm)
    sr = hd.sr.Comprehensive3DSR.from_dataset(sr)
    (group, ) = sr.content.get_planar_roi_measurement_groups()
    assert group.get_measurements()[0].value == pytest.approx(0.5)
