"""Tests for mmchest.io.dicom: DICOMs are built in tmp_path with known pixel values."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import simplejpeg
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import pixel_array
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless,
                         JPEGBaseline8Bit, JPEGLSLossless, RLELossless)

from mmchest.io import dicom as dicom_mod
from mmchest.io.dicom import (META_KEYS, DicomReadError, decode_dicom, has_dicom_prefix, normalize,
                              parse_age, read_dicom, read_dicom_meta)
from mmchest.synthetic import dicom_dataset, save_dicom

NAME = 'Doe^Jonathan'
PID = 'PID-98765'


def make_ds(arr: np.ndarray, tsyntax: str = ExplicitVRLittleEndian, **kwargs) -> Dataset:
    """Minimal Secondary Capture data set holding ``arr`` (HxW, HxWx3 or FxHxW), with a
    patient name and id to hide (the project's raw writer, ``dicom_dataset``)."""
    kwargs.setdefault('PatientName', NAME)
    kwargs.setdefault('PatientID', PID)
    return dicom_dataset(arr, tsyntax, **kwargs)


def save(ds: Dataset, path: Path) -> Path:
    return Path(save_dicom(ds, path))


def jpeg_file(path: Path, img: np.ndarray, **tags) -> tuple[Path, bytes]:
    """Write ``img`` (HxW gray or HxWx3 RGB uint8) as a JPEG Baseline DICOM."""
    color = img.ndim == 3
    jpg = simplejpeg.encode_jpeg(img if color else img[..., None], quality=95,
                                 colorspace='RGB' if color else 'GRAY',
                                 colorsubsampling='422')
    ds = make_ds(img, JPEGBaseline8Bit, encoded_frames=[jpg],
                 photometric='YBR_FULL_422' if color else 'MONOCHROME2', **tags)
    return save(ds, path), jpg


def chest_like(shape: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    smooth = 120 + 70 * np.sin(xx / 9.0) * np.cos(yy / 7.0)
    return np.clip(smooth + rng.normal(0, 6, shape), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------- uncompressed syntaxes
@pytest.mark.parametrize('tsyntax', [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_uncompressed_8bit_default_is_bit_identical(tmp_path, tsyntax):
    arr = chest_like()
    path = save(make_ds(arr, tsyntax), tmp_path / 'a.dcm')
    img, meta = read_dicom(path)
    assert img.dtype == np.uint8 and img.shape == arr.shape and img.flags.writeable
    np.testing.assert_array_equal(img, arr)
    assert meta['TransferSyntaxUID'] == tsyntax
    assert (meta['Rows'], meta['Columns'], meta['BitsStored']) == (48, 64, 8)


def test_big_endian_16bit(tmp_path):
    arr = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 300)
    ds = make_ds(arr.astype('>u2'), ExplicitVRBigEndian, bits_stored=12)
    path = save(ds, tmp_path / 'be.dcm')
    img, meta = read_dicom(path, norm='none', dtype='float32')
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, arr)
    assert meta['TransferSyntaxUID'] == ExplicitVRBigEndian


def test_no_file_meta_uses_forced_parse(tmp_path):
    arr = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 300)
    ds = make_ds(arr, bits_stored=12)
    path = Path(save_dicom(ds, tmp_path / 'nometa.dcm', file_meta=False, implicit_vr=True))
    raw = path.read_bytes()
    assert raw[128:132] != b'DICM' and raw[:2] == b'\x08\x00'  # starts with (0008,xxxx)
    img, meta = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, arr)
    assert meta['TransferSyntaxUID'] == ImplicitVRLittleEndian
    assert read_dicom_meta(path)['Rows'] == 3


def test_16bit_none_uint8_raises_but_float_and_minmax_work(tmp_path):
    arr = np.array([[0, 1000], [2000, 4000]], np.uint16)
    path = save(make_ds(arr, bits_stored=12), tmp_path / 'a16.dcm')
    with pytest.raises(DicomReadError, match=r'a16\.dcm.*does not fit uint8'):
        read_dicom(path, norm='none')
    img, _ = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, arr)
    img, _ = read_dicom(path, norm='minmax')
    # 1000/4000*255 = 63.75 -> 63 ; 2000/4000*255 = 127.5 -> 127 (truncation)
    np.testing.assert_array_equal(img, [[0, 63], [127, 255]])


def test_16bit_values_below_256_follow_header_not_values(tmp_path):
    # Declared range 0..4095 decides, so a dark 12-bit image still refuses uint8 'none'.
    arr = np.array([[0, 10], [20, 30]], np.uint16)
    path = save(make_ds(arr, bits_stored=12), tmp_path / 'dark.dcm')
    with pytest.raises(DicomReadError, match='does not fit uint8'):
        read_dicom(path, norm='none')


def test_decode_dicom_bytes_and_prefix(tmp_path):
    arr = chest_like((6, 5))
    path = save(make_ds(arr), tmp_path / 'b.dcm')
    raw = path.read_bytes()
    img, meta = decode_dicom(raw, name='mem://b.dcm', channels=3)
    assert img.shape == (6, 5, 3)
    np.testing.assert_array_equal(img[..., 1], arr)
    assert meta == read_dicom(path)[1]
    assert has_dicom_prefix(raw)
    assert not has_dicom_prefix(raw[128:]) and not has_dicom_prefix(b'') and \
        not has_dicom_prefix(b'\x89PNG' + bytes(200))
    with pytest.raises(DicomReadError, match=r'^mem://b\.dcm: '):
        decode_dicom(raw[:300], name='mem://b.dcm')
    with pytest.raises(DicomReadError, match=r'^<bytes>: empty file'):
        decode_dicom(b'')


