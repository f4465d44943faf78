"""Tests for the mmchest.synthetic package and tools/make_synthetic_data.py (64 px, a handful of images)."""
import csv
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest

from mmchest import synthetic
from mmchest.io.rle import rle_decode_rows
from mmchest.synthetic import (chest_radiograph, expert_mask, multi_expert_cases, rsna_cases,
                               siim_cases, synthetic_patient_id, synthetic_uid, write_dicom,
                               write_multi_expert, write_rsna, write_siim, write_siim_png)

SIZE = 64
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
UID_RE = re.compile(r'^2\.25\.\d+$')


def tree_digest(root: Path) -> dict:
    """Relative path -> sha256 of every file under root."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    """Pixels between ``inner`` and ``outer`` px outside a mask."""
    def grow(r):
        return cv2.dilate(mask, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) if r else mask
    return grow(outer).astype(bool) & ~grow(inner).astype(bool)


# ---------------------------------------------------------------------------- images
def test_radiograph_is_deterministic_and_seed_dependent():
    a = chest_radiograph(SIZE, 3, lesion='pneumothorax')
    b = chest_radiograph(SIZE, 3, lesion='pneumothorax')
    c = chest_radiograph(SIZE, 4, lesion='pneumothorax')
    assert a.image.dtype == np.uint8 and a.image.shape == (SIZE, SIZE)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, c.image)


def test_radiograph_anatomy_dark_background_bright_spine():
    img = chest_radiograph(128, 0).image.astype(float)
    corners = np.concatenate([img[:8, :8].ravel(), img[:8, -8:].ravel()])
    assert corners.mean() < 40  # air
    spine = img[100:120, 60:68].mean()  # spine below the heart, centre column
    lungs = np.mean([img[50:70, 30:40].mean(), img[50:70, 90:100].mean()])
    assert spine > lungs + 40


@pytest.mark.parametrize('seed', range(4))
def test_pneumothorax_is_dark_flat_crescent_with_parts(seed):
    sample = chest_radiograph(128, seed, lesion='pneumothorax')
    mask = sample.mask
    assert sample.lesion == 'pneumothorax' and 30 < mask.sum() < 0.1 * mask.size
    assert len(sample.instances) == 1 and 1 <= len(sample.parts) <= 3
    np.testing.assert_array_equal(np.maximum.reduce(sample.parts), mask)
    img = sample.image.astype(float)
    inside = img[cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)]
    lung_side = img[ring(mask, 3, 8) & (img > 40)]  # lung / tissue next to it, not air
    assert inside.mean() < lung_side.mean() - 15
    assert inside.std() < lung_side.std()  # flat: no ribs, no lung texture


def test_bilateral_pneumothorax_has_two_lesions():
    sample = chest_radiograph(SIZE, 1, lesion='pneumothorax', bilateral=True)
    assert len(sample.instances) == 2
    left, right = (np.flatnonzero(m.any(axis=0)).mean() for m in sample.instances)
    assert (left < SIZE / 2) != (right < SIZE / 2)


@pytest.mark.parametrize('view', ['pa', 'lat'])
def test_pneumonia_opacities_are_bright_and_boxed(view):
    sample = chest_radiograph(128, 5, lesion='pneumonia', num_opacities=3, view=view)
    assert len(sample.instances) == len(sample.boxes) >= 1
    img = sample.image.astype(float)
    for inst, (x1, y1, x2, y2) in zip(sample.instances, sample.boxes):
        rows, cols = np.nonzero(inst)
        assert (x1, y1, x2, y2) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        assert img[inst.astype(bool)].mean() > img[ring(inst, 2, 6)].mean() + 8
    for i, a in enumerate(sample.instances):  # separate lesions do not overlap
        for b in sample.instances[i + 1:]:
            assert not (a & b).any()
    np.testing.assert_array_equal(np.maximum.reduce(sample.instances), sample.mask)


def test_no_lesion_means_empty_labels():
    sample = chest_radiograph(SIZE, 0, lesion='none', view='lat')
    assert sample.mask.sum() == 0 and sample.instances == [] and sample.parts == []
    assert sample.boxes.shape == (0, 4)


def test_same_anatomy_seed_shares_anatomy():
    a = chest_radiograph(SIZE, 'a', anatomy_seed='patient')
    b = chest_radiograph(SIZE, 'b', anatomy_seed='patient')
    c = chest_radiograph(SIZE, 'c', anatomy_seed='other')
    def corr(x, y):  # correlation of the smoothed images: anatomy, not noise or gamma
        x, y = (cv2.GaussianBlur(v.astype(np.float32), (0, 0), 2).ravel() for v in (x, y))
        return np.corrcoef(x, y)[0, 1]
    assert corr(a.image, b.image) > 0.99 > corr(a.image, c.image)


@pytest.mark.parametrize('kwargs,message', [
    (dict(size=32), 'size must be between 64 and 512'),
    (dict(size=513), 'size must be between 64 and 512'),
    (dict(lesion='nodule'), 'lesion must be'),
    (dict(view='ap'), 'view must be'),
    (dict(lesion='pneumothorax', view='lat'), 'frontal'),
    (dict(num_opacities=5), 'num_opacities'),
])
def test_radiograph_rejects_bad_arguments(kwargs, message):
    args = dict(size=SIZE, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        chest_radiograph(**args)


def test_ids_are_deterministic_and_well_formed():
    assert synthetic_uid(0, 'x') == synthetic_uid(0, 'x') != synthetic_uid(1, 'x')
    assert UID_RE.match(synthetic_uid(0, 'x')) and len(synthetic_uid(0, 'x')) <= 64
    assert UUID_RE.match(synthetic_patient_id(0, 'p'))
    assert synthetic_patient_id(0, 'p') != synthetic_patient_id(0, 'q')


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


# ---------------------------------------------------------------------------- RSNA
@pytest.fixture(scope='module')
def rsna_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('rsna')
    info = write_rsna(root, 10, 2, size=SIZE, seed=3)
    return root, info


def test_rsna_layout_and_labels(rsna_root):
    root, info = rsna_root
    rsna = root / 'rsna'
    assert sorted(p.stem for p in (rsna / 'stage_2_train_images').glob('*.dcm')) == sorted(
        info['train'])
    assert len(list((rsna / 'stage_2_test_images').glob('*.dcm'))) == 2
    assert all(UUID_RE.match(i) for i in info['train'] + info['test'])
    with open(rsna / 'stage_2_train_labels.csv', newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['patientId', 'x', 'y', 'width', 'height', 'Target']
    with open(rsna / 'stage_2_detailed_class_info.csv', newline='') as f:
        classes = list(csv.reader(f))
    assert classes[0] == ['patientId', 'class']
    assert [r[0] for r in classes[1:]] == [r[0] for r in rows[1:]]  # one class row per label row

    cases = {c.case_id: c for c in rsna_cases(10, 2, size=SIZE, seed=3) if c.split == 'train'}
    by_patient = {}
    for (pid, x, y, w, h, target), (_, cls) in zip(rows[1:], classes[1:]):
        by_patient.setdefault(pid, []).append((x, y, w, h, target, cls))
    assert set(by_patient) == set(info['train'])
    assert info['positives'] == 5 and 1 <= max(len(v) for v in by_patient.values()) <= 4
    for pid, entries in by_patient.items():
        case = cases[pid]
        if entries[0][4] == '0':
            assert entries == [('', '', '', '', '0', case.label)]
            assert case.label in ('Normal', 'No Lung Opacity / Not Normal')
            assert len(case.sample.boxes) == 0
        else:
            assert all(e[4] == '1' and e[5] == 'Lung Opacity' for e in entries)
            got = np.array([[float(v) for v in e[:4]] for e in entries])
            boxes = case.sample.boxes
            np.testing.assert_array_equal(got, np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    frame = pd.read_csv(rsna / 'stage_2_train_labels.csv')
    assert frame.loc[frame['Target'] == 0, ['x', 'y', 'width', 'height']].isna().all().all()

    for pid in info['train'][:4]:
        ds = pydicom.dcmread(rsna / 'stage_2_train_images' / f'{pid}.dcm',
                             stop_before_pixels=True)
        assert ds.PatientID == pid and ds.ViewPosition in ('PA', 'AP')
        assert ds.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.4.50'


def test_rsna_labels_parse_with_package_reader(rsna_root):
    labels = pytest.importorskip('mmchest.io.rsna_labels')
    root, info = rsna_root
    patients, report = labels.parse_rsna_labels(
        root / 'rsna' / 'stage_2_train_labels.csv',
        root / 'rsna' / 'stage_2_detailed_class_info.csv', image_size=(SIZE, SIZE), strict=True)
    assert [p.patient_id for p in patients] == [pid for pid in dict.fromkeys(
        pd.read_csv(root / 'rsna' / 'stage_2_train_labels.csv')['patientId'])]
    assert sum(p.target for p in patients) == info['positives']


# ---------------------------------------------------------------------------- multi-expert
@pytest.fixture(scope='module')
def expert_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('multi')
    info = write_multi_expert(root, 8, 6, size=SIZE, seed=2)
    return root / 'multi_expert_pneumonia', info


def test_multi_expert_layout(expert_root):
    out, info = expert_root
    studies = {cls: sorted({p.stem.rsplit('_', 1)[0] for p in (out / 'images' / cls).glob('*')})
               for cls in ('pneumonia', 'norma')}
    assert len(studies['pneumonia']) == 8 and len(studies['norma']) == 6
    assert set(studies['pneumonia']) & set(studies['norma'])  # ids repeat across folders
    for cls, ids in studies.items():
        for i in ids:
            for view in ('pa', 'lat'):
                img = cv2.imread(str(out / 'images' / cls / f'{i}_{view}.png'),
                                 cv2.IMREAD_UNCHANGED)
                assert img.dtype == np.uint8 and img.shape == (SIZE, SIZE)
    suffixes = {e: {p.suffix for p in (out / 'masks' / f'expert{e}').iterdir()} for e in (1, 2, 3)}
    assert suffixes == {1: {'.png'}, 2: {'.npz'}, 3: {'.png', '.npz'}}
    for e in (1, 2, 3):  # masks for pneumonia images only, both views
        stems = sorted(p.stem for p in (out / 'masks' / f'expert{e}').iterdir())
        assert stems == sorted(f'{i}_{v}' for i in studies['pneumonia'] for v in ('pa', 'lat'))
    with np.load(next((out / 'masks' / 'expert2').glob('*.npz'))) as archive:
        assert archive.files == ['mask'] and archive['mask'].dtype == np.uint8

    indices = json.loads((out / 'indices.json').read_text())
    assert set(indices) == {'train', 'val', 'test'}
    for cls in ('pneumonia', 'norma'):
        listed = [i for split in indices.values() for i in split[cls]]
        assert all(isinstance(i, int) for i in listed)
        assert sorted(map(str, listed)) == sorted(studies[cls])  # each study in one split
    dup_list = json.loads((out / 'masks' / 'dup_list.json').read_text())
    assert dup_list and all(re.match(r'^case_\d+$', k) for k in dup_list)
    split_of = {i: s for s, by_class in indices.items() for i in by_class['pneumonia']}
    leaking = [g for g, ids in dup_list.items() if {split_of[i] for i in ids} >= {'train', 'val'}]
    assert leaking  # the published split leaks one patient across train and val


def test_multi_expert_masks_disagree_at_edges(expert_root):
    out, _ = expert_root
    cases, _, _ = multi_expert_cases(8, 6, size=SIZE, seed=2)
    reader = pytest.importorskip('mmchest.io.expert_masks')
    kernel = np.ones((7, 7), np.uint8)
    differs = 0
    for case in cases:
        if case.label != 'pneumonia':
            continue
        truth = case.sample.mask
        assert truth.any()
        for e in (1, 2, 3):
            path = reader.find_expert_mask(out / 'masks' / f'expert{e}', case.case_id)
            mask = reader.read_expert_mask(path)
            assert mask.any()
            assert not (mask & (1 - cv2.dilate(truth, kernel))).any()  # within 3 px outside
            assert not (cv2.erode(truth, kernel) & (1 - mask)).any()  # and 3 px inside
            differs += not np.array_equal(mask, truth)
    assert differs > 0


def test_multi_expert_files_parse_with_package_layout(expert_root):
    layout = pytest.importorskip('mmchest.io.multi_expert_layout')
    out, info = expert_root
    indices = layout.parse_indices(layout.load_json(out / 'indices.json'))
    groups = layout.parse_dup_list(layout.load_json(out / 'masks' / 'dup_list.json'))
    assert layout.split_leaks(indices, groups)
    scanned = layout.scan_images(out / 'images')
    assert sorted(scanned['pneumonia']) == sorted(
        i for split in indices.values() for i in split['pneumonia'])


def test_expert_mask_is_seeded():
    truth = np.zeros((SIZE, SIZE), np.uint8)
    truth[20:40, 20:40] = 1
    a = expert_mask(truth, 1, [0, 'x'])
    assert np.array_equal(a, expert_mask(truth, 1, [0, 'x']))
    tiny = np.zeros((SIZE, SIZE), np.uint8)
    tiny[5, 5] = 1
    assert all(expert_mask(tiny, e, [s]).any() for e in (1, 2, 3) for s in range(5))


# ---------------------------------------------------------------------------- determinism, CLI
def test_layouts_are_byte_identical_for_the_same_seed(tmp_path):
    for sub in ('a', 'b'):
        write_siim(tmp_path / sub, 3, 1, size=SIZE, seed=11)
        write_rsna(tmp_path / sub, 3, 1, size=SIZE, seed=11)
        write_multi_expert(tmp_path / sub, 2, 2, size=SIZE, seed=11)
        write_siim_png(tmp_path / sub, 3, 1, size=SIZE, seed=11)
    first, second = tree_digest(tmp_path / 'a'), tree_digest(tmp_path / 'b')
    assert first == second and len(first) > 30
    write_siim(tmp_path / 'c', 3, 1, size=SIZE, seed=12)
    assert (tmp_path / 'c' / 'siim' / 'train-rle.csv').read_bytes() != (
        tmp_path / 'a' / 'siim' / 'train-rle.csv').read_bytes()


def test_npz_files_are_plain_numpy_archives(tmp_path):
    write_multi_expert(tmp_path, 2, 1, size=SIZE, seed=0)
    path = next((tmp_path / 'multi_expert_pneumonia' / 'masks' / 'expert2').glob('*.npz'))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ['mask.npy']
    assert np.load(path)['mask'].shape == (SIZE, SIZE)


def test_bad_counts_raise():
    with pytest.raises(ValueError, match='num_train must be >= 0'):
        list(siim_cases(-1, 0, size=SIZE))
    with pytest.raises(ValueError, match='size must be between'):
        list(rsna_cases(1, 0, size=1024))


def test_tool_writes_every_layout(tmp_path, cli, repo_root):
    proc = cli([sys.executable, repo_root / 'tools' / 'make_synthetic_data.py', '--out',
                tmp_path / 'syn', '--size', str(SIZE), '--num', '4', '--seed', '1'],
               cwd=tmp_path)
    assert 'Summary' in proc.stdout
    syn = tmp_path / 'syn'
    assert (syn / 'siim' / 'train-rle.csv').is_file()
    assert (syn / 'siim_png' / 'train.txt').is_file()
    assert (syn / 'rsna' / 'stage_2_train_labels.csv').is_file()
    assert (syn / 'multi_expert_pneumonia' / 'indices.json').is_file()
    assert len(list((syn / 'siim' / 'dicom-images-train').glob('*/*/*.dcm'))) == 4
    assert len(list((syn / 'siim' / 'dicom-images-test').glob('*/*/*.dcm'))) == 1
    assert len(list((syn / 'multi_expert_pneumonia' / 'images').glob('*/*.png'))) == 8


def test_tool_rejects_bad_size(tmp_path, repo_root):
    import subprocess
    proc = subprocess.run([sys.executable, str(repo_root / 'tools' / 'make_synthetic_data.py'),
                           '--out', str(tmp_path), '--size', '32'], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and '--size must be between 64 and 512' in proc.stderr


def test_module_has_no_openmmlab_imports():
    modules = sorted(Path(synthetic.__file__).parent.glob('*.py'))
    assert len(modules) > 5  # the package: painter, DICOM writer, layouts...
    for path in modules:
        source = path.read_text()
        assert not re.search(r'^\s*(from|import)\s+mm(cv|engine|seg|det)', source, re.M), path
