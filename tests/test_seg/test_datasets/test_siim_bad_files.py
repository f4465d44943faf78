"""SIIM: bad files and bad labels are found when the dataset is built, all at once."""
import os
from pathlib import Path

import pytest
from mmengine.logging import MMLogger

from mmchest.engine.bad_files import BadFilesError, read_exclude_file
from mmchest.io.rle import RLEError
from mmchest.io.siim_labels import read_siim_csv
from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
from mmchest.seg.metrics import SIIMDiceMetric
from mmchest.synthetic import write_siim

SPLITS = dict(train=0.7, val=0.15, test=0.15)


def _build(root, split, **kw):
    return SIIMPneumothoraxDataset(data_root=root, pipeline=[], split=split,
                                   split_ratios=SPLITS, **kw)


def _truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])


@pytest.fixture
def siim(tmp_path):
    info = write_siim(tmp_path, num_train=30, num_test=0, size=64, seed=3)
    root = info['root']
    ids = {s: _ids(_build(root, s)) for s in ('train', 'val', 'test')}
    paths = {s: _build(root, s).get_data_info(0)['img_path'] for s in ('train', 'val')}
    return dict(root=root, ids=ids, paths=paths)


def _ids(ds):
    return [ds.get_data_info(i)['image_id'] for i in range(len(ds))]


def test_default_error_names_every_bad_file_of_every_split(siim):
    for path in siim['paths'].values():
        _truncate(path)
    for split in ('train', 'val'):  # each split raises, naming its own file and the other
        with pytest.raises(BadFilesError) as err:
            _build(siim['root'], split)
        text = str(err.value)
        assert all(p in text for p in siim['paths'].values()), text
        assert 'file truncated' in text and "bad_files='skip'" in text
        assert [p for p, _ in err.value.bad] == [siim['paths'][split]]
    # the test split has no bad file: it builds, and warns about the others
    test = _build(siim['root'], 'test')
    assert _ids(test) == siim['ids']['test']


def test_skip_drops_only_the_bad_files_and_keeps_the_split(siim):
    for path in siim['paths'].values():
        _truncate(path)
    for split in ('train', 'val', 'test'):
        ds = _build(siim['root'], split, bad_files='skip')
        bad = [i for i in siim['ids'][split]
               if any(p.endswith(f'{i}.dcm') for p in siim['paths'].values())]
        assert _ids(ds) == [i for i in siim['ids'][split] if i not in bad]
        if bad:
            meta = ds.metainfo['bad_files']
            assert (meta['total'], meta['skipped']) == (len(siim['ids'][split]), 1)
            assert Path(meta['list_file']).is_file()
            assert [p for p, _ in ds.bad_files] == [siim['paths'][split]]
        else:
            assert 'bad_files' not in ds.metainfo


def test_clean_data_is_unchanged(siim):
    ds = _build(siim['root'], 'train')
    assert _ids(ds) == siim['ids']['train'] and ds.bad_files == []
    assert 'bad_files' not in ds.metainfo


def test_list_file_is_written_next_to_the_log(siim, tmp_path):
    _truncate(siim['paths']['val'])
    log_dir = tmp_path / 'work' / '20240101_000000'
    log_dir.mkdir(parents=True)
    MMLogger.get_instance('siim_bad_files_test', log_file=str(log_dir / 'run.log'))
    try:
        ds = _build(siim['root'], 'val', bad_files='skip')
    finally:
        MMLogger.get_instance('siim_bad_files_test_done')  # later tests: no file logger
    listed = Path(ds.bad_files_list)
    assert listed.parent == log_dir
    entries = read_exclude_file(str(listed), siim['root'])
    assert list(entries) == [os.path.abspath(siim['paths']['val'])]
    assert 'file truncated' in entries[os.path.abspath(siim['paths']['val'])]


def test_exclude_file_is_honoured(siim, tmp_path):
    for path in siim['paths'].values():
        _truncate(path)
    exclude = Path(siim['root']) / 'exclude.txt'
    exclude.write_text('# from tools/check_dataset.py\n' + ''.join(
        f'{os.path.relpath(p, siim["root"])}\ttruncated\n' for p in siim['paths'].values()))
    ds = _build(siim['root'], 'train', exclude_file='exclude.txt')  # default: no error
    assert siim['paths']['train'] not in [ds.get_data_info(i)['img_path']
                                          for i in range(len(ds))]
    assert len(ds) == len(siim['ids']['train']) - 1
    assert ds.metainfo['bad_files']['skipped'] == 1
    assert 'excluded by exclude.txt (truncated)' in ds.bad_files[0][1]
    with pytest.raises(FileNotFoundError, match='check_dataset'):
        _build(siim['root'], 'train', exclude_file='nope.txt')


