import numpy as np
import pytest

from mmchest.data_root import DatasetNotFoundError
from mmchest.det.datasets import RSNAPneumoniaDataset, rsna_split_patients

PATIENTS = [
    ('p0', [(10, 10, 20, 20)]),
    ('n1', []),
    ('p2', [(5, 5, 10, 10), (40, 30, 10, 20)]),
    ('n3', []),
]


def build(root, **kwargs):
    return RSNAPneumoniaDataset(data_root=str(root), pipeline=[], **kwargs)


def test_data_info_keys_boxes_masks_and_image_level(tmp_path, rsna_writer):
    root = rsna_writer(tmp_path, PATIENTS, size=(64, 48))
    ds = build(root)
    assert len(ds) == 4
    assert ds.metainfo['classes'] == ('pneumonia',)
    info = ds.get_data_info(2)
    assert info['img_path'] == str(root / 'stage_2_train_images' / 'p2.dcm')
    assert info['img_id'] == 2
    assert (info['height'], info['width']) == (64, 48)
    assert info['target'] == 1
    assert info['class_label'] == 'Lung Opacity' and info['class_label_id'] == 0
    assert info['view_position'] == 'PA'
    assert [i['bbox'] for i in info['instances']] == [[5, 5, 15, 15], [40, 30, 48, 50]]
    assert info['instances'][0]['mask'] == [[5, 5, 15, 5, 15, 15, 5, 15]]
    assert all(i['bbox_label'] == 0 and i['ignore_flag'] == 0 for i in info['instances'])
    # second box clipped from x2=50 to the 48-pixel width, and reported
    assert ds.box_report.counts['clipped'] == 1
    neg = ds.get_data_info(1)
    assert neg['instances'] == [] and neg['target'] == 0
    assert neg['class_label'] == 'Normal' and neg['class_label_id'] == 2
    assert neg['view_position'] == 'AP'
    assert ds.get_data_info(3)['class_label'] == 'No Lung Opacity / Not Normal'


def test_negatives_dropped_only_by_filter_cfg_in_training(tmp_path, rsna_writer):
    root = rsna_writer(tmp_path, PATIENTS)
    assert len(build(root)) == 4
    train = build(root, filter_cfg=dict(filter_empty_gt=True))
    assert [d['img_path'].split('/')[-1] for d in train] == ['p0.dcm', 'p2.dcm']
    assert all(train.get_data_info(i)['instances'] for i in range(len(train)))
    evaluation = build(root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)
    assert len(evaluation) == 4
    with pytest.raises(ValueError, match=r'filter_cfg .* left no image of 4'):
        build(root, filter_cfg=dict(min_size=100))


def test_bad_rows_nan_and_outside_image(tmp_path, rsna_writer):
    root = rsna_writer(tmp_path, PATIENTS)
    labels = root / 'stage_2_train_labels.csv'
    labels.write_text(labels.read_text()
                      + 'p0,,,,,1\n'            # NaN box on a positive patient: rejected
                      + 'p0,70,70,10,10,1\n'    # outside the 64x64 image: rejected
                      + 'p0,-4,60,10,10,1\n')   # clipped to (0,60,6,64)
    ds = build(root)
    boxes = [i['bbox'] for i in ds.get_data_info(0)['instances']]
    assert boxes == [[10, 10, 30, 30], [0, 60, 6, 64]]
    counts = ds.box_report.counts
    assert (counts['nan_coordinate'], counts['outside_image'], counts['clipped']) == (1, 1, 1)
    with pytest.raises(ValueError, match=r'stage_2_train_labels.csv: line 7: nan_coordinate'):
        build(root, strict=True)


def test_image_size_option_skips_headers(tmp_path, rsna_writer):
    root = rsna_writer(tmp_path, PATIENTS, class_info=False)
    ds = build(root, image_size=(20, 20))
    info = ds.get_data_info(2)
    assert (info['height'], info['width'], info['view_position']) == (20, 20, None)
    assert info['class_label'] is None and info['class_label_id'] == -1
    # (40,30)-(50,50) lies outside a 20x20 image
    assert [i['bbox'] for i in info['instances']] == [[5, 5, 15, 15]]


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        build(tmp_path / 'nowhere')
    msg = str(err.value)
    assert 'stage_2_train_labels.csv' in msg and 'datasets/rsna/README.md' in msg
    assert '\n' not in msg


def test_split_option_is_seeded_stratified_and_disjoint(tmp_path, rsna_writer):
    patients = [(f'p{i:02d}', [(2, 2, 8, 8)]) for i in range(10)] + \
        [(f'n{i:02d}', []) for i in range(20)]
    root = rsna_writer(tmp_path, patients, size=(16, 16))
    parts = {s: build(root, split=s, test_mode=True) for s in ('train', 'val', 'test')}
    names = {s: {d['img_path'] for d in ds} for s, ds in parts.items()}
    assert sum(len(v) for v in names.values()) == 30
    assert not (names['train'] & names['val'] or names['train'] & names['test']
                or names['val'] & names['test'])
    # 80/10/10 of 10 positives and of 20 negatives
    pos = {s: sum(d['target'] for d in ds) for s, ds in parts.items()}
    assert pos == {'train': 8, 'val': 1, 'test': 1}
    assert {s: len(ds) for s, ds in parts.items()} == {'train': 24, 'val': 3, 'test': 3}
    again = build(root, split='val', test_mode=True)
    assert {d['img_path'] for d in again} == names['val']
    other = [build(root, split='val', test_mode=True, split_seed=s) for s in range(1, 6)]
    assert any({d['img_path'] for d in o} != names['val'] for o in other)
    assert 'split' in parts['val'].box_report.source
    with pytest.raises(ValueError, match="split 'dev' is not one of"):
        build(root, split='dev')
    with pytest.raises(ValueError, match="split 'b' .* holds no patient"):
        build(root, split='b', split_fractions=dict(a=1, b=0))


def test_rsna_split_patients_ignores_row_order():
    targets = {f'id{i}': int(i % 3 == 0) for i in range(12)}
    reordered = dict(reversed(list(targets.items())))
    for split in ('train', 'val', 'test'):
        assert rsna_split_patients(targets, split) == rsna_split_patients(reordered, split)
    got = [rsna_split_patients(targets, s, dict(a=0.5, b=0.5), seed=3) for s in 'ab']
    assert sorted(got[0] + got[1]) == sorted(targets)
    assert sum(targets[p] for p in got[0]) == 2  # 4 positives split 2/2


def test_pipeline_carries_image_level_meta(tmp_path, rsna_writer):
    import mmchest.transforms  # noqa: F401  (registers LoadDicomImageFromFile)
    root = rsna_writer(tmp_path, PATIENTS)
    pipeline = [
        dict(type='LoadDicomImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                              'view_position', 'class_label', 'instances')),
    ]
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    ds = RSNAPneumoniaDataset(data_root=str(root), pipeline=pipeline)
    out = ds[2]
    sample = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, 64, 64)
    assert sample.view_position == 'PA' and sample.class_label == 'Lung Opacity'
    np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(),
                               [[5, 5, 15, 15], [40, 30, 50, 50]])
    masks = sample.gt_instances.masks.to_ndarray()
    assert masks.shape == (2, 64, 64)
    assert masks[0].sum() == 100 and masks[0][5:15, 5:15].all()
    # the box is drawn bright in the image: mask and pixels line up
    img = out['inputs'][0].numpy()
    assert img[masks[1].astype(bool)].min() == 220
    assert len(sample.instances) == 2
