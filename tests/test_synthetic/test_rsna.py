"""Tests for mmchest.synthetic.rsna: the RSNA stage-2 download."""
import csv
import re

import numpy as np
import pandas as pd
import pydicom
import pytest

from mmchest.synthetic import rsna_cases, write_rsna

SIZE = 64
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')


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
