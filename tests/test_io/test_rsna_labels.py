import math

import numpy as np
import pandas as pd
import pytest

from mmchest.io.rsna_labels import (BOX_REASONS, RSNALabelError, clean_box,
                                    format_prediction_string, parse_rsna_labels,
                                    read_rsna_class_info, read_rsna_labels, rsna_patient_targets)

HEADER = 'patientId,x,y,width,height,Target\n'


def write(tmp_path, text, name='labels.csv'):
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- clean_box
def test_clean_box_converts_xywh_to_xyxy():
    assert clean_box(10, 20, 30, 40) == ((10.0, 20.0, 40.0, 60.0), None)
    assert clean_box(10, 20, 30, 40, image_hw=(100, 100)) == ((10.0, 20.0, 40.0, 60.0), None)


@pytest.mark.parametrize('row', [(np.nan, 0, 5, 5), (0, 0, math.inf, 5), (0, None, 5, 5)])
def test_clean_box_rejects_nan(row):
    assert clean_box(*row) == (None, 'nan_coordinate')


@pytest.mark.parametrize('row', [(0, 0, 0, 5), (0, 0, 5, -1)])
def test_clean_box_rejects_non_positive_size(row):
    assert clean_box(*row, image_hw=(10, 10)) == (None, 'non_positive_size')


def test_clean_box_clips_partly_outside():
    # x from -5 to 15 in a 10-wide image; y 90..110 in a 100-high image
    assert clean_box(-5, 90, 20, 20, image_hw=(100, 10)) == ((0.0, 90.0, 10.0, 100.0),
                                                           'clipped')


def test_clean_box_rejects_outside_image():
    assert clean_box(120, 0, 10, 10, image_hw=(100, 100)) == (None, 'outside_image')
    assert clean_box(-10, 0, 10, 10, image_hw=(100, 100)) == (None, 'outside_image')
    # 0.5 px left inside < min_size 1
    assert clean_box(99.5, 0, 10, 10, image_hw=(100, 100)) == (None, 'outside_image')
    assert clean_box(99.5, 0, 10, 10, image_hw=(100, 100), min_size=0.5)[1] == 'clipped'


# --------------------------------------------------------------------------- reading
def test_read_labels_types_and_lines(tmp_path):
    path = write(tmp_path, HEADER + 'a,,,,,0\nb,1,2,3,4,1\nb,5.5,6,7,8,1\n')
    df = read_rsna_labels(path)
    assert list(df['patientId']) == ['a', 'b', 'b']
    assert list(df['line']) == [2, 3, 4]
    assert np.isnan(df['x'].iloc[0]) and df['x'].iloc[2] == 5.5
    assert list(df['Target']) == [0, 1, 1]
    assert df.attrs['source'] == str(path)
    assert rsna_patient_targets(df) == {'a': 0, 'b': 1}
    assert list(rsna_patient_targets(df)) == ['a', 'b']


def test_read_labels_errors_name_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.csv'):
        read_rsna_labels(tmp_path / 'missing.csv')
    path = write(tmp_path, 'patientId,x,y,width,Target\na,,,,0\n')
    with pytest.raises(RSNALabelError, match=r"labels.csv: missing column\(s\) \['height'\]"):
        read_rsna_labels(path)
    path = write(tmp_path, HEADER + 'a,,,,,0\nb,1,oops,3,4,1\n')
    with pytest.raises(RSNALabelError, match="line 3: column y is 'oops', not a number"):
        read_rsna_labels(path)
    path = write(tmp_path, HEADER + 'a,,,,,0\nb,1,2,3,4,2\n')
    with pytest.raises(RSNALabelError, match="line 3: Target is '2'; expected 0 or 1"):
        read_rsna_labels(path)
    path = write(tmp_path, HEADER + ',,,,,0\n')
    with pytest.raises(RSNALabelError, match='line 2: empty patientId'):
        read_rsna_labels(path)