# ----------------------------------------------------------------- photometric / LUTs
def test_monochrome1_8bit_inverted(tmp_path):
    arr = np.array([[0, 10], [200, 255]], np.uint8)
    path = save(make_ds(arr, photometric='MONOCHROME1'), tmp_path / 'm1.dcm')
    img, meta = read_dicom(path)
    np.testing.assert_array_equal(img, [[255, 245], [55, 0]])
    assert meta['PhotometricInterpretation'] == 'MONOCHROME1'
    img, _ = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, [[255, 245], [55, 0]])


def test_monochrome1_12bit_none_reflects_in_stored_range(tmp_path):
    arr = np.array([[0, 95], [4000, 4095]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, photometric='MONOCHROME1'), tmp_path / 'm1.dcm')
    img, _ = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, [[4095, 4000], [95, 0]])


def test_monochrome1_minmax_inverts_after_normalising(tmp_path):
    arr = np.array([[0, 1000], [2000, 4000]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, photometric='MONOCHROME1'), tmp_path / 'm1.dcm')
    img, _ = read_dicom(path, norm='minmax')
    np.testing.assert_array_equal(img, [[255, 255 - 63], [255 - 127, 0]])


def test_rescale_slope_intercept(tmp_path):
    arr = np.array([[0, 100], [1024, 2048]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, RescaleSlope='2', RescaleIntercept='-1024'),
                tmp_path / 'ct.dcm')
    img, _ = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, [[-1024, -824], [1024, 3072]])
    with pytest.raises(DicomReadError, match='does not fit uint8'):
        read_dicom(path, norm='none')


def test_rescale_identity_tags_keep_uint8(tmp_path):
    arr = chest_like((4, 5))
    path = save(make_ds(arr, RescaleSlope='1', RescaleIntercept='0'), tmp_path / 'id.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, arr)


def test_rescale_fractional_rejected_for_uint8(tmp_path):
    arr = np.array([[0, 1], [2, 3]], np.uint8)
    path = save(make_ds(arr, RescaleSlope='0.5', RescaleIntercept='0'), tmp_path / 'f.dcm')
    with pytest.raises(DicomReadError, match='non-integer'):
        read_dicom(path, norm='none')
    img, _ = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, [[0, 0.5], [1, 1.5]])


def test_window_mode_from_tags_and_user(tmp_path):
    arr = np.array([[0, 400, 500], [600, 1000, 4000]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, WindowCenter='500', WindowWidth='200'),
                tmp_path / 'w.dcm')
    # [400, 600] -> [0, 255]: 500 -> 127.5
    img, _ = read_dicom(path, norm='window', dtype='float32')
    np.testing.assert_allclose(img, [[0, 0, 127.5], [255, 255, 255]])
    img, _ = read_dicom(path, norm='window')
    np.testing.assert_array_equal(img, [[0, 0, 127], [255, 255, 255]])
    img, _ = read_dicom(path, norm='window', window=(500, 1000), dtype='float32')
    # [0, 1000] -> [0, 255]
    np.testing.assert_allclose(img, [[0, 102, 127.5], [153, 255, 255]])


def test_window_mode_monochrome1_window_refers_to_stored_values(tmp_path):
    arr = np.array([[400, 500, 600]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, photometric='MONOCHROME1', WindowCenter='500',
                        WindowWidth='200'), tmp_path / 'w1.dcm')
    img, _ = read_dicom(path, norm='window')
    np.testing.assert_array_equal(img, [[255, 128, 0]])  # 255 - [0, 127, 255]


def test_window_mode_without_window_raises(tmp_path):
    path = save(make_ds(chest_like((4, 4))), tmp_path / 'now.dcm')
    with pytest.raises(DicomReadError, match=r'now\.dcm.*WindowCenter'):
        read_dicom(path, norm='window')


def test_window_multivalued_tags_take_first(tmp_path):
    arr = np.array([[400, 600]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, WindowCenter=['500', '2000'],
                        WindowWidth=['200', '4000']), tmp_path / 'mv.dcm')
    img, _ = read_dicom(path, norm='window')
    np.testing.assert_array_equal(img, [[0, 255]])


def test_percentile_mode(tmp_path):
    arr = np.arange(101, dtype=np.uint16).reshape(1, 101) * 10
    path = save(make_ds(arr, bits_stored=12), tmp_path / 'p.dcm')
    img, _ = read_dicom(path, norm='percentile', percentiles=(10, 90), dtype='float32')
    # 10th percentile = 100, 90th = 900
    assert img[0, 0] == 0 and img[0, 10] == 0 and img[0, 90] == 255 and img[0, 100] == 255
    np.testing.assert_allclose(img[0, 50], 127.5)
    img, _ = read_dicom(path, norm='percentile', percentiles=(0, 100))
    np.testing.assert_array_equal(img[0, [0, 50, 100]], [0, 127, 255])


def test_voi_lut_matches_pydicom(tmp_path):
    arr = np.array([[0, 400, 500], [600, 1000, 4095]], np.uint16)
    ds = make_ds(arr, bits_stored=12, WindowCenter='500', WindowWidth='201')
    path = save(ds, tmp_path / 'voi.dcm')
    img, _ = read_dicom(path, norm='none', voi_lut=True, dtype='float32')
    expected = pydicom.pixels.apply_voi_lut(arr, pydicom.dcmread(path))
    np.testing.assert_allclose(img, expected.astype(np.float32))
    assert img.min() == 0 and img.max() == 4095
    with pytest.raises(ValueError, match='voi_lut'):
        read_dicom(path, voi_lut=True, norm='window')


