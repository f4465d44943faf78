"""Tests for mmchest.io.dicom_seg: SEGs of synthetic Kaggle-style radiographs, read back with
highdicom and pydicom and checked with dciodvfy (dicom3tools)."""
from __future__ import annotations

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import UID

from mmchest.io.dicom_derived import AlgorithmInfo, DerivedObjectError, dciodvfy, finding_code
from mmchest.io.dicom_seg import build_segmentation, read_segmentation, write_segmentation
from mmchest.synthetic import write_dicom


@pytest.fixture
def algorithm(tmp_path):
    cfg = tmp_path / 'unet_siim.py'
    cfg.write_text("_base_ = []\n")
    ckpt = tmp_path / 'iter_10.pth'
    ckpt.write_bytes(b'weights')
    return AlgorithmInfo.from_files(cfg, ckpt)


@pytest.fixture
def source(tmp_path):
    """A SIIM-like CR: Secondary Capture, JPEG Baseline, PixelSpacing, no orientation."""
    image = np.random.default_rng(0).integers(0, 255, (96, 80), dtype=np.uint8)
    path = tmp_path / 'src' / 'image.dcm'
    write_dicom(path, image, pixel_spacing=(0.2, 0.25))
    return path


def _mask(shape=(96, 80)):
    mask = np.zeros(shape, np.uint8)
    mask[10:40, 20:50] = 1
    return mask


def _assert_valid(path):
    errors, warnings = dciodvfy(path)
    assert errors == [], errors
    return warnings


@pytest.mark.needs_dciodvfy
def test_binary_seg_references_source_and_passes_dciodvfy(tmp_path, source, algorithm):
    out = tmp_path / 'seg.dcm'
    mask = _mask()
    write_segmentation(out, source, mask, algorithm)
    src = pydicom.dcmread(source)
    # only the DICOMDIR hint about the source's empty Study ID is left
    assert all('Study ID' in w for w in _assert_valid(out))

    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == '1.2.840.10008.5.1.4.1.1.66.4' and ds.Modality == 'SEG'
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    for uid in (ds.SOPInstanceUID, ds.SeriesInstanceUID):
        assert UID(uid).is_valid
        assert uid not in (src.SOPInstanceUID, src.SeriesInstanceUID, src.StudyInstanceUID)
    ref_series = ds.ReferencedSeriesSequence[0]
    assert ref_series.SeriesInstanceUID == src.SeriesInstanceUID
    assert ref_series.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == \
        src.SOPInstanceUID
    derivation = ds.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0]
    assert derivation.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    # geometry as the source gives it: pixel spacing, patient orientation, no FoR
    measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    assert [float(v) for v in measures.PixelSpacing] == [0.2, 0.25]
    assert 'PatientOrientation' in ds and 'FrameOfReferenceUID' not in ds
    # segment: coded concept, algorithm identification with the hashes
    segment = ds.SegmentSequence[0]
    assert segment.SegmentedPropertyTypeCodeSequence[0].CodeValue == '36118008'
    assert segment.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == 'SCT'
    assert segment.SegmentedPropertyCategoryCodeSequence[0].CodeValue == '49755003'
    assert segment.SegmentAlgorithmType == 'AUTOMATIC'
    algo = segment.SegmentationAlgorithmIdentificationSequence[0]
    assert algo.AlgorithmName == 'mmchest' and algo.AlgorithmVersion == algorithm.version
    assert algo.AlgorithmFamilyCodeSequence[0].CodeValue == '123110'
    assert f'config_sha256={algorithm.config_sha256}' in algo.AlgorithmParameters
    assert f'checkpoint_sha256={algorithm.checkpoint_sha256}' in algo.AlgorithmParameters
    assert 'config=unet_siim.py' in algo.AlgorithmParameters
    assert ds.ManufacturerModelName == 'unet_siim'
    assert ds.DeviceSerialNumber == algorithm.checkpoint_sha256[:16]
    assert ds.ContentQualification == 'RESEARCH'
    # patient/study copied (same patient and study), acquisition details of the image not
    assert ds.PatientID == src.PatientID
    for keyword in ('ViewPosition', 'BodyPartExamined', 'ConversionType', 'RescaleSlope'):
        assert keyword not in ds
    assert ds.SeriesDescription != src.SeriesDescription
    # derived from a lossy JPEG: the SEG must say so (PS3.3 C.7.6.1.1.5)
    assert ds.LossyImageCompression == '01'

    seg = read_segmentation(out)
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[src.SOPInstanceUID], segment_numbers=[1])
    np.testing.assert_array_equal(pixels[0, :, :, 0], mask)


