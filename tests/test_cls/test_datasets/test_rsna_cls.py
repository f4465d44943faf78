"""RSNAClassificationDataset: labels, split and bad-file checks shared with the detector's."""
import pytest

import mmchest.cls  # noqa: F401
from mmchest.cls import RSNAClassificationDataset
from mmchest.synthetic import write_rsna


@pytest.fixture(scope='module')
def rsna_root(tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic')
    write_rsna(out, num_train=20, num_test=1, size=64, seed=3)
    return str(out / 'rsna')


def build(root, **kwargs):
    return RSNAClassificationDataset(data_root=root, pipeline=[], **kwargs)


def _csv_rows(root, name):
    import csv
    with open(f'{root}/{name}') as f:
        return list(csv.DictReader(f))


def test_binary_labels_are_the_targets(rsna_root):
    ds = build(rsna_root)
    assert ds.metainfo['classes'] == ('normal', 'pneumonia')
    assert len(ds) == 20
    targets = {}
    for row in _csv_rows(rsna_root, 'stage_2_train_labels.csv'):
        targets[row['patientId']] = max(targets.get(row['patientId'], 0), int(row['Target']))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        pid = info['img_path'].rsplit('/', 1)[-1][:-len('.dcm')]
        assert info['gt_label'] == info['target'] == targets[pid]
        assert info['img_path'].startswith(rsna_root)
        assert info['view_position'] in ('AP', 'PA')
    assert sum(ds.get_data_info(i)['gt_label'] for i in range(len(ds))) == 10


def test_detailed_labels_follow_the_class_file(rsna_root):
    ds = build(rsna_root, target='detailed')
    classes = ('Normal', 'No Lung Opacity / Not Normal', 'Lung Opacity')
    assert ds.metainfo['classes'] == classes
    cls_of = {r['patientId']: r['class'] for r in _csv_rows(rsna_root,
                                                           'stage_2_detailed_class_info.csv')}
    seen = set()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        pid = info['img_path'].rsplit('/', 1)[-1][:-len('.dcm')]
        assert classes[info['gt_label']] == cls_of[pid] == info['class_label']
        assert (info['gt_label'] == 2) == bool(info['target'])
        seen.add(info['gt_label'])
    assert seen == {0, 1, 2}


def test_same_patient_split_as_the_detection_dataset(rsna_root):
    from mmchest.det import RSNAPneumoniaDataset
    paths = {}
    for split in ('train', 'val', 'test'):
        cls_ds = build(rsna_root, split=split)
        det_ds = RSNAPneumoniaDataset(data_root=rsna_root, split=split, pipeline=[],
                                      test_mode=True)
        mine = [cls_ds.get_data_info(i)['img_path'] for i in range(len(cls_ds))]
        assert mine == [det_ds.get_data_info(i)['img_path'] for i in range(len(det_ds))]
        assert [cls_ds.get_data_info(i)['gt_label'] for i in range(len(cls_ds))] == \
            [int(bool(det_ds.get_data_info(i)['instances'])) for i in range(len(det_ds))]
        paths[split] = set(mine)
    assert sum(map(len, paths.values())) == 20
    assert not (paths['train'] & paths['val'] or paths['train'] & paths['test']
                or paths['val'] & paths['test'])


def test_bad_files_policy(tmp_path):
    from mmchest.engine.bad_files import BadFilesError
    info = write_rsna(tmp_path, num_train=8, num_test=1, size=64, seed=4)
    root = info['root']
    victim = f"{root}/stage_2_train_images/{info['train'][0]}.dcm"
    with open(victim, 'r+b') as f:
        f.truncate(200)
    with pytest.raises(BadFilesError, match='1 of 8 image'):
        build(root)
    ds = build(root, bad_files='skip')
    assert len(ds) == 7
    assert ds.metainfo['bad_files']['skipped'] == 1


def test_bad_arguments(rsna_root, tmp_path):
    with pytest.raises(ValueError, match='target must be one of'):
        build(rsna_root, target='three')
    with pytest.raises(ValueError, match='has classes'):
        build(rsna_root, metainfo=dict(classes=('a', 'b')))
    with pytest.raises(FileNotFoundError, match='detailed class file'):
        build(rsna_root, target='detailed', class_info_file='missing.csv')