def test_channels_3_replicates_gray(tmp_path):
    arr = chest_like((5, 7))
    path = save(make_ds(arr), tmp_path / 'c3.dcm')
    img, _ = read_dicom(path, channels=3)
    assert img.shape == (5, 7, 3) and img.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], arr)
    img, _ = read_dicom(path, channels=3, dtype='float32')
    assert img.shape == (5, 7, 3) and img.dtype == np.float32


def test_rgb_passthrough_and_to_gray(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 2] = (10, 20, 30)
    path = save(make_ds(rgb), tmp_path / 'rgb.dcm')
    img, meta = read_dicom(path, channels=3)
    np.testing.assert_array_equal(img, rgb)
    assert meta['PhotometricInterpretation'] == 'RGB'
    gray, _ = read_dicom(path)
    assert gray.shape == (2, 3)
    assert gray[0, 0] == 76  # round(0.299 * 255)


# ----------------------------------------------------------------- multi-frame
def test_multiframe_first_and_error(tmp_path):
    frames = np.stack([np.full((3, 4), 7, np.uint8), np.full((3, 4), 9, np.uint8)])
    path = save(make_ds(frames, frames=2), tmp_path / 'mf.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, np.full((3, 4), 7))
    with pytest.raises(DicomReadError, match=r'mf\.dcm.*2 frames'):
        read_dicom(path, frame='error')


def test_multiframe_rle_first(tmp_path):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (2, 6, 5)).astype(np.uint8)
    ds = make_ds(frames, frames=2)
    ds.compress(RLELossless)
    path = save(ds, tmp_path / 'mfrle.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, frames[0])


# ----------------------------------------------------------------- compressed syntaxes
def test_jpeg_baseline_fast_path(tmp_path):
    arr = chest_like((48, 64))
    path, jpg = jpeg_file(tmp_path / 'jpg.dcm', arr)
    img, meta = read_dicom(path)
    assert img.flags.writeable and img.flags.c_contiguous
    reference = simplejpeg.decode_jpeg(jpg, colorspace='GRAY')[..., 0]
    np.testing.assert_array_equal(img, reference)
    assert np.abs(img.astype(int) - arr).mean() < 3  # lossy but close to the source
    ds = pydicom.dcmread(path)
    # libjpeg-turbo, as pydicom's pillow plugin: bit-identical.
    np.testing.assert_array_equal(img, pixel_array(ds, decoding_plugin='pillow'))
    # IJG libjpeg 9 (pylibjpeg, pydicom's default) may differ by one level (IDCT rounding).
    assert np.abs(img.astype(int) - ds.pixel_array).max() <= 1
    assert meta['TransferSyntaxUID'] == JPEGBaseline8Bit


def test_jpeg_baseline_monochrome1(tmp_path):
    arr = chest_like((16, 16))
    path, jpg = jpeg_file(tmp_path / 'jpg1.dcm', arr)
    ds = pydicom.dcmread(path)
    ds.PhotometricInterpretation = 'MONOCHROME1'
    save(ds, path)
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, 255 - simplejpeg.decode_jpeg(jpg, colorspace='GRAY')[..., 0])


def test_jpeg_baseline_color_ybr(tmp_path):
    rgb = np.stack([chest_like((16, 24), s) for s in range(3)], axis=-1)
    path, _ = jpeg_file(tmp_path / 'ybr.dcm', rgb)
    img, _ = read_dicom(path, channels=3)
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(img, pixel_array(ds, decoding_plugin='pillow'))
    assert np.abs(img.astype(int) - rgb).mean() < 6


def test_jpeg_baseline_falls_back_to_pydicom(tmp_path, monkeypatch):
    arr = chest_like((16, 16))
    path, _ = jpeg_file(tmp_path / 'fb.dcm', arr)

    def broken(*args, **kwargs):
        raise RuntimeError('simulated libjpeg-turbo failure')

    monkeypatch.setattr(dicom_mod.simplejpeg, 'decode_jpeg', broken)
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, pydicom.dcmread(path).pixel_array)


