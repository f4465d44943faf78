"""Tests for the LoadDicomImageFromFile transform (DICOMs and PNGs written into tmp_path)."""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose, LoadImageFromFile
from mmengine.registry import TRANSFORMS

import mmchest.transforms  # noqa: F401  (registers the transform)
from mmchest.io.dicom import META_KEYS, DicomReadError
from mmchest.synthetic import dicom_dataset, save_dicom
from mmchest.transforms import LoadDicomImageFromFile


def write_dicom(path, arr: np.ndarray, *, bits_stored: int | None = None,
                photometric: str | None = None, meta: bool = True, **tags):
    """Uncompressed DICOM holding ``arr`` (HxW greyscale or HxWx3 RGB), with a patient name
    and id to hide (the project's raw writer; ``meta=False``: no file meta)."""
    tags.setdefault('PatientName', 'Doe^Jane')
    tags.setdefault('PatientID', 'ID-4242')
    ds = dicom_dataset(arr, bits_stored=bits_stored, photometric=photometric, **tags)
    save_dicom(ds, path, file_meta=meta)
    return path


@pytest.fixture
def gray():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 9)).astype(np.uint8)


def load(transform, path):
    return transform(dict(img_path=str(path)))


def test_dicom_default_matches_png_through_load_image(tmp_path, gray):
    dcm = write_dicom(tmp_path / 'a.dcm', gray, ViewPosition='AP', PatientAge='061Y')
    png = tmp_path / 'a.png'
    cv2.imwrite(str(png), gray)
    results = load(LoadDicomImageFromFile(), dcm)
    img = results['img']
    assert img.shape == (12, 9, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, load(LoadImageFromFile(), png)['img'])
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], gray)
    assert results['img_shape'] == (12, 9) and results['ori_shape'] == (12, 9)
    assert results['img_path'] == str(dcm)
    meta = results['dicom_meta']
    assert set(meta) == set(META_KEYS)
    assert meta['ViewPosition'] == 'AP' and meta['PatientAge'] == 61
    assert 'Doe' not in repr(results) and '4242' not in repr(results)


def test_png_fallback_equals_load_image_from_file(tmp_path, gray):
    png = tmp_path / 'b.png'
    cv2.imwrite(str(png), gray)
    for color_type in ('color', 'grayscale', 'unchanged'):
        ours = load(LoadDicomImageFromFile(color_type=color_type), png)
        ref = load(LoadImageFromFile(color_type=color_type), png)
        np.testing.assert_array_equal(ours['img'], ref['img'])
        assert ours['img_shape'] == ref['img_shape']
        assert ours['dicom_meta'] is None
    ours = load(LoadDicomImageFromFile(to_float32=True), png)
    assert ours['img'].dtype == np.float32 and ours['img'].shape == (12, 9, 3)


def test_grayscale_and_unchanged(tmp_path, gray):
    dcm = write_dicom(tmp_path / 'g.dcm', gray)
    img = load(LoadDicomImageFromFile(color_type='grayscale'), dcm)['img']
    assert img.shape == (12, 9)
    np.testing.assert_array_equal(img, gray)
    img = load(LoadDicomImageFromFile(color_type='unchanged'), dcm)['img']
    assert img.shape == (12, 9) and img.flags['C_CONTIGUOUS']
    np.testing.assert_array_equal(img, gray)


def test_rgb_dicom_becomes_bgr(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)  # red
    dcm = write_dicom(tmp_path / 'rgb.dcm', rgb)
    for color_type in ('color', 'unchanged'):
        img = load(LoadDicomImageFromFile(color_type=color_type), dcm)['img']
        assert img.shape == (2, 2, 3)
        assert tuple(img[0, 0]) == (0, 0, 255)  # BGR, like mmcv.imfrombytes


def test_sixteen_bit_loads_by_default_and_explicit_norms_stay(tmp_path):
    arr = np.array([[0, 1000], [2000, 4000]], np.uint16)
    dcm = write_dicom(tmp_path / 'w.dcm', arr, bits_stored=12)
    # default norm='auto': no window tags, so the 0.5-99.5 percentile window
    lo, hi = np.percentile(arr, (0.5, 99.5))
    img = load(LoadDicomImageFromFile(), dcm)['img']
    assert img.dtype == np.uint8 and img.shape == (2, 2, 3)
    np.testing.assert_array_equal(img[..., 0],
                                  np.rint((np.clip(arr, lo, hi) - lo) / (hi - lo) * 255))
    with pytest.raises(DicomReadError, match=r'w\.dcm.*does not fit uint8'):
        load(LoadDicomImageFromFile(norm='none'), dcm)
    img = load(LoadDicomImageFromFile(norm='none', to_float32=True), dcm)['img']
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img[..., 0], arr)
    img = load(LoadDicomImageFromFile(norm='minmax', color_type='grayscale'), dcm)['img']
    np.testing.assert_array_equal(img, [[0, 63], [127, 255]])
    img = load(LoadDicomImageFromFile(norm='window', window=(2000, 2000),
                                      color_type='grayscale'), dcm)['img']
    np.testing.assert_array_equal(img, [[0, 0], [127, 255]])  # [1000, 3000] -> [0, 255]