def test_rle_overrun_found_at_build_with_csv_line_and_image_id(siim):
    csv = Path(siim['root']) / 'train-rle.csv'
    lines = csv.read_text().splitlines()
    image_id = lines[5].split(',')[0].strip()
    lines[5] = f'{image_id}, 4000 200'  # 4200 > 64 x 64 = 4096
    csv.write_text('\n'.join(lines) + '\n')
    split = next(s for s in ('train', 'val', 'test') if image_id in siim['ids'][s])
    with pytest.raises(BadFilesError) as err:
        _build(siim['root'], split)
    text = str(err.value)
    assert f'{csv}, line 6 (ImageId {image_id})' in text
    assert 'RLE runs end at pixel 4,200, past Rows x Columns = 64 x 64 = 4,096' in text
    ds = _build(siim['root'], split, bad_files='skip')
    assert image_id not in _ids(ds)


def test_csv_with_an_extra_column_parses_by_header_name(tmp_path, siim):
    csv = Path(siim['root']) / 'train-rle.csv'
    rows = [line.split(',', 1) for line in csv.read_text().splitlines()]
    extra = tmp_path / 'extra.csv'
    extra.write_text('Source,' + rows[0][0] + ',' + rows[0][1] + ',Note\n' + ''.join(
        f'kaggle,{a},{b},n{i}\n' for i, (a, b) in enumerate(rows[1:])))
    assert read_siim_csv(str(extra)) == read_siim_csv(str(csv))
    ds = SIIMPneumothoraxDataset(data_root=siim['root'], ann_file=str(extra), pipeline=[])
    assert len(ds) == 30


def test_csv_row_with_more_values_than_columns_names_them(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('ImageId,EncodedPixels\na,-1\nb,1 2,extra\n')
    with pytest.raises(ValueError, match=r"bad.csv, line 3: 3 values but the header has 2 "
                                         r"columns \['ImageId', 'EncodedPixels'\]"):
        read_siim_csv(str(bad))
    trailing = tmp_path / 'trailing.csv'  # a trailing comma is not a value
    trailing.write_text('ImageId,EncodedPixels\na,-1,\nb,1 2,\n')
    assert read_siim_csv(str(trailing)) == {'a': [(2, '-1')], 'b': [(3, '1 2')]}
    missing = tmp_path / 'missing.csv'
    missing.write_text('ImageId,Pixels\na,-1\n')
    with pytest.raises(ValueError, match=r"expected columns ImageId and EncodedPixels.*"
                                         r"\['ImageId', 'Pixels'\]"):
        read_siim_csv(str(missing))
    odd = tmp_path / 'odd.csv'
    odd.write_text('ImageId,EncodedPixels\na,1 2 3\n')
    with pytest.raises(RLEError, match='odd.csv, line 2'):
        read_siim_csv(str(odd))


def test_metric_log_says_how_many_were_evaluated(logged):
    import torch
    metric = SIIMDiceMetric()
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'),
                               bad_files=dict(split='val', total=3, skipped=1,
                                              list_file='/work/bad_files_val.txt'))
    sample = dict(pred_sem_seg=dict(data=torch.zeros(1, 4, 4, dtype=torch.long)),
                  gt_sem_seg=dict(data=torch.zeros(1, 4, 4, dtype=torch.long)))
    metric.process({}, [sample, sample])
    out = '\n'.join(logged(lambda: metric.evaluate(2)))
    assert 'SIIM: 2 images' in out
    assert 'evaluated 2 of 3 images (1 skipped: see /work/bad_files_val.txt)' in out
    metric.dataset_meta = dict(classes=('background', 'pneumothorax'))
    metric.process({}, [sample])
    # nothing skipped: the line is as before
    assert 'evaluated' not in '\n'.join(logged(lambda: metric.evaluate(1)))


def test_budget_is_the_pipeline_loaders(siim):
    with pytest.raises(BadFilesError, match='exceeds the pixel budget of 4,095'):
        SIIMPneumothoraxDataset(
            data_root=siim['root'], split='train', split_ratios=SPLITS,
            pipeline=[dict(type='LoadDicomImageFromFile', max_pixels=64 * 64 - 1)])
    ds = SIIMPneumothoraxDataset(
        data_root=siim['root'], split='train', split_ratios=SPLITS,
        pipeline=[dict(type='LoadDicomImageFromFile', max_pixels=64 * 64)])
    assert _ids(ds) == siim['ids']['train']
