"""mmchest.analysis.dataset_stats (and tools/dataset_stats.py) on hand-made RSNA/SIIM sets
with hand-computed statistics."""
import json
import sys

import numpy as np
import pytest
from mmengine.config import Config

from mmchest.analysis import dataset_stats as tool
from mmchest.io.rle import rle_encode
from mmchest.synthetic import (chest_radiograph, write_dicom, write_multi_expert, write_siim,
                               write_siim_png)

SIZE = 64


def _run(layout, root, out, bins=16):
    """What ``tools/dataset_stats.py <layout> <root> --out <out>`` computes and writes."""
    records = tool.records_from_config(tool.layout_config(layout, str(root)))
    return tool.write_stats(records, str(out), layout, bins)


def _img(i):
    return chest_radiograph(SIZE, [5, i]).image


@pytest.fixture
def rsna_root(tmp_path):
    root = tmp_path / 'rsna'
    patients = [('p1', 'PA', 'F', '045Y'), ('p2', 'AP', 'M', '007Y'), ('p3', 'PA', 'M', '085Y')]
    for i, (pid, view, sex, age) in enumerate(patients):
        write_dicom(root / 'stage_2_train_images' / f'{pid}.dcm', _img(i), patient_id=pid,
                    view_position=view, patient_sex=sex, patient_age=age)
    (root / 'stage_2_train_labels.csv').write_text(
        'patientId,x,y,width,height,Target\n'
        'p1,8,8,16,32,1\np1,40,16,16,16,1\np2,16,16,16,32,1\np3,,,,,0\n')
    (root / 'stage_2_detailed_class_info.csv').write_text(
        'patientId,class\np1,Lung Opacity\np1,Lung Opacity\np2,Lung Opacity\np3,Normal\n')
    return root


def test_age_band():
    assert [tool.age_band(a) for a in (None, -1, 0, 9, 10, 79, 80, 120)] == \
        ['unknown', 'unknown', '0-9', '0-9', '10-19', '70-79', '80+', '80+']


def test_rsna_statistics(rsna_root, tmp_path, cli, repo_root):
    out = tmp_path / 'out'
    proc = cli([sys.executable, repo_root / 'tools' / 'dataset_stats.py', 'rsna', rsna_root,
                '--out', out, '--bins', '4'], cwd=tmp_path)
    stats = json.loads((out / 'stats.json').read_text())
    assert stats['num_images'] == 3
    assert stats['by_class'] == {'Lung Opacity': 2, 'Normal': 1}
    assert stats['by_view'] == {'AP': 1, 'PA': 2}
    assert stats['by_sex'] == {'F': 1, 'M': 2}
    assert stats['by_age_band'] == {'0-9': 1, '40-49': 1, '80+': 1}
    assert stats['boxes_per_image'] == {'0': 1, '1': 1, '2': 1}
    assert stats['num_boxes'] == 3
    # p1: 16x32 + 16x16 = 768 px = 18.75 %; p2: 16x32 = 512 px = 12.5 %
    area = stats['mask_area_percent']
    assert area == {'count': 2, 'min': 12.5, 'median': 15.625, 'mean': 15.625, 'max': 18.75}
    # centres: p1 (0.25, 0.375) and (0.75, 0.375) -> PA cells [1][1], [1][3];
    # p2 (0.375, 0.5) -> AP cell [2][1]
    pa = np.zeros((4, 4), int)
    pa[1, 1] = pa[1, 3] = 1
    ap = np.zeros((4, 4), int)
    ap[2, 1] = 1
    assert stats['box_centres'] == {'AP': ap.tolist(), 'PA': pa.tolist()}
    table = (out / 'stats.md').read_text()
    assert '| view | PA | 2 | 66.7 |' in table and '| age band | 80+ | 1 | 33.3 |' in table
    assert 'median 15.62' in table
    assert table in proc.stdout
    for name in ('counts', 'boxes_per_image', 'mask_area', 'box_centres'):
        assert (out / f'{name}.png').read_bytes()[:4] == b'\x89PNG'
    # nothing identifying is printed or written
    assert 'p1' not in table and 'p1' not in (out / 'stats.json').read_text()


