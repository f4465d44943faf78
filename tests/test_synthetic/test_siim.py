"""Tests for mmchest.synthetic.siim: the SIIM-ACR download and its PNG export."""
import re

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest

from mmchest.io.rle import rle_decode_rows
from mmchest.synthetic import siim_cases, write_siim, write_siim_png

SIZE = 64


# ---------------------------------------------------------------------------- SIIM
@pytest.fixture(scope='module')
def siim_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('siim')
    info = write_siim(root, 12, 3, size=SIZE, seed=7)
    return root, info


def test_siim_layout_and_csv_headers(siim_root):
    root, info = siim_root
    siim = root / 'siim'
    assert info['positives'] == round(12 * 0.45)
    lines = (siim / 'train-rle.csv').read_text().splitlines()
    assert lines[0] == 'ImageId, EncodedPixels'
    assert (siim / 'stage_2_train.csv').read_text().splitlines()[0] == 'ImageId,EncodedPixels'
    assert any(line.endswith(', -1') for line in lines[1:])
    frame = pd.read_csv(siim / 'train-rle.csv')
    assert list(frame.columns) == ['ImageId', ' EncodedPixels']  # the real file's quirk
    assert set(frame['ImageId']) == set(info['train'])
    assert (frame[' EncodedPixels'] == ' -1').sum() == 12 - info['positives']
    stage2 = pd.read_csv(siim / 'stage_2_train.csv')
    assert list(stage2.columns) == ['ImageId', 'EncodedPixels']
    assert list(stage2['EncodedPixels']) == [v.strip() for v in frame[' EncodedPixels']]
    assert frame['ImageId'].duplicated().any()  # several rows for some images
    # Rows of one image are adjacent.
    runs = (frame['ImageId'] != frame['ImageId'].shift()).sum()
    assert runs == frame['ImageId'].nunique()

    for split, ids in (('train', info['train']), ('test', info['test'])):
        files = sorted((siim / f'dicom-images-{split}').glob('*/*/*.dcm'))
        assert len(files) == len(ids)
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            assert path.stem == ds.SOPInstanceUID
            assert path.parent.name == ds.SeriesInstanceUID
            assert path.parent.parent.name == ds.StudyInstanceUID
            assert ds.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.4.50'
            assert ds.ViewPosition in ('PA', 'AP') and ds.PatientSex in ('M', 'F')
            assert re.match(r'^\d{3}Y$', ds.PatientAge)
    assert not set(info['test']) & set(frame['ImageId'])


def test_siim_rle_rows_decode_to_generator_masks(siim_root):
    root, info = siim_root
    truth = {c.case_id: c.sample.mask for c in siim_cases(12, 3, size=SIZE, seed=7)
             if c.split == 'train'}
    frame = pd.read_csv(root / 'siim' / 'train-rle.csv')
    multi_row_positive = False
    for image_id, rows in frame.groupby('ImageId', sort=False)[' EncodedPixels']:
        mask = rle_decode_rows(list(rows), (SIZE, SIZE), image_id=image_id)
        np.testing.assert_array_equal(mask, truth[image_id])
        multi_row_positive |= len(rows) > 1
    assert multi_row_positive


def test_siim_dicom_pixels_match_generator(siim_root):
    dicom = pytest.importorskip('mmchest.io.dicom')
    root, _ = siim_root
    cases = {c.case_id: c for c in siim_cases(12, 3, size=SIZE, seed=7)}
    for path in sorted((root / 'siim').glob('dicom-images-*/*/*/*.dcm'))[:5]:
        image, meta = dicom.read_dicom(path)
        case = cases[path.stem]
        assert np.abs(image.astype(int) - case.sample.image).mean() < 2.0
        assert meta['PatientSex'] == case.tags['PatientSex']
        assert 'PatientID' not in meta and 'PatientName' not in meta


def test_siim_png_layout(tmp_path, siim_root):
    info = write_siim_png(tmp_path, 12, 3, size=SIZE, seed=7)
    out = tmp_path / 'siim_png'
    siim_info = siim_root[1]
    assert sorted(p.stem for p in (out / 'images' / 'train').glob('*.png')) == sorted(
        siim_info['train'])
    assert sorted(p.stem for p in (out / 'images' / 'test').glob('*.png')) == sorted(
        siim_info['test'])
    assert not (out / 'masks' / 'test').exists()  # the Kaggle test set has no labels
    truth = {c.case_id: c.sample.mask for c in siim_cases(12, 3, size=SIZE, seed=7)}
    for image_id in siim_info['train']:
        mask = cv2.imread(str(out / 'masks' / 'train' / f'{image_id}.png'), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.ndim == 2 and set(np.unique(mask)) <= {0, 1}
        np.testing.assert_array_equal(mask, truth[image_id])
    train = (out / 'train.txt').read_text().split()
    val = (out / 'val.txt').read_text().split()
    assert all(line.startswith('train/') for line in train + val)
    assert sorted(train + val) == sorted(f'train/{i}' for i in siim_info['train'])
    assert len(val) == round(0.2 * 12) and info['val'] == [v[len('train/'):] for v in val]


def test_siim_png_images_equal_decoded_dicom(tmp_path, siim_root):
    dicom = pytest.importorskip('mmchest.io.dicom')
    root, info = siim_root
    write_siim_png(tmp_path, 12, 3, size=SIZE, seed=7)
    path = next((root / 'siim' / 'dicom-images-train').glob('*/*/*.dcm'))
    png = cv2.imread(str(tmp_path / 'siim_png' / 'images' / 'train' / f'{path.stem}.png'),
                     cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, dicom.read_dicom(path)[0])
