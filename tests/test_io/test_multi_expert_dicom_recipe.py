"""The multi-expert dataset authors' DICOM -> PNG export, reproduced by read_dicom(norm='minmax').

Recipe: pixel * RescaleSlope + RescaleIntercept, divide by the image maximum, x255, uint8.
"""
import cv2
import numpy as np
import pytest

from mmchest.synthetic import dicom_dataset, save_dicom

read_dicom = pytest.importorskip('mmchest.io.dicom').read_dicom


def _write_dicom(path, pixels, slope, intercept):
    save_dicom(dicom_dataset(pixels.astype(np.uint16), bits_stored=12, Modality='CR',
                             RescaleSlope=slope, RescaleIntercept=intercept), path)


def _authors_recipe(stored, slope, intercept):
    img = stored.astype(np.float64) * slope + intercept
    img = img / img.max()
    return (img * 255).astype(np.uint8)


@pytest.mark.parametrize('slope,intercept', [(1.0, 0.0), (2.0, 10.0), (0.5, 3.0)])
def test_minmax_reproduces_authors_recipe(tmp_path, slope, intercept):
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 4096, size=(7, 9)).astype(np.uint16)
    stored[0, 0] = 4095
    _write_dicom(tmp_path / 'x.dcm', stored, slope, intercept)
    img, _ = read_dicom(tmp_path / 'x.dcm', norm='minmax', dtype='uint8', channels=1)
    expected = _authors_recipe(stored, slope, intercept)
    assert img.dtype == np.uint8 and img.shape == (7, 9)
    np.testing.assert_array_equal(img, expected)
    assert img.max() == 255
    # and the PNG written from it round-trips bit-exactly
    cv2.imwrite(str(tmp_path / 'x.png'), img)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'x.png'), cv2.IMREAD_UNCHANGED),
                                  expected)


def test_minmax_hand_values(tmp_path):
    # stored 0, 100, 200, 300 with slope 1, intercept 100 -> 100..400 -> /400*255
    stored = np.array([[0, 100], [200, 300]], np.uint16)
    _write_dicom(tmp_path / 'h.dcm', stored, 1.0, 100.0)
    img, _ = read_dicom(tmp_path / 'h.dcm', norm='minmax')
    np.testing.assert_array_equal(img, [[63, 127], [191, 255]])  # 63.75, 127.5, 191.25 floor
