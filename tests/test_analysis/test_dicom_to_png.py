"""mmchest.analysis.dicom_to_png (tools/dicom_to_png.py): layouts, resume, privacy, bad files."""
import json
import os
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmchest.analysis.dicom_to_png import dicom_to_png, resize_longer_side
from mmchest.io.dicom import read_dicom
from mmchest.io.rle import rle_decode_rows
from mmchest.synthetic import chest_radiograph, synthetic_uid, write_dicom, write_siim

SIZE = 64


def png_chunks(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunks.append(kind.decode())
        pos += 12 + length
    return chunks


def _image(i):
    return chest_radiograph(SIZE, [11, i]).image


@pytest.fixture
def dicom_dir(tmp_path):
    src = tmp_path / 'src'
    write_dicom(src / 'a.dcm', _image(0), sop_instance_uid='1.2.3.1')
    write_dicom(src / 'nested' / 'b.dcm', _image(1), compressed=False,
                sop_instance_uid='1.2.3.2')
    # 12-bit, MONOCHROME1: the default norm='auto' windows and inverts it
    write_dicom(src / 'c12.dcm', _image(2), compressed=False, bits_stored=12,
                photometric='MONOCHROME1', sop_instance_uid='1.2.3.3')
    (src / 'broken.dcm').write_bytes(b'not a dicom')
    return src


def _run(src, out, **kwargs):
    """``tools/dicom_to_png.py SRC OUT`` with the flags as keyword arguments (one worker)."""
    kwargs.setdefault('workers', 1)
    return dicom_to_png(str(src), str(out), **kwargs)


def test_mirror_layout_lossless_metadata_free(dicom_dir, tmp_path, repo_root):
    out = tmp_path / 'out'
    # Parallel workers are forked: run the tool in its own process, as users do (forking this
    # pytest process, whose torch/OpenCV thread pools are already running, can deadlock).
    proc = subprocess.run([sys.executable, str(repo_root / 'tools' / 'dicom_to_png.py'),
                           str(dicom_dir), str(out), '--workers', '2'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 3
    err = proc.stderr
    # the broken file is reported, the run went on; the 12-bit file converts by default
    assert 'broken.dcm' in err and 'c12.dcm' not in err and '4/4' in err
    assert sorted(str(p.relative_to(out)) for p in out.rglob('*.png')) == \
        ['a.png', 'c12.png', 'nested/b.png']
    for rel, src in (('a.png', 'a.dcm'), ('nested/b.png', 'nested/b.dcm'),
                     ('c12.png', 'c12.dcm')):
        png = cv2.imread(str(out / rel), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(png, read_dicom(dicom_dir / src)[0])
        assert png_chunks(out / rel) == ['IHDR', 'IDAT', 'IEND']  # no text/time chunks


def test_norm_and_size_options(dicom_dir, tmp_path):
    (dicom_dir / 'broken.dcm').unlink()
    out = tmp_path / 'out'
    assert _run(dicom_dir, out, norm='minmax', size=32).status == 0
    png = cv2.imread(str(out / 'c12.png'), cv2.IMREAD_UNCHANGED)
    expected = read_dicom(dicom_dir / 'c12.dcm', norm='minmax')[0]
    expected = cv2.resize(expected, (32, 32), interpolation=cv2.INTER_AREA)
    assert png.shape == (32, 32) and png.dtype == np.uint8
    np.testing.assert_array_equal(png, expected)
    # MONOCHROME1 was inverted: the bright (dense) mediastinum stays bright
    assert png[16, 16] > png[16, 4]


def test_resize_longer_side():
    img = np.zeros((40, 100), np.uint8)
    assert resize_longer_side(img, 50).shape == (20, 50)
    assert resize_longer_side(img, 200).shape == (80, 200)
    assert resize_longer_side(img, None) is img


def test_resume_skips_finished_and_cleans_only_its_temporaries(dicom_dir, tmp_path, capsys):
    (dicom_dir / 'broken.dcm').unlink()
    (dicom_dir / 'c12.dcm').unlink()
    out = tmp_path / 'out'
    # files the tool never wrote, named like its old temporaries or like temporaries at all
    (out / 'nested').mkdir(parents=True)
    user_files = [out / '.scan.1234.tmp', out / 'nested' / '.notes.txt.99.tmp',
                  out / 'nested' / 'x.tmp', out / 'keep' / '.mmchest-dicom_to_png-x.tmp']
    for p in user_files:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b'user data')
    assert _run(dicom_dir, out).status == 0
    capsys.readouterr()
    first = (out / 'a.png').stat().st_mtime_ns
    # an interrupted run: one output missing, one of the tool's temporaries left behind
    (out / 'nested' / 'b.png').unlink()
    (out / 'nested' / '.mmchest-dicom_to_png-k3j2h1.tmp').write_bytes(b'partial')
    result = _run(dicom_dir, out)
    text = capsys.readouterr()
    assert result.status == 0
    assert '1 converted, 1 already done, 0 failed' in result.summary()
    assert 'removed 1 temporary' in text.err
    assert (out / 'a.png').stat().st_mtime_ns == first
    # unrelated *.tmp files survive, also one with the prefix in a folder the tool does not
    # write to
    assert all(p.read_bytes() == b'user data' for p in user_files)
    assert sorted(p.name for p in (out / 'nested').iterdir()) == \
        ['.notes.txt.99.tmp', 'b.png', 'x.tmp']
    result = _run(dicom_dir, out, overwrite=True)
    assert result.status == 0
    assert '2 converted, 0 already done' in result.summary()
    assert all(p.exists() for p in user_files)


def test_rerun_with_other_options_is_refused(dicom_dir, tmp_path, capsys):
    (dicom_dir / 'broken.dcm').unlink()
    out = tmp_path / 'out'
    assert _run(dicom_dir, out, size=48).status == 0
    manifest = json.loads((out / '.mmchest_dicom_to_png.json').read_text())
    assert manifest['options']['size'] == 48 and manifest['options']['norm'] == 'auto'
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*.png')}
    assert _run(dicom_dir, out, size=32).status == 2
    err = capsys.readouterr().err
    assert f'{out} was written with --size 48; this run asks --size 32' in err
    assert 'another output folder' in err and '--overwrite' in err
    assert _run(dicom_dir, out, size=48, norm='minmax').status == 2
    assert 'written with --norm auto, --percentiles 0.5 99.5; this run asks --norm ' \
        'minmax, no --percentiles' in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob('*.png')} == before  # untouched
    # the same options resume; an option the chosen norm ignores does not count
    result = _run(dicom_dir, out, size=48, window=(1, 2))
    assert result.status == 0
    assert '0 converted, 3 already done' in result.summary()
    # --overwrite redoes every file with the new options and records them
    result = _run(dicom_dir, out, size=32, overwrite=True)
    text = capsys.readouterr()
    assert result.status == 0
    assert '3 converted' in result.summary() and 'was written with --size 48' in text.err
    assert {cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape for p in out.rglob('*.png')} == \
        {(32, 32)}
    assert json.loads((out / '.mmchest_dicom_to_png.json').read_text())['options'][
        'size'] == 32
    assert _run(dicom_dir, out, size=32).status == 0


def test_pngs_without_manifest_are_not_mixed(dicom_dir, tmp_path, capsys):
    (dicom_dir / 'broken.dcm').unlink()
    out = tmp_path / 'out'
    out.mkdir()
    cv2.imwrite(str(out / 'a.png'), np.zeros((8, 8), np.uint8))  # options unknown
    assert _run(dicom_dir, out).status == 2
    assert 'holds outputs but no .mmchest_dicom_to_png.json' in capsys.readouterr().err
    assert cv2.imread(str(out / 'a.png'), cv2.IMREAD_UNCHANGED).shape == (8, 8)
    assert _run(dicom_dir, out, overwrite=True).status == 0
    assert cv2.imread(str(out / 'a.png'), cv2.IMREAD_UNCHANGED).shape == (SIZE, SIZE)


def test_concurrent_runs_into_one_folder(dicom_dir, tmp_path, repo_root):
    """Two processes convert the same files into one folder at once: both succeed, every
    PNG is complete, no temporary is left, and a third run with other options is refused."""
    (dicom_dir / 'broken.dcm').unlink()
    for i in range(12):
        write_dicom(dicom_dir / 'many' / f'm{i}.dcm', _image(20 + i), compressed=False)
    out = tmp_path / 'out'
    cmd = [sys.executable, str(repo_root / 'tools' / 'dicom_to_png.py'), str(dicom_dir),
           str(out), '--workers', '1']
    procs = [subprocess.Popen(cmd + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for extra in ([], ['--overwrite'], [])]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    ok = [r for r in results if r[0] == 0]
    busy = [r for r in results if r[0] != 0]
    assert ok, results
    # --overwrite either had the folder to itself or was refused because it was in use
    for rc, _, err in busy:
        assert rc == 2 and '--overwrite needs the folder to itself' in err, err
    pngs = sorted(out.rglob('*.png'))
    assert len(pngs) == 15
    for p in pngs:
        rel = p.relative_to(out).with_suffix('.dcm')
        np.testing.assert_array_equal(cv2.imread(str(p), cv2.IMREAD_UNCHANGED),
                                      read_dicom(dicom_dir / rel)[0])
    assert not [p for p in out.rglob('*') if p.name.endswith('.tmp')]


def test_identifier_in_name_is_refused_unless_named_by_uid(tmp_path, capsys):
    src = tmp_path / 'src'
    write_dicom(src / 'DOE_JOHN_1234567.dcm', _image(3), patient_name='Doe^John',
                patient_id='1234567', sop_instance_uid='1.2.826.0.9')
    write_dicom(src / 'safe.dcm', _image(4), patient_id='7654321')
    out = tmp_path / 'out'
    assert _run(src, out).status == 3
    assert 'PatientID/PatientName' in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob('*.png')) == ['safe.png']
    out2 = tmp_path / 'out2'
    assert _run(src, out2, names='sop').status == 0
    uid_safe = synthetic_uid('file', 'safe.dcm', 'sop')  # write_dicom's default UID
    assert sorted(p.name for p in out2.glob('*.png')) == sorted(['1.2.826.0.9.png',
                                                                 f'{uid_safe}.png'])
    # the rule lives in the package, shared with tools/infer.py
    from mmchest.io.safe_names import contains_identifier
    assert contains_identifier('x/doe_john.png', ['Doe']) is True
    assert contains_identifier('x/1.2.3.png', ['Doe', '1234567']) is False


@pytest.mark.parametrize('layout', ['siim_png', 'chest_image_pneum'])
def test_siim_layouts(tmp_path, layout, capsys):
    info = write_siim(tmp_path / 'data', num_train=5, num_test=2, size=SIZE, seed=3,
                      positive_fraction=0.6)
    root = info['root']
    # a training DICOM without a CSV row is skipped and counted
    write_dicom(os.path.join(root, 'dicom-images-train', 'x', 'y', '9.9.9.dcm'), _image(5))
    out = tmp_path / 'png'
    assert _run(root, out, layout=layout).status == 0
    text = capsys.readouterr()
    assert '1 training DICOM(s) without a CSV row' in text.err
    assert sorted(p.stem for p in (out / 'images' / 'train').iterdir()) == sorted(info['train'])
    assert sorted(p.stem for p in (out / 'images' / 'test').iterdir()) == sorted(info['test'])
    assert sorted(p.stem for p in (out / 'masks' / 'train').iterdir()) == sorted(info['train'])
    assert not (out / 'masks' / 'test').exists()

    from mmchest.io.siim_labels import read_siim_csv
    labels = read_siim_csv(os.path.join(root, 'train-rle.csv'))
    n_pos = 0
    for image_id in info['train']:
        mask = cv2.imread(str(out / 'masks' / 'train' / f'{image_id}.png'),
                          cv2.IMREAD_UNCHANGED)
        expected = rle_decode_rows([r for _, r in labels[image_id] if r != '-1'],
                                   (SIZE, SIZE))
        np.testing.assert_array_equal(mask, expected)  # 0/1, union of all rows
        n_pos += bool(mask.any())
    assert n_pos == info['positives'] > 0

    lists = {s: (out / f'{s}.txt') for s in ('train', 'val')}
    if layout == 'siim_png':
        assert not any(p.exists() for p in lists.values())
    else:
        train = lists['train'].read_text().split()
        val = lists['val'].read_text().split()
        assert len(val) == 1 and len(train) == 4  # 20 % of 5
        assert sorted(train + val) == sorted(f'train/{i}' for i in info['train'])

    # this package's PNG mode reads the result
    from mmchest.seg.datasets.siim import SIIMPneumothoraxDataset
    ds = SIIMPneumothoraxDataset(data_root=str(out), layout='png', pipeline=[])
    assert sorted(ds[i]['image_id'] for i in range(len(ds))) == sorted(info['train'])
    if layout == 'chest_image_pneum':
        # the lists are the dataset's own seeded 80/20 split
        for split in ('train', 'val'):
            part = SIIMPneumothoraxDataset(data_root=str(out), layout='png', pipeline=[],
                                           split=split,
                                           split_ratios=dict(train=0.8, val=0.2))
            ids = sorted(f"train/{part[i]['image_id']}" for i in range(len(part)))
            assert ids == sorted(lists[split].read_text().split())