@pytest.mark.needs_dciodvfy
def test_fractional_seg_stores_probabilities(tmp_path, source, algorithm):
    prob = np.linspace(0, 1, 96 * 80, dtype=np.float32).reshape(96, 80)
    out = tmp_path / 'prob.dcm'
    write_segmentation(out, source, prob, algorithm, kind='fractional', finding='pneumonia')
    _assert_valid(out)
    seg = read_segmentation(out)
    assert seg.SegmentationType == 'FRACTIONAL'
    assert seg.SegmentationFractionalType == 'PROBABILITY' and seg.MaximumFractionalValue == 255
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == '233604007'
    uid = pydicom.dcmread(source).SOPInstanceUID
    back = seg.get_pixels_by_source_instance(source_sop_instance_uids=[uid],
                                             segment_numbers=[1])[0, :, :, 0]
    assert np.abs(back - prob).max() <= 0.5 / 255 + 1e-6


@pytest.mark.needs_dciodvfy
def test_empty_mask_still_writes_one_frame(tmp_path, source, algorithm):
    out = tmp_path / 'empty.dcm'
    write_segmentation(out, source, np.zeros((96, 80), np.uint8), algorithm)
    _assert_valid(out)
    ds = pydicom.dcmread(out)
    assert int(ds.NumberOfFrames) == 1
    assert not ds.pixel_array.any()


@pytest.mark.needs_dciodvfy
def test_source_without_spacing_reads_with_segread(tmp_path, algorithm):
    path = tmp_path / 'nospacing.dcm'
    write_dicom(path, np.full((64, 64), 90, np.uint8))
    ds = pydicom.dcmread(path)
    del ds.PixelSpacing
    ds.save_as(path)
    out = tmp_path / 'seg.dcm'
    write_segmentation(out, path, _mask((64, 64)), algorithm)
    _assert_valid(out)
    seg = hd.seg.segread(out)  # highdicom's own reader, unchanged
    assert 'PixelMeasuresSequence' not in seg.SharedFunctionalGroupsSequence[0]
    assert seg.get_segment_numbers() == [1]


@pytest.mark.needs_dciodvfy
@pytest.mark.parametrize('full_plane', [True, False])
def test_frame_of_reference(tmp_path, algorithm, full_plane):
    """A full patient plane keeps its FoR; a projection FoR without a plane is dropped."""
    path = tmp_path / 'dx.dcm'
    write_dicom(path, np.full((64, 64), 90, np.uint8), modality='DX', compressed=False)
    ds = pydicom.dcmread(path)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.1'
    ds.FrameOfReferenceUID = hd.UID()
    ds.PositionReferenceIndicator = ''
    ds.PatientOrientation = ['L', 'F']
    if full_plane:
        ds.ImagePositionPatient = [0, 0, 0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceThickness = 1.0
    ds.save_as(path)
    out = tmp_path / 'seg.dcm'
    write_segmentation(out, path, _mask((64, 64)), algorithm)
    _assert_valid(out)
    seg = pydicom.dcmread(out)
    if full_plane:
        assert seg.FrameOfReferenceUID == ds.FrameOfReferenceUID
        assert 'PlaneOrientationSequence' in seg.SharedFunctionalGroupsSequence[0]
    else:
        assert 'FrameOfReferenceUID' not in seg
        assert list(seg.PatientOrientation) == ['L', 'F']


def test_png_source_is_refused(tmp_path, algorithm):
    png = tmp_path / 'image.png'
    cv2.imwrite(str(png), np.zeros((8, 8), np.uint8))
    with pytest.raises(DerivedObjectError, match='not a DICOM file'):
        build_segmentation(png, np.zeros((8, 8), np.uint8), algorithm)


def test_bad_arrays_are_refused(source, algorithm):
    with pytest.raises(DerivedObjectError, match='96x80'):
        build_segmentation(source, np.zeros((80, 96), np.uint8), algorithm)
    with pytest.raises(DerivedObjectError, match='only 0 and 1'):
        build_segmentation(source, np.full((96, 80), 255, np.uint8), algorithm)
    with pytest.raises(DerivedObjectError, match=r'\[0, 1\]'):
        build_segmentation(source, np.full((96, 80), 1.5, np.float32), algorithm,
                           kind='fractional')


def test_algorithm_info_untrained_and_finding_codes(tmp_path):
    cfg = tmp_path / 'mask_rcnn_rsna.py'
    cfg.write_text('x = 1\n')
    info = AlgorithmInfo.from_files(cfg, extra={'score_thr': 0.5})
    assert info.parameters['checkpoint'] == 'none' and info.serial_number == 'untrained'
    assert info.parameters['score_thr'] == '0.5'
    assert UID(info.device_uid).is_valid
    assert finding_code('Pneumothorax').value == '36118008'
    assert finding_code('pneumonia').value == '233604007'
    assert finding_code('nodule').value == '404684003'