def test_read_class_info(tmp_path):
    path = write(tmp_path, 'patientId,class\na,Normal\nb,Lung Opacity\nb,Normal\n', 'c.csv')
    classes, conflicts = read_rsna_class_info(path)
    assert classes == {'a': 'Normal', 'b': 'Lung Opacity'}
    assert conflicts == {'b': 1}
    path = write(tmp_path, 'patientId,class\na,Normal\na,Sick\n', 'c.csv')
    with pytest.raises(RSNALabelError, match="line 3: class is 'Sick'"):
        read_rsna_class_info(path)


# --------------------------------------------------------------------------- parsing
ROWS = (
    HEADER
    + 'neg,,,,,0\n'                  # line 2: negative image
    + 'pos,10,20,30,40,1\n'          # line 3
    + 'pos,100,100,50,50,1\n'        # line 4
    + 'nanbox,,,,,1\n'               # line 5: Target=1 without coordinates -> dropped
    + 'clip,90,90,20,20,1\n'         # line 6: clipped to (90,90,100,100)
    + 'clip,150,10,10,10,1\n'        # line 7: fully outside -> rejected
    + 'zero,5,5,0,10,1\n'            # line 8: zero width -> rejected
    + 'zero,1,1,2,2,1\n'             # line 9: kept
    + 'zero,1,1,2,2,1\n'             # line 10: duplicate
    + 'mixed,1,1,2,2,1\n'            # line 11
    + 'mixed,,,,,0\n'                # line 12: Target=0 row of a positive patient
    + 'negbox,1,1,2,2,0\n'           # line 13: coordinates on a Target=0 row
)


def test_parse_groups_converts_and_reports(tmp_path):
    path = write(tmp_path, ROWS)
    # only 'clip' has a known size; the others are not clipped
    patients, report = parse_rsna_labels(path, image_size={'clip': (100, 100)})
    by_id = {p.patient_id: p for p in patients}
    assert list(by_id) == ['neg', 'pos', 'clip', 'zero', 'mixed', 'negbox']
    assert by_id['neg'].target == 0 and by_id['neg'].boxes.shape == (0, 4)
    np.testing.assert_array_equal(by_id['pos'].boxes, [[10, 20, 40, 60], [100, 100, 150, 150]])
    np.testing.assert_array_equal(by_id['clip'].boxes, [[90, 90, 100, 100]])
    np.testing.assert_array_equal(by_id['zero'].boxes, [[1, 1, 3, 3]])
    np.testing.assert_array_equal(by_id['mixed'].boxes, [[1, 1, 3, 3]])
    assert by_id['negbox'].target == 0 and len(by_id['negbox'].boxes) == 0
    assert by_id['pos'].lines == [3, 4]
    assert by_id['pos'].class_label is None
    assert report.counts['nan_coordinate'] == 1
    assert report.counts['positive_without_box'] == 1
    assert report.counts['clipped'] == 1
    assert report.counts['outside_image'] == 1
    assert report.counts['non_positive_size'] == 1
    assert report.counts['duplicate'] == 1
    assert report.counts['mixed_target'] == 1
    assert report.counts['box_on_negative'] == 1
    assert report.n_rows == 12
    assert report.n_patients == 6 and report.n_positive == 4 and report.n_negative == 2
    assert report.n_boxes == 5
    text = report.summary()
    assert '12 rows -> 6 images (4 with boxes, 2 without), 5 boxes' in text
    assert '  outside_image: 1 (' in text
    # counts only: no patient id is named
    assert 'nanbox' not in text and 'negbox' not in text and 'mixed,' not in text
    assert report.n_issues == 8
    assert set(report.counts) == set(BOX_REASONS)


def test_parse_one_size_for_all_and_callable(tmp_path):
    path = write(tmp_path, HEADER + 'a,100,100,50,50,1\na,10,10,5,5,1\nb,,,,,0\n')
    patients, report = parse_rsna_labels(path, image_size=(120, 200))
    np.testing.assert_array_equal(patients[0].boxes, [[100, 100, 150, 120], [10, 10, 15, 15]])
    assert report.counts['clipped'] == 1
    calls = []

    def size_of(pid):
        calls.append(pid)
        return (100, 100)

    patients, report = parse_rsna_labels(path, image_size=size_of)
    # the size is only looked up for patients with boxes
    assert calls == ['a']
    np.testing.assert_array_equal(patients[0].boxes, [[10, 10, 15, 15]])
    assert report.counts['outside_image'] == 1
    with pytest.raises(ValueError, match='image_size must be'):
        parse_rsna_labels(path, image_size=(0, 10))