def test_siim_statistics(tmp_path):
    root = tmp_path / 'siim'
    a = np.zeros((SIZE, SIZE), np.uint8)
    a[10:20, 5:15] = 1  # 100 px, centre (10, 15)
    b = np.zeros((SIZE, SIZE), np.uint8)
    b[30:40, 40:60] = 1  # 200 px, centre (50, 35)
    write_dicom(root / 'dicom-images-train' / 's' / 'r' / '1.1.dcm', _img(7),
                view_position='AP', patient_sex='F', patient_age='032Y')
    write_dicom(root / 'dicom-images-train' / 's' / 'r' / '1.2.dcm', _img(8),
                view_position='PA', patient_sex='M', patient_age='061Y')
    (root / 'train-rle.csv').write_text(
        f'ImageId, EncodedPixels\n1.1, {rle_encode(a)}\n1.1, {rle_encode(b)}\n'
        '1.2, -1\n1.3, -1\n')  # 1.3 is not on disk: skipped
    out = tmp_path / 'out'
    stats = _run('siim', root, out, bins=4)['stats']
    assert stats == {k: v for k, v in json.loads((out / 'stats.json').read_text()).items()
                     if k != 'box_centres'}
    stats = json.loads((out / 'stats.json').read_text())
    assert stats['num_images'] == 2
    assert stats['by_class'] == {'no pneumothorax': 1, 'pneumothorax': 1}
    assert stats['by_age_band'] == {'30-39': 1, '60-69': 1}
    assert stats['boxes_per_image'] == {'0': 1, '2': 1}
    assert stats['mask_area_percent']['max'] == pytest.approx(100 * 300 / SIZE**2)
    ap = np.zeros((4, 4), int)
    ap[0, 0] = ap[2, 3] = 1
    assert stats['box_centres'] == {'AP': ap.tolist()}


def test_png_layouts_without_headers(tmp_path):
    info = write_siim_png(tmp_path, num_train=4, num_test=1, size=SIZE, seed=1,
                          positive_fraction=0.5)
    out = tmp_path / 'out'
    _run('siim_png', info['root'], out)
    stats = json.loads((out / 'stats.json').read_text())
    assert stats['num_images'] == 4
    assert stats['by_view'] == {'unknown': 4} and stats['by_age_band'] == {'unknown': 4}
    assert stats['by_class'].get('pneumothorax', 0) == stats['mask_area_percent']['count'] == 2

    me = write_multi_expert(tmp_path, num_pneumonia=2, num_normal=1, size=SIZE, seed=0)
    out = tmp_path / 'out_me'
    _run('multi_expert', me['root'], out)
    stats = json.loads((out / 'stats.json').read_text())
    n_pneu = len(list((tmp_path / 'multi_expert_pneumonia/images/pneumonia').glob('*.png')))
    n_norm = len(list((tmp_path / 'multi_expert_pneumonia/images/norma').glob('*.png')))
    assert stats['by_class'] == {'norma': n_norm, 'pneumonia': n_pneu}
    assert set(stats['by_view']) <= {'LAT', 'PA'}
    assert stats['mask_area_percent']['count'] <= n_pneu
    assert stats['boxes_per_image'].get('0', 0) >= n_norm  # normals have no mask


def test_helpers():
    mask = np.zeros((8, 8), np.uint8)
    mask[1:3, 1:4] = 1
    mask[5:8, 6:8] = 255
    np.testing.assert_array_equal(tool.mask_boxes(mask), [[1, 1, 4, 3], [6, 5, 8, 8]])
    assert tool.mask_boxes(np.zeros((4, 4))).shape == (0, 4)
    # overlapping boxes count once; boxes beyond the image are cut
    assert tool.boxes_area(np.array([[0, 0, 4, 4], [2, 2, 6, 6], [6, 6, 20, 20]]), 8, 8) == 32
    assert tool.summarise([])['mask_area_percent']['median'] is None


def test_config_form_summarises_one_split(tmp_path, cli, repo_root):
    info = write_siim(tmp_path, num_train=10, num_test=0, size=SIZE, seed=4)
    cfg = Config.fromfile(str(repo_root / 'configs' / 'unet_siim.py'))
    cfg.merge_from_dict({'val_dataloader.dataset.data_root': info['root']})
    datasets = tool.build_datasets(cfg, 'val')
    records = tool.records_from_config(cfg, 'val')
    assert len(datasets) == 1 and len(records) == len(datasets[0]) < 10
    labels = {r.label for r in records}
    assert labels <= {'pneumothorax', 'no pneumothorax'}
    out = tmp_path / 'out'
    proc = cli([sys.executable, repo_root / 'tools' / 'dataset_stats.py',
                repo_root / 'configs' / 'unet_siim.py', '--split', 'val', '--out', out,
                '--cfg-options', f'val_dataloader.dataset.data_root={info["root"]}'],
               cwd=tmp_path)
    stats = json.loads((out / 'stats.json').read_text())
    assert stats['num_images'] == len(records)
    assert f'# unet_siim: {len(records)} labelled images' in proc.stdout
    with pytest.raises(ValueError, match='split must be one of'):
        tool.build_datasets(cfg, 'holdout')