@pytest.mark.parametrize('fragments', [2, 3])
def test_jpeg_baseline_fragmented_frame(tmp_path, fragments):
    arr = chest_like((32, 32))
    jpg = simplejpeg.encode_jpeg(arr[..., None], quality=95, colorspace='GRAY')
    ds = make_ds(arr, JPEGBaseline8Bit)
    ds.PixelData = encapsulate([jpg], fragments_per_frame=fragments)
    ds['PixelData'].VR = 'OB'
    path = save(ds, tmp_path / 'frag.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, simplejpeg.decode_jpeg(jpg, colorspace='GRAY')[..., 0])


def test_jpeg_baseline_multiframe_first(tmp_path):
    a, b = chest_like((16, 16), 1), chest_like((16, 16), 2)
    jpgs = [simplejpeg.encode_jpeg(x[..., None], quality=95, colorspace='GRAY') for x in (a, b)]
    ds = make_ds(np.stack([a, b]), JPEGBaseline8Bit, frames=2)
    ds.PixelData = encapsulate(jpgs)
    ds['PixelData'].VR = 'OB'
    path = save(ds, tmp_path / 'mfj.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, simplejpeg.decode_jpeg(jpgs[0], colorspace='GRAY')[..., 0])


@pytest.mark.parametrize('tsyntax', [RLELossless, JPEGLSLossless, JPEG2000Lossless],
                         ids=['rle', 'jpegls', 'j2k'])
@pytest.mark.parametrize('bits', [8, 12])
def test_lossless_round_trip(tmp_path, tsyntax, bits):
    rng = np.random.default_rng(bits)
    dtype = np.uint8 if bits == 8 else np.uint16
    arr = rng.integers(0, 2**bits, (32, 40)).astype(dtype)
    ds = make_ds(arr, bits_stored=bits)
    ds.compress(tsyntax)
    path = save(ds, tmp_path / 'll.dcm')
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == tsyntax
    img, meta = read_dicom(path, norm='none', dtype='float32')
    np.testing.assert_array_equal(img, arr)
    assert meta['TransferSyntaxUID'] == tsyntax
    img, _ = read_dicom(path)  # the default (norm='auto') loads every syntax and depth
    assert img.dtype == np.uint8
    if bits == 8:
        np.testing.assert_array_equal(img, arr)
    else:  # the same display values as the uncompressed file
        plain = save(make_ds(arr, bits_stored=bits), tmp_path / 'plain.dcm')
        np.testing.assert_array_equal(img, read_dicom(plain)[0])


# ----------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(DicomReadError, match=r'nope\.dcm: file not found') as err:
        read_dicom(tmp_path / 'nope.dcm')
    assert err.value.path.endswith('nope.dcm')
    with pytest.raises(DicomReadError, match='file not found'):
        read_dicom_meta(tmp_path / 'nope.dcm')


def test_directory_and_empty_file(tmp_path):
    with pytest.raises(DicomReadError, match='directory'):
        read_dicom(tmp_path)
    (tmp_path / 'empty.dcm').write_bytes(b'')
    with pytest.raises(DicomReadError, match=r'empty\.dcm: empty file'):
        read_dicom(tmp_path / 'empty.dcm')


@pytest.mark.parametrize('payload', [
    b'hello, this is a text file and not DICOM\n' * 5,
    b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4,
    bytes(600),
    b'ab',
], ids=['text', 'png', 'zeros', 'tiny'])
def test_non_dicom(tmp_path, payload):
    path = tmp_path / 'x.dcm'
    path.write_bytes(payload)
    with pytest.raises(DicomReadError, match=r'x\.dcm') as err:
        read_dicom(path)
    assert 'DICOM' in err.value.reason or 'pixel data' in err.value.reason
    with pytest.raises(DicomReadError, match=r'x\.dcm'):
        read_dicom_meta(path)


def test_no_pixel_data(tmp_path):
    ds = make_ds(chest_like((4, 4)))
    del ds.PixelData
    path = save(ds, tmp_path / 'nopix.dcm')
    with pytest.raises(DicomReadError, match=r'nopix\.dcm: no pixel data'):
        read_dicom(path)
    assert read_dicom_meta(path)['Rows'] == 4  # the header alone is fine


@pytest.mark.parametrize('kind', ['uncompressed', 'jpeg'])
def test_truncated_file(tmp_path, kind):
    path = tmp_path / 'cut.dcm'
    if kind == 'jpeg':
        jpeg_file(path, chest_like((64, 64)))
    else:
        save(make_ds(chest_like((64, 64))), path)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(DicomReadError, match=r'cut\.dcm') as err:
        read_dicom(path)
    assert NAME not in str(err.value) and PID not in str(err.value)


def test_undecodable_syntax(tmp_path):
    ds = make_ds(chest_like((8, 8)), '1.2.840.10008.1.2.4.100')  # MPEG2 Main Profile
    ds.PixelData = encapsulate([b'\x00\x00\x01\xb3' + bytes(60)])
    ds['PixelData'].VR = 'OB'
    path = save(ds, tmp_path / 'mpeg.dcm')
    with pytest.raises(DicomReadError, match=r'mpeg\.dcm: cannot decode pixel data: no '
                       r'decoder exists for transfer syntax MPEG2 Main Profile'):
        read_dicom(path)


def test_missing_decoder_is_named(tmp_path, monkeypatch):
    arr = (np.arange(32 * 40, dtype=np.uint16).reshape(32, 40) * 3)
    ds = make_ds(arr, bits_stored=12)
    ds.compress(JPEG2000Lossless)
    path = save(ds, tmp_path / 'j2k.dcm')

    class NoPlugin:
        is_available = False
        missing_dependencies = ['pylibjpeg - requires pylibjpeg-openjpeg', 'gdcm']

    def no_plugin(*args, **kwargs):
        raise RuntimeError('Unable to decode: no plugins available')

    monkeypatch.setattr(dicom_mod, 'get_decoder', lambda uid: NoPlugin())
    monkeypatch.setattr(dicom_mod, 'pixel_array', no_plugin)
    with pytest.raises(DicomReadError, match=r'j2k\.dcm: cannot decode pixel data: no '
                       r'installed decoder for transfer syntax JPEG 2000 Image Compression '
                       r'\(Lossless Only\).*install one of: pylibjpeg - requires '
                       r'pylibjpeg-openjpeg; gdcm'):
        read_dicom(path)


def test_corrupt_jpeg_frame(tmp_path):
    ds = make_ds(chest_like((8, 8)), JPEGBaseline8Bit)
    ds.PixelData = encapsulate([b'\xff\xd8\xff\xe0' + bytes(40) + b'\xff\xd9'])
    ds['PixelData'].VR = 'OB'
    path = save(ds, tmp_path / 'bad.dcm')
    with pytest.raises(DicomReadError, match=r'bad\.dcm: cannot decode pixel data'):
        read_dicom(path)


def test_palette_color_through_its_lut(tmp_path):
    idx = np.array([[0, 1], [2, 3]], np.uint8)
    ds = make_ds(idx, photometric='PALETTE COLOR')
    lut = np.array([0, 1000, 40000, 65535], np.uint16)  # 16-bit entries
    for color, data in (('Red', lut), ('Green', lut[::-1]), ('Blue', np.full(4, 65535))):
        setattr(ds, f'{color}PaletteColorLookupTableDescriptor', [4, 0, 16])
        setattr(ds, f'{color}PaletteColorLookupTableData',
                np.asarray(data, '<u2').tobytes())
    path = save(ds, tmp_path / 'pal.dcm')
    for norm in ('auto', 'none'):
        img, _ = read_dicom(path, norm=norm, channels=3)
        expected = np.rint(np.stack([lut, lut[::-1], np.full(4, 65535)], -1) / 257)
        np.testing.assert_array_equal(img.reshape(4, 3), expected)
    # without its palette tables the file is refused, naming it
    del ds.RedPaletteColorLookupTableData
    path = save(ds, tmp_path / 'nopal.dcm')
    with pytest.raises(DicomReadError, match=r'nopal\.dcm: PALETTE COLOR without a usable'):
        read_dicom(path)


@pytest.mark.parametrize('kwargs', [
    dict(norm='zscore'), dict(dtype='uint16'), dict(channels=2), dict(frame='last'),
    dict(percentiles=(50, 10)), dict(percentiles=(0, 101)), dict(window=(10, 0)),
    dict(window=(1, 2, 3))
])
def test_invalid_arguments_raise_valueerror_before_reading(tmp_path, kwargs):
    with pytest.raises(ValueError) as err:
        read_dicom(tmp_path / 'does-not-matter.dcm', **kwargs)
    assert not isinstance(err.value, DicomReadError)


# ----------------------------------------------------------------- metadata
def test_meta_has_no_identifiers(tmp_path):
    ds = make_ds(chest_like((4, 6)), ViewPosition='PA', PatientSex='F', PatientAge='058Y',
                 PixelSpacing=['0.143', '0.139'], Modality='CR')
    path = save(ds, tmp_path / 'meta.dcm')
    img, meta = read_dicom(path)
    assert set(meta) == set(META_KEYS)
    assert meta == {
        'ViewPosition': 'PA', 'PatientSex': 'F', 'PatientAge': 58,
        'PixelSpacing': (0.143, 0.139), 'Rows': 4, 'Columns': 6, 'Modality': 'CR',
        'PhotometricInterpretation': 'MONOCHROME2', 'BitsStored': 8, 'SamplesPerPixel': 1,
        'TransferSyntaxUID': ExplicitVRLittleEndian
    }
    assert read_dicom_meta(path) == meta
    text = repr(meta) + str(meta)
    for ident in (NAME, PID, 'Doe', 'Jonathan', '98765'):
        assert ident not in text


def test_meta_missing_tags_are_none(tmp_path):
    ds = make_ds(chest_like((4, 6)))
    path = save(ds, tmp_path / 'bare.dcm')
    meta = read_dicom_meta(path)
    assert meta['ViewPosition'] is None and meta['PatientAge'] is None
    assert meta['PixelSpacing'] is None and meta['PatientSex'] is None


@pytest.mark.parametrize('age, expected', [('412Y', None), ('58', 58)])
def test_meta_age_from_file(tmp_path, age, expected):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # pydicom warns when *writing* '58' (not DICOM AS)
        path = save(make_ds(chest_like((2, 2)), PatientAge=age), tmp_path / 'age.dcm')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # reading must not warn (raw bytes, no validation)
        assert read_dicom_meta(path)['PatientAge'] == expected
        assert read_dicom(path)[1]['PatientAge'] == expected


def test_meta_bad_pixel_spacing_is_none(tmp_path):
    path = save(make_ds(chest_like((2, 2)), PixelSpacing=['0', '0.1']), tmp_path / 'ps.dcm')
    assert read_dicom_meta(path)['PixelSpacing'] is None


def test_error_messages_scrub_identifiers(tmp_path):
    ds = make_ds(chest_like((4, 4)), photometric='YBR_FULL')  # 1 sample + YBR -> error
    path = save(ds, tmp_path / 'odd.dcm')
    with pytest.raises(DicomReadError) as err:
        read_dicom(path)
    assert NAME not in str(err.value) and PID not in str(err.value)
    assert dicom_mod._scrub(f'x {PID} y Doe z', pydicom.dcmread(path)) == \
        'x <redacted> y <redacted> z'


@pytest.mark.parametrize('value, expected', [
    ('058Y', 58), ('58', 58), ('058y', 58), (b'045Y', 45), ('006M', 0), ('018M', 1),
    ('003W', 0), ('104W', 2), ('400D', 1), ('000Y', 0), ('125Y', 125), ('126Y', None),
    ('412Y', None), ('412', None), ('-5', None), ('-005Y', None), ('', None), (None, None),
    ('abc', None), ('58Y ', 58), ('5 8', None), ('58.5', None)
])
def test_parse_age(value, expected):
    assert parse_age(value) == expected


# ----------------------------------------------------------------- normalize (pure)
def test_normalize_minmax_recipe():
    arr = np.array([[0, 50], [100, 200]], np.uint16)
    out = normalize(arr, 'minmax')
    np.testing.assert_allclose(out, arr / 200 * 255)
    np.testing.assert_array_equal(normalize(np.zeros((2, 2)), 'minmax'), 0)
    np.testing.assert_array_equal(normalize(np.array([-10.0, 0.0, 10.0]), 'minmax'),
                                  [0, 0, 255])
    np.testing.assert_array_equal(normalize(np.array([-10.0, -5.0]), 'minmax'), [0, 0])


def test_normalize_percentile_and_window_edges():
    np.testing.assert_array_equal(normalize(np.full((3, 3), 7.0), 'percentile'), 0)
    np.testing.assert_allclose(normalize(np.array([0.0, 5.0, 10.0]), 'percentile',
                                         percentiles=(0, 100)), [0, 127.5, 255])
    np.testing.assert_allclose(normalize(np.array([-1.0, 0.0, 1.0]), 'window', window=(0, 2)),
                               [0, 127.5, 255])
    arr = np.array([1, 2])
    assert normalize(arr, 'none') is arr
    assert normalize(np.zeros((0, 0)), 'percentile').shape == (0, 0)


@pytest.mark.parametrize('mode, kwargs', [('window', {}), ('foo', {}),
                                          ('percentile', dict(percentiles=(5, 5)))])
def test_normalize_bad_arguments(mode, kwargs):
    with pytest.raises(ValueError):
        normalize(np.zeros(3), mode, **kwargs)


# ----------------------------------------------------------------- pydicom's own test files
_PYDICOM_FILES = Path(pydicom.__file__).parent / 'data' / 'test_files'
# Only files present on disk: the ones pydicom downloads on demand are never fetched.
_LOCAL = sorted(p for p in _PYDICOM_FILES.iterdir() if p.is_file()) if _PYDICOM_FILES.is_dir() \
    else []


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('path', _LOCAL, ids=[p.name for p in _LOCAL])
def test_pydicom_test_files_load_or_raise_dicomreaderror(path):
    try:
        img, meta = read_dicom(path, norm='none', dtype='float32')
    except DicomReadError as err:
        assert os.fspath(path) in str(err)
    else:
        assert img.ndim in (2, 3) and img.size > 0 and np.isfinite(img).all()
        assert set(meta) == set(META_KEYS)
    try:
        read_dicom_meta(path)
    except DicomReadError:
        pass


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('name', [
    'CT_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'MR_small_RLE.dcm',
    'MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'image_dfl.dcm',
    'rtdose.dcm', 'SC_rgb_rle_2frame.dcm', 'SC_rgb_small_odd_big_endian.dcm',
    'SC_ybr_full_422_uncompressed.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'examples_ybr_color.dcm',
    'JPGExtended.dcm', 'liver_1frame.dcm'
])
def test_pydicom_test_files_match_pydicom(name):
    """Values equal pydicom's own decode (+ modality LUT): covers the continued parse."""
    path = _PYDICOM_FILES / name
    if not path.is_file():
        pytest.skip(f'{name} not bundled with this pydicom')
    ds = pydicom.dcmread(path, force=True)
    jpeg_baseline = ds.file_meta.get('TransferSyntaxUID') == JPEGBaseline8Bit
    ref = pixel_array(ds, decoding_plugin='pillow' if jpeg_baseline else '')
    if int(ds.get('NumberOfFrames') or 1) > 1:
        ref = ref[0]
    if ref.ndim == 2:
        ref = pydicom.pixels.apply_modality_lut(ref, ds)
    img, meta = read_dicom(path, norm='none', dtype='float32', channels=3 if ref.ndim == 3 else 1)
    assert img.shape == ref.shape
    np.testing.assert_array_equal(img, ref.astype(np.float32))
    assert meta['Rows'] == ds.Rows and meta['Columns'] == ds.Columns


def test_deflated_transfer_syntax(tmp_path):
    arr = chest_like((6, 7))
    path = save(make_ds(arr, DeflatedExplicitVRLittleEndian), tmp_path / 'dfl.dcm')
    assert arr.tobytes() not in path.read_bytes()  # really deflated
    img, meta = read_dicom(path)
    np.testing.assert_array_equal(img, arr)
    assert meta['TransferSyntaxUID'] == DeflatedExplicitVRLittleEndian


def test_pydicom_test_files_are_present():
    assert len(_LOCAL) > 20


# ----------------------------------------------------------------- norm='auto' (the default)
def _window_linear(x, center, width):
    """PS3.3 C.11.2.1.2.1 LINEAR window onto 0..255, written out for the tests."""
    x = np.asarray(x, np.float64)
    lo, hi = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    mid = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.where(x <= lo, 0, np.where(x > hi, 255, mid))


def test_auto_12bit_uses_the_header_window(tmp_path):
    arr = np.array([[0, 1000], [1500, 4095]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, WindowCenter='1500', WindowWidth='1001'),
                tmp_path / 'w.dcm')
    img, _ = read_dicom(path)
    assert img.dtype == np.uint8
    # 1000 is the window's bottom edge (0), 1500 just above its middle 1499.5
    # ((0.5 / 1000 + 0.5) * 255 = 127.6), 4095 above its top (255)
    np.testing.assert_array_equal(img, np.rint(_window_linear(arr, 1500, 1001)))
    np.testing.assert_array_equal(img, [[0, 0], [128, 255]])
    img, _ = read_dicom(path, dtype='float32')  # unrounded
    np.testing.assert_allclose(img, _window_linear(arr, 1500, 1001), atol=1e-4)


def test_auto_monochrome1_inverted_after_the_window(tmp_path):
    arr = np.array([[0, 1000], [1500, 4095]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, photometric='MONOCHROME1', WindowCenter='1500',
                        WindowWidth='1001'), tmp_path / 'm1.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, [[255, 255], [127, 0]])


def test_auto_without_window_uses_percentiles(tmp_path):
    rng = np.random.default_rng(3)
    arr = rng.integers(200, 3000, (40, 50)).astype(np.uint16)
    arr[0, :3] = [0, 4095, 4095]  # a few extreme pixels do not set the contrast
    path = save(make_ds(arr, bits_stored=12), tmp_path / 'p.dcm')
    img, _ = read_dicom(path)
    lo, hi = np.percentile(arr, (0.5, 99.5))
    expected = np.rint((np.clip(arr, lo, hi) - lo) / (hi - lo) * 255)
    np.testing.assert_array_equal(img, expected)
    img, _ = read_dicom(path, percentiles=(5, 95))
    lo, hi = np.percentile(arr, (5, 95))
    np.testing.assert_array_equal(img, np.rint((np.clip(arr, lo, hi) - lo) / (hi - lo) * 255))


def test_auto_signed_with_rescale_windows_in_modality_units(tmp_path):
    # CT-like: stored int16, HU = 2 * stored - 1000, lung window (-600, 1500)
    stored = np.array([[-200, 0], [200, 400]], np.int16)
    path = save(make_ds(stored, signed=True, RescaleSlope='2', RescaleIntercept='-1000',
                        WindowCenter='-600', WindowWidth='1500'), tmp_path / 'ct.dcm')
    img, _ = read_dicom(path)
    hu = stored.astype(np.float64) * 2 - 1000
    np.testing.assert_array_equal(img, np.rint(_window_linear(hu, -600, 1500)))


@pytest.mark.parametrize('function', ['LINEAR_EXACT', 'SIGMOID'])
def test_auto_voi_lut_function(tmp_path, function):
    arr = np.array([[0, 100], [200, 400]], np.uint16)
    path = save(make_ds(arr, bits_stored=12, WindowCenter='200', WindowWidth='200',
                        VOILUTFunction=function), tmp_path / 'f.dcm')
    img, _ = read_dicom(path, dtype='float32')
    x = arr.astype(np.float64)
    expected = (np.clip((x - 200) / 200 + 0.5, 0, 1) * 255 if function == 'LINEAR_EXACT'
                else 255 / (1 + np.exp(-4 * (x - 200) / 200)))
    np.testing.assert_allclose(img, expected, atol=1e-3)


def test_auto_voi_lut_sequence_wins_over_window(tmp_path):
    arr = np.array([[0, 1], [2, 3]], np.uint16) * 1000
    lut = np.array([0, 1023, 4095, 4095], np.uint16)  # 4 entries, first mapped value 0
    item = Dataset()
    item.LUTDescriptor = [4, 0, 12]
    item.add_new(0x00283006, 'US', lut.tolist())  # LUT Data
    ds = make_ds(arr // 1000, bits_stored=12, WindowCenter='1', WindowWidth='3')
    ds.VOILUTSequence = [item]
    path = save(ds, tmp_path / 'voi.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img.ravel(), np.rint(lut / 4095 * 255))


def test_auto_big_endian_and_signed_lookup(tmp_path):
    arr = np.array([[-300, -1], [0, 2000]], np.int16)
    path = save(make_ds(arr.astype('>i2'), ExplicitVRBigEndian, signed=True, bits_stored=12,
                        WindowCenter='0', WindowWidth='101'), tmp_path / 'be.dcm')
    img, _ = read_dicom(path)
    np.testing.assert_array_equal(img, np.rint(_window_linear(arr, 0, 101)))


def test_auto_8bit_passthrough_only_without_modality_transform(tmp_path):
    arr = chest_like((6, 7))
    path = save(make_ds(arr, WindowCenter='100', WindowWidth='20'), tmp_path / 'p8.dcm')
    np.testing.assert_array_equal(read_dicom(path)[0], arr)  # bit-identical, window ignored
    path = save(make_ds(arr, RescaleSlope='1', RescaleIntercept='-128', WindowCenter='0',
                        WindowWidth='64'), tmp_path / 'r8.dcm')
    np.testing.assert_array_equal(read_dicom(path)[0],
                                  np.rint(_window_linear(arr.astype(float) - 128, 0, 64)))


def test_auto_16bit_colour_scaled(tmp_path):
    arr = np.zeros((2, 2, 3), np.uint16)
    arr[0, 0] = (65535, 0, 32768)
    ds = make_ds(arr)
    path = save(ds, tmp_path / 'rgb16.dcm')
    img, _ = read_dicom(path, channels=3)
    assert img.dtype == np.uint8
    np.testing.assert_array_equal(img[0, 0], [255, 0, 128])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties), numpy only."""
    def ranks(x):
        _, inverse, counts = np.unique(x.ravel(), return_inverse=True, return_counts=True)
        ends = np.cumsum(counts)
        return ((ends - (counts - 1) / 2)[inverse]).astype(np.float64)
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _pydicom_view(path: Path) -> np.ndarray | None:
    """What pydicom's LUT pipeline shows for a single-frame image, or None if it cannot."""
    try:
        ds = pydicom.dcmread(path, force=True)
        if int(ds.get('NumberOfFrames') or 1) != 1:
            return None
        arr = pixel_array(ds)
    except Exception:  # noqa: BLE001 - not a single-frame image pydicom decodes
        return None
    photometric = ds.get('PhotometricInterpretation')
    if photometric == 'PALETTE COLOR':
        return pydicom.pixels.apply_color_lut(arr, ds)
    if arr.ndim == 3:
        return arr
    view = pydicom.pixels.apply_voi_lut(pydicom.pixels.apply_modality_lut(arr, ds), ds)
    return -view if photometric == 'MONOCHROME1' else view


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_default_loads_every_single_frame_image_pydicom_decodes():
    """The done-criterion on a broad set of real-world files: pydicom's bundled test data
    (8-16-32 bit, signed and unsigned, MONOCHROME1/2, RGB/YBR, palette, big endian, deflate,
    RLE, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000). Every single-frame image that
    pydicom decodes loads with the defaults, and its pixels rank-correlate with pydicom's."""
    from mmchest.transforms import LoadDicomImageFromFile
    loader = LoadDicomImageFromFile()
    checked = []
    for path in _LOCAL:
        ref = _pydicom_view(path)
        if ref is None:
            continue
        img, _ = read_dicom(path, channels=3 if ref.ndim == 3 else 1)
        assert img.dtype == np.uint8 and img.shape == ref.shape, path.name
        pairs = ([(img[..., c], ref[..., c]) for c in range(3)] if ref.ndim == 3
                 else [(img, ref)])
        for ours, theirs in pairs:
            if np.ptp(theirs) > 0:
                assert _spearman(ours, theirs) > 0.95, path.name
        loaded = loader({'img_path': str(path)})['img']
        assert loaded.shape == ref.shape[:2] + (3,) and loaded.dtype == np.uint8
        if ref.ndim == 3:  # colour arrives in mmcv's BGR order
            np.testing.assert_array_equal(loaded, img[..., ::-1])
        checked.append(path.name)
    # 51 with pydicom 3.0: 21 of them (10-32 bit, signed, palette) were refused before
    assert len(checked) >= 45, checked
    assert {'CT_small.dcm', 'MR_small_bigendian.dcm', 'JPEG2000.dcm', 'JPGExtended.dcm',
            'examples_palette.dcm', 'rtdose_1frame.dcm', 'SC_rgb_rle_16bit.dcm'} <= set(checked)


# ----------------------------------------------------------------- pixel budget
def test_pixel_budget_checked_from_the_header(tmp_path):
    path = save(make_ds(chest_like((40, 50))), tmp_path / 'big.dcm')
    with pytest.raises(dicom_mod.DicomTooLargeError,
                       match=r'big\.dcm: image too large: 40 x 50 pixels x 1 frame\(s\) x 1 '
                       r'sample\(s\) = 2,000 exceeds the pixel budget of 1,999'):
        read_dicom(path, max_pixels=1999)
    assert read_dicom(path, max_pixels=2000)[0].shape == (40, 50)
    assert read_dicom(path, max_pixels=None)[0].shape == (40, 50)
    # frames and samples count too
    path = save(make_ds(np.zeros((3, 10, 10), np.uint8), frames=3), tmp_path / 'mf.dcm')
    with pytest.raises(DicomReadError, match='= 300 exceeds'):
        read_dicom(path, max_pixels=299)
    with pytest.raises(ValueError, match='max_pixels'):
        read_dicom(path, max_pixels=0)


def test_jpeg_frame_larger_than_its_header_is_not_fast_decoded(tmp_path):
    path, _ = jpeg_file(tmp_path / 'lie.dcm', chest_like((64, 64)))
    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 8  # header says 8 x 8, the JPEG is 64 x 64
    ds.save_as(path)
    with pytest.raises(DicomReadError, match=r'lie\.dcm'):
        read_dicom(path)


_BOMB_SCRIPT = """
import resource, sys
from mmchest.io.dicom import DicomReadError, read_dicom, read_dicom_meta
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in sys.argv[1:]:
    try:
        read_dicom(path)
    except DicomReadError as err:
        print(err)
print('rows', read_dicom_meta(sys.argv[1])['Rows'])
print('grew_mib', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def test_deflate_bomb_refused_in_bounded_memory(tmp_path):
    import subprocess
    import sys

    from mmchest.synthetic import write_deflate_bomb
    bomb, liar = tmp_path / 'bomb.dcm', tmp_path / 'liar.dcm'
    assert write_deflate_bomb(bomb, 20000, 20000) < 600_000  # 400 MB of pixels in ~390 KB
    write_deflate_bomb(liar, 1000, 1000, pixel_rows=20000)  # the header lies about its size
    proc = subprocess.run([sys.executable, '-c', _BOMB_SCRIPT, str(bomb), str(liar)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'bomb.dcm: image too large: 20000 x 20000' in out
    assert 'liar.dcm: deflated data set inflates to more than the 1,000,000 pixel bytes' in out
    assert 'rows 20000' in out  # the header alone is still readable
    grew = float(out.split('grew_mib')[1])
    assert grew < 64, f'reading the bombs grew the process by {grew:.0f} MiB'


def test_small_deflated_file_from_the_bomb_writer_reads(tmp_path):
    from mmchest.synthetic import write_deflate_bomb
    write_deflate_bomb(tmp_path / 'ok.dcm', 30, 20)
    img, meta = read_dicom(tmp_path / 'ok.dcm')
    assert img.shape == (30, 20) and not img.any()
    assert meta['TransferSyntaxUID'] == DeflatedExplicitVRLittleEndian
