"""Tests for mmchest.synthetic.dicom_writer: write_dicom and the raw writer."""
import re

import numpy as np
import pydicom
import pytest

from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64
UID_RE = re.compile(r'^2\.25\.\d+$')


# ---------------------------------------------------------------------------- DICOM
def test_write_dicom_jpeg_baseline_tags(tmp_path):
    image = chest_radiograph(SIZE, 0).image
    path = tmp_path / 'a' / 'b.dcm'
    write_dicom(path, image, sop_instance_uid='1.2.3', patient_sex='F', patient_age='061Y',
                view_position='AP', patient_id='anon-1')
    ds = pydicom.dcmread(path)
    assert path.read_bytes()[128:132] == b'DICM'
    assert ds.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.4.50'
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == '1.2.3'
    assert ds.SOPClassUID == '1.2.840.10008.5.1.4.1.1.7'
    assert (ds.Modality, ds.PhotometricInterpretation, ds.ViewPosition) == ('CR', 'MONOCHROME2',
                                                                           'AP')
    assert (ds.PatientSex, ds.PatientAge, ds.BodyPartExamined) == ('F', '061Y', 'CHEST')
    assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored) == (SIZE, SIZE, 8, 8)
    assert str(ds.PatientName) == 'anon^synthetic' and ds.PatientID == 'anon-1'
    assert UID_RE.match(ds.StudyInstanceUID) and UID_RE.match(ds.SeriesInstanceUID)
    assert ds.LossyImageCompression == '01'
    pixels = ds.pixel_array
    assert pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - image).mean() < 2.0


def test_write_dicom_is_byte_deterministic(tmp_path):
    image = chest_radiograph(SIZE, 1).image
    write_dicom(tmp_path / 'x' / 'f.dcm', image)
    write_dicom(tmp_path / 'y' / 'f.dcm', image)
    assert (tmp_path / 'x' / 'f.dcm').read_bytes() == (tmp_path / 'y' / 'f.dcm').read_bytes()


def test_write_dicom_uncompressed_monochrome1_and_16bit(tmp_path):
    image = chest_radiograph(SIZE, 2).image
    write_dicom(tmp_path / 'raw.dcm', image, compressed=False)
    ds = pydicom.dcmread(tmp_path / 'raw.dcm')
    assert ds.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.1'
    np.testing.assert_array_equal(ds.pixel_array, image)

    write_dicom(tmp_path / 'm1.dcm', image, compressed=False, photometric='MONOCHROME1')
    ds = pydicom.dcmread(tmp_path / 'm1.dcm')
    assert ds.PhotometricInterpretation == 'MONOCHROME1'
    np.testing.assert_array_equal(ds.pixel_array, 255 - image)

    write_dicom(tmp_path / 'b12.dcm', image, compressed=False, bits_stored=12,
                photometric='MONOCHROME1', rescale_slope=2.0, rescale_intercept=-100.0)
    ds = pydicom.dcmread(tmp_path / 'b12.dcm')
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (2.0, -100.0)
    expected = 4095 - np.round(image * (4095 / 255)).astype(np.uint16)
    np.testing.assert_array_equal(ds.pixel_array, expected)

    write_dicom(tmp_path / 'b16.dcm', image, compressed=False, bits_stored=16, modality='DX')
    ds = pydicom.dcmread(tmp_path / 'b16.dcm')
    assert ds.Modality == 'DX' and ds.pixel_array.max() == round(int(image.max()) * 65535 / 255)


def test_write_dicom_jpeg_monochrome1(tmp_path):
    image = chest_radiograph(SIZE, 2).image
    write_dicom(tmp_path / 'j1.dcm', image, photometric='MONOCHROME1')
    stored = pydicom.dcmread(tmp_path / 'j1.dcm').pixel_array.astype(int)
    assert np.abs((255 - stored) - image).mean() < 2.0


@pytest.mark.parametrize('kwargs,message', [
    (dict(bits_stored=12), 'JPEG Baseline is 8-bit only'),
    (dict(bits_stored=10, compressed=False), 'bits_stored'),
    (dict(photometric='RGB'), 'photometric'),
    (dict(modality='CT'), 'modality'),
])
def test_write_dicom_rejects_bad_options(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_dicom(tmp_path / 'x.dcm', np.zeros((SIZE, SIZE), np.uint8), **kwargs)
    with pytest.raises(ValueError, match='2-D uint8'):
        write_dicom(tmp_path / 'x.dcm', np.zeros((SIZE, SIZE), np.uint16))


def test_raw_dicom_dataset_keeps_values_and_saves_without_meta(tmp_path):
    from mmchest.synthetic import dicom_dataset, save_dicom
    values = np.array([[-1000, 0], [500, 2000]], np.int16)
    ds = dicom_dataset(values, bits_stored=12, signed=True, RescaleSlope='2', Modality='CR')
    path = save_dicom(ds, tmp_path / 'a' / 'raw.dcm')
    back = pydicom.dcmread(path)
    assert (back.BitsAllocated, back.BitsStored, back.HighBit, back.PixelRepresentation) == (
        16, 12, 11, 1)
    assert back.RescaleSlope == 2 and back.Modality == 'CR'
    np.testing.assert_array_equal(back.pixel_array, values)
    frames = np.zeros((2, 3, 4), np.uint8)
    ds = dicom_dataset(frames, frames=2)
    path = save_dicom(ds, tmp_path / 'bare.dcm', file_meta=False, implicit_vr=True)
    raw = open(path, 'rb').read()
    assert raw[128:132] != b'DICM' and raw[:2] == b'\x08\x00'
    back = pydicom.dcmread(path, force=True)
    assert (back.NumberOfFrames, back.Rows, back.Columns) == (2, 3, 4)
    rgb = dicom_dataset(np.zeros((3, 4, 3), np.uint8))
    assert (rgb.SamplesPerPixel, rgb.PhotometricInterpretation, rgb.PlanarConfiguration) == (
        3, 'RGB', 0)


def test_read_dicom_hides_identifiers(tmp_path):
    dicom = pytest.importorskip('mmchest.io.dicom')
    image = chest_radiograph(SIZE, 4).image
    write_dicom(tmp_path / 'p.dcm', image, patient_id='anon-77')
    out, meta = dicom.read_dicom(tmp_path / 'p.dcm')
    assert out.shape == image.shape and np.abs(out.astype(int) - image).mean() < 2.0
    assert 'PatientName' not in meta and 'PatientID' not in meta
    assert 'anon' not in repr(meta)
    assert meta['ViewPosition'] == 'PA' and meta['TransferSyntaxUID'].endswith('.4.50')