def test_parse_patients_subset_in_given_order(tmp_path):
    path = write(tmp_path, ROWS)
    df = read_rsna_labels(path)
    patients, report = parse_rsna_labels(df, patients=['pos', 'neg'])
    assert [p.patient_id for p in patients] == ['pos', 'neg']
    assert report.n_rows == 3 and report.n_issues == 0
    assert 'no bad rows' in report.summary()
    with pytest.raises(RSNALabelError, match='1 requested patient'):
        parse_rsna_labels(df, patients=['pos', 'unknown'])


def test_parse_strict_raises_with_line(tmp_path):
    path = write(tmp_path, ROWS)
    with pytest.raises(RSNALabelError, match=r'labels.csv: line 5: nan_coordinate'):
        parse_rsna_labels(path, strict=True)
    ok = write(tmp_path, HEADER + 'a,1,2,3,4,1\nb,,,,,0\n', 'ok.csv')
    patients, _ = parse_rsna_labels(ok, strict=True, image_size=(10, 10))
    assert len(patients) == 2


def test_parse_class_info(tmp_path):
    labels = write(tmp_path, HEADER + 'a,1,2,3,4,1\nb,,,,,0\nc,,,,,0\nd,,,,,0\n')
    info = write(tmp_path, 'patientId,class\na,Lung Opacity\nb,Normal\n'
                 'd,Lung Opacity\n', 'info.csv')
    patients, report = parse_rsna_labels(labels, class_info=info)
    assert [p.class_label for p in patients] == ['Lung Opacity', 'Normal', None,
                                                 'Lung Opacity']
    assert report.counts['class_missing'] == 1      # c
    assert report.counts['class_conflict'] == 1     # d: Lung Opacity without a box
    # a missing class is not an error even when strict
    parse_rsna_labels(write(tmp_path, HEADER + 'c,,,,,0\n', 'c.csv'), class_info=info,
                      strict=True)


def test_parse_empty_file(tmp_path):
    patients, report = parse_rsna_labels(write(tmp_path, HEADER))
    assert patients == [] and report.n_patients == 0 and report.n_rows == 0


def test_parse_accepts_numeric_dataframe():
    df = pd.DataFrame(dict(patientId=['a', 'b'], x=[1.0, np.nan], y=[2.0, np.nan],
                           width=[3.0, np.nan], height=[4.0, np.nan], Target=[1, 0]))
    patients, _ = parse_rsna_labels(df)
    np.testing.assert_array_equal(patients[0].boxes, [[1, 2, 4, 6]])
    assert patients[1].target == 0


# --------------------------------------------------------------------------- submission
def test_format_prediction_string():
    boxes = np.array([[10, 20, 40, 60], [0, 0, 5, 5], [1, 1, 2, 2]], dtype=float)
    scores = np.array([0.3, 0.95, 0.1])
    assert format_prediction_string(boxes, scores, score_thr=0.2) == \
        '0.9500 0.0 0.0 5.0 5.0 0.3000 10.0 20.0 30.0 40.0'
    assert format_prediction_string(boxes, scores, score_thr=0.99) == ''
    assert format_prediction_string(np.zeros((0, 4)), np.zeros(0)) == ''
    # clipping to the image; a box left empty is dropped
    out = format_prediction_string([[-5, 90, 20, 120], [200, 0, 210, 5]], [0.5, 0.9],
                                   image_hw=(100, 100), decimals=0)
    assert out == '0.5000 0 90 20 10'
    with pytest.raises(ValueError, match='2 boxes but 1 scores'):
        format_prediction_string(boxes[:2], scores[:1])