def test_monochrome1_inverted(tmp_path):
    arr = np.array([[0, 200]], np.uint8)
    dcm = write_dicom(tmp_path / 'm1.dcm', arr, photometric='MONOCHROME1')
    img = load(LoadDicomImageFromFile(color_type='grayscale'), dcm)['img']
    np.testing.assert_array_equal(img, [[255, 55]])


def test_dicom_detection_by_prefix_and_suffix(tmp_path, gray):
    no_ext = write_dicom(tmp_path / 'IM0001', gray)  # Part 10 prefix, no suffix
    np.testing.assert_array_equal(
        load(LoadDicomImageFromFile(color_type='grayscale'), no_ext)['img'], gray)
    upper = write_dicom(tmp_path / 'NOMETA.DCM', gray, meta=False)  # no prefix, suffix
    np.testing.assert_array_equal(
        load(LoadDicomImageFromFile(color_type='grayscale'), upper)['img'], gray)
    custom = write_dicom(tmp_path / 'x.ima', gray, meta=False)
    with pytest.raises(ValueError, match='failed to decode image'):
        load(LoadDicomImageFromFile(), custom)  # neither prefix nor suffix -> not DICOM
    img = load(LoadDicomImageFromFile(dicom_suffixes=('.IMA', ), color_type='grayscale'),
               custom)['img']
    np.testing.assert_array_equal(img, gray)


def test_ignore_empty_and_errors(tmp_path, gray):
    missing = tmp_path / 'missing.dcm'
    assert load(LoadDicomImageFromFile(ignore_empty=True), missing) is None
    with pytest.raises(FileNotFoundError):
        load(LoadDicomImageFromFile(), missing)
    broken = tmp_path / 'broken.dcm'
    raw = write_dicom(tmp_path / 'ok.dcm', gray).read_bytes()
    broken.write_bytes(raw[:len(raw) - 50])
    with pytest.raises(DicomReadError, match=r'broken\.dcm'):
        load(LoadDicomImageFromFile(), broken)
    assert load(LoadDicomImageFromFile(ignore_empty=True), broken) is None
    junk = tmp_path / 'junk.png'
    junk.write_bytes(b'not an image at all')
    assert load(LoadDicomImageFromFile(ignore_empty=True), junk) is None
    with pytest.raises(ValueError, match='junk'):
        load(LoadDicomImageFromFile(), junk)


@pytest.mark.parametrize('kwargs', [
    dict(color_type='rgb'), dict(norm='zscore'), dict(window=(1, 0)), dict(frame='all'),
    dict(percentiles=(90, 10)), dict(voi_lut=True, norm='window')
])
def test_invalid_options_fail_at_build(kwargs):
    with pytest.raises(ValueError):
        LoadDicomImageFromFile(**kwargs)


def test_repr_shows_arguments():
    text = repr(LoadDicomImageFromFile(to_float32=True, norm='percentile',
                                       percentiles=(1, 99), ignore_empty=True))
    assert text.startswith('LoadDicomImageFromFile(')
    for part in ('to_float32=True', "color_type='color'", "norm='percentile'",
                 'percentiles=(1, 99)', 'voi_lut=False', "frame='first'", 'window=None',
                 "dicom_suffixes=('.dcm', '.dicom')", 'ignore_empty=True',
                 'backend_args=None', "imdecode_backend='cv2'"):
        assert part in text


def test_root_registry_and_compose(tmp_path, gray):
    dcm = write_dicom(tmp_path / 'r.dcm', gray)
    cfg = dict(type='LoadDicomImageFromFile', norm='none', color_type='grayscale')
    transform = TRANSFORMS.build(copy.deepcopy(cfg))
    assert isinstance(transform, LoadDicomImageFromFile)
    pipeline = Compose([cfg, dict(type='Resize', scale=(18, 24), keep_ratio=False)])
    out = pipeline(dict(img_path=str(dcm)))
    assert out['img'].shape == (24, 18) and out['img_shape'] == (24, 18)
    assert out['ori_shape'] == (12, 9)


def test_mmseg_and_mmdet_scopes(tmp_path, gray):
    from mmdet.registry import TRANSFORMS as DET_TRANSFORMS
    from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS
    dcm = write_dicom(tmp_path / 's.dcm', gray)
    for registry in (SEG_TRANSFORMS, DET_TRANSFORMS):
        transform = registry.build(dict(type='LoadDicomImageFromFile'))
        assert type(transform) is LoadDicomImageFromFile
        assert load(transform, dcm)['img'].shape == (12, 9, 3)


def test_load_rgb_for_drawing(tmp_path, gray):
    from mmchest.transforms.loading import load_rgb
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)  # red
    dcm = write_dicom(tmp_path / 'rgb.dcm', rgb)
    assert tuple(load_rgb(LoadDicomImageFromFile(), str(dcm))[0, 0]) == (255, 0, 0)
    grey = write_dicom(tmp_path / 'grey.dcm', gray)
    for color_type in ('color', 'grayscale'):
        img = load_rgb(LoadDicomImageFromFile(color_type=color_type), str(grey))
        assert img.shape == gray.shape + (3, )
        assert all(np.array_equal(img[..., c], gray) for c in range(3))
