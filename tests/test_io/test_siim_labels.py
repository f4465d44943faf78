"""Tests for mmchest/io/siim_labels.py: the one reader of SIIM's RLE CSVs."""
import pytest

from mmchest.io.rle import RLEError, rle_decode_rows
from mmchest.io.siim_labels import find_dicoms, find_siim_csv, read_siim_csv
from mmchest.synthetic import siim_cases, write_siim


def test_both_kaggle_files_group_the_same_rows_per_image(tmp_path):
    info = write_siim(tmp_path, 6, 0, size=64, seed=5)
    stage1 = read_siim_csv(str(tmp_path / 'siim' / 'train-rle.csv'))  # 'ImageId, EncodedPixels'
    stage2 = read_siim_csv(str(tmp_path / 'siim' / 'stage_2_train.csv'))
    assert stage1 == stage2 and sorted(stage1) == sorted(info['train'])
    lines = [n for rows in stage1.values() for n, _ in rows]
    assert sorted(lines) == list(range(2, info['rows'] + 2))  # 1-based, header = line 1
    truth = {c.case_id: c.sample.mask for c in siim_cases(6, 0, size=64, seed=5)}
    for image_id, rows in stage1.items():
        mask = rle_decode_rows([rle for _, rle in rows], (64, 64), image_id=image_id)
        assert (mask == truth[image_id]).all()


def test_bom_blank_lines_and_empty_marker(tmp_path):
    path = tmp_path / 'labels.csv'
    path.write_text('\ufeffImageId, EncodedPixels\n\nx, -1\ny, 1 2\ny, 5 1\n', encoding='utf-8')
    assert read_siim_csv(str(path)) == {'x': [(3, '-1')], 'y': [(4, '1 2'), (5, '5 1')]}


@pytest.mark.parametrize('body,error,message', [
    ('a,1 x\n', RLEError, r"line 2 \(ImageId a\): RLE value 'x' is not a non-negative integer"),
    (',-1\n', ValueError, 'line 2: empty ImageId'),
    ('a\n', ValueError, r'line 2: 1 value\(s\), expected the columns'),
])
def test_bad_rows_name_file_and_line(tmp_path, body, error, message):
    path = tmp_path / 'bad.csv'
    path.write_text('ImageId,EncodedPixels\n' + body)
    with pytest.raises(error, match=message) as err:
        read_siim_csv(str(path))
    assert str(path) in str(err.value)


def test_download_discovery(tmp_path):
    info = write_siim(tmp_path, 3, 2, size=64, seed=1, stage2=False)
    root = info['root']
    assert find_siim_csv(root).endswith('train-rle.csv')
    (tmp_path / 'siim' / 'train-rle.csv').rename(tmp_path / 'siim' / 'stage_2_train.csv')
    assert find_siim_csv(root).endswith('stage_2_train.csv')
    with pytest.raises(FileNotFoundError, match=r"\['other.csv'\]"):
        find_siim_csv(root, 'other.csv')
    (tmp_path / 'siim' / 'dicom-images-test' / 'X.DICOM').write_bytes(b'')
    found = find_dicoms(str(tmp_path / 'siim'))
    assert found == sorted(found) and len(found) == 6
    stems = {p.rsplit('/', 1)[1].split('.dcm')[0] for p in found if p.endswith('.dcm')}
    assert stems == set(info['train']) | set(info['test'])
