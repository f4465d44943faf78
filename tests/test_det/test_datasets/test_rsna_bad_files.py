"""RSNA: every labelled patient's DICOM is checked when the dataset is built."""
import os
from pathlib import Path

import numpy as np
import pytest

from mmchest.det.datasets import RSNAPneumoniaDataset
from mmchest.det.metrics import RSNAMetric
from mmchest.engine.bad_files import BadFilesError
from mmchest.io.rsna_labels import RSNALabelError
from mmchest.synthetic import write_rsna


def _build(root, split, **kw):
    return RSNAPneumoniaDataset(data_root=root, pipeline=[], split=split, **kw)


def _pids(ds):
    return [Path(ds.get_data_info(i)['img_path']).stem for i in range(len(ds))]


@pytest.fixture
def rsna(tmp_path):
    info = write_rsna(tmp_path, num_train=30, num_test=0, size=64, seed=1)
    root = info['root']
    pids = {s: _pids(_build(root, s)) for s in ('train', 'val', 'test')}
    return dict(root=root, pids=pids)


def test_bad_files_named_at_build_and_skipped(rsna):
    root = Path(rsna['root'])
    train_bad = root / 'stage_2_train_images' / f"{rsna['pids']['train'][0]}.dcm"
    val_bad = root / 'stage_2_train_images' / f"{rsna['pids']['val'][0]}.dcm"
    data = train_bad.read_bytes()
    train_bad.write_bytes(data[:len(data) // 2])
    os.remove(val_bad)
    with pytest.raises(BadFilesError) as err:
        _build(rsna['root'], 'train')
    text = str(err.value)
    assert str(train_bad) in text and 'file truncated' in text
    assert f'{val_bad}: file not found' in text  # the val split's file too
    val = _build(rsna['root'], 'val', bad_files='skip', test_mode=True)
    assert _pids(val) == rsna['pids']['val'][1:]
    assert val.metainfo['bad_files']['skipped'] == 1
    assert val.metainfo['bad_files']['total'] == len(rsna['pids']['val'])
    assert _pids(_build(rsna['root'], 'test')) == rsna['pids']['test']  # unaffected


def test_label_errors_still_name_the_file_and_line(rsna):
    csv = Path(rsna['root']) / 'stage_2_train_labels.csv'
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].split(',')[0] + ',a,b,c,d,1'
    csv.write_text('\n'.join(lines) + '\n')
    with pytest.raises(RSNALabelError, match=r'stage_2_train_labels.csv.*line 4'):
        _build(rsna['root'], 'train')


def test_metric_log_counts_the_skipped_images(logged):
    metric = RSNAMetric()
    metric.dataset_meta = dict(classes=('pneumonia',), bad_files=dict(
        split='val', total=4, skipped=1, list_file='bad_files_val.txt'))
    empty = np.zeros((0, 4), np.float32)
    sample = dict(pred_instances=dict(bboxes=empty, scores=np.zeros(0, np.float32),
                                      labels=np.zeros(0, np.int64)),
                  gt_instances=dict(bboxes=empty), ori_shape=(64, 64), img_id=0)
    metric.process({}, [sample, dict(sample, img_id=1), dict(sample, img_id=2)])
    messages = logged(lambda: metric.evaluate(3))
    assert any('evaluated 3 of 4 images (1 skipped: see bad_files_val.txt)' in m
               for m in messages), messages
