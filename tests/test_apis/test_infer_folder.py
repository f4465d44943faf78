"""mmchest.apis.infer_folder (the body of tools/infer.py) with untrained (but rigged)
checkpoints on tiny synthetic DICOM/PNG files; tools/infer.py itself run as a user runs it."""
import csv
import json
import os
import sys

import cv2
import numpy as np
import pytest

import mmchest.apis.infer_folder as infer_folder
from mmchest.apis.infer_folder import infer_to_folder
from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """Two DICOMs in nested folders, one PNG, and two unreadable files."""
    root = tmp_path_factory.mktemp('infer_inputs')
    for i in range(2):
        write_dicom(root / 'dcm' / f'sub{i}' / f'img{i}.dcm',
                    chest_radiograph(SIZE, [7, i]).image)
    cv2.imwrite(str(root / 'dcm' / 'plain.png'), chest_radiograph(SIZE, [7, 9]).image)
    (root / 'bad').mkdir()
    (root / 'bad' / 'broken.dcm').write_bytes(b'not a dicom')
    (root / 'bad' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    return root


@pytest.mark.parametrize('which', ['positive', 'negative'])
def test_segmentation_outputs(inputs, rigged_segmentor, tmp_path, capsys, which):
    cfg, ckpts = rigged_segmentor
    out = tmp_path / 'out'
    rc = infer_to_folder(cfg, str(ckpts[which]), [str(inputs / 'dcm'), str(inputs / 'bad')],
                         str(out), device='cpu')
    assert rc == 3  # two unreadable files: reported, skipped, run finished
    err = capsys.readouterr().err
    assert 'skipped' in err and 'broken.dcm' in err and 'broken.png' in err
    assert '3/5' in err or '5/5' in err  # mmengine's progress bar
    errors = _rows(out / 'errors.csv')
    assert sorted(r['source'].rsplit('/', 1)[1] for r in errors) == ['broken.dcm', 'broken.png']

    rows = _rows(out / 'summary.csv')
    assert [r['image'] for r in rows] == ['plain', 'img0', 'img1']
    for row in rows:
        mask = cv2.imread(str(out / 'masks' / f"{row['image']}.png"), cv2.IMREAD_UNCHANGED)
        overlay = cv2.imread(str(out / 'overlays' / f"{row['image']}.png"))
        assert mask.shape == (SIZE, SIZE) and overlay.shape == (SIZE, SIZE, 3)
        prob = float(row['probability'])
        if which == 'positive':  # sigmoid(10): everything is a finding
            assert prob == pytest.approx(1 / (1 + np.exp(-10)), abs=1e-5)
            assert row['has_finding'] == '1' and int(row['mask_pixels']) == SIZE * SIZE
            assert set(np.unique(mask)) == {255}
            # the contour of a full mask runs along the image border, in red
            assert tuple(overlay[SIZE - 1, SIZE // 2]) == (0, 0, 255)
        else:
            assert prob == pytest.approx(1 / (1 + np.exp(10)), abs=1e-6)
            assert row['has_finding'] == '0' and row['mask_pixels'] == '0'
            assert not mask.any()
            # no contour: the bottom rows are the radiograph (grey) itself
            bottom = overlay[SIZE - 1]
            assert (bottom[:, 0] == bottom[:, 2]).all()
    assert not (out / 'boxes').exists()


def test_detection_outputs(inputs, untrained_detector, repo_root, tmp_path, cli):
    cfg, ckpt = untrained_detector
    out = tmp_path / 'out'
    proc = cli([sys.executable, repo_root / 'tools/infer.py', cfg, ckpt,
                inputs / 'dcm', '--out', out, '--score-thr', '0.0'])
    assert 'wrote' in proc.stdout and 'cpu' in proc.stdout
    rows = _rows(out / 'summary.csv')
    assert [r['image'] for r in rows] == ['plain', 'img0', 'img1']
    for row in rows:
        doc = json.loads((out / 'boxes' / f"{row['image']}.json").read_text())
        assert (doc['image'], doc['height'], doc['width']) == (row['image'], SIZE, SIZE)
        scores = [b['score'] for b in doc['boxes']]
        assert scores == sorted(scores, reverse=True)
        assert int(row['num_boxes']) == len(scores)
        assert float(row['probability']) == pytest.approx(max(scores, default=0.0), abs=1e-5)
        assert row['has_finding'] == str(int(bool(scores)))
        for b in doc['boxes']:
            assert 0 <= b['x1'] <= b['x2'] <= SIZE and 0 <= b['y1'] <= b['y2'] <= SIZE
        assert cv2.imread(str(out / 'overlays' / f"{row['image']}.png")).shape == (SIZE, SIZE, 3)
    assert not (out / 'masks').exists() and _rows(out / 'errors.csv') == []


def test_detection_threshold_filters_boxes(inputs, untrained_detector, tmp_path):
    cfg, ckpt = untrained_detector
    out = tmp_path / 'out'
    assert infer_to_folder(cfg, str(ckpt), [str(inputs / 'dcm' / 'plain.png')], str(out),
                           score_thr=1.0, device='cpu', overlays=False) == 0
    row, = _rows(out / 'summary.csv')
    doc = json.loads((out / 'boxes' / 'plain.json').read_text())
    assert doc['boxes'] == [] and row['has_finding'] == '0' and row['num_boxes'] == '0'
    assert not (out / 'overlays').exists()


def test_decompression_bomb_listed_in_bounded_memory(inputs, rigged_segmentor, tmp_path):
    """A 390 KB deflated 20000 x 20000 DICOM is refused from its header (errors.csv) while the
    good inputs are processed; Python-level allocations during the run stay small."""
    import tracemalloc

    from mmchest.synthetic import write_deflate_bomb
    cfg, ckpts = rigged_segmentor
    src = tmp_path / 'src'
    write_deflate_bomb(src / 'bomb.dcm', 20000, 20000)
    write_dicom(src / 'ok.dcm', chest_radiograph(SIZE, [7, 3]).image)
    out = tmp_path / 'out'
    tracemalloc.start()
    try:
        rc = infer_to_folder(cfg, str(ckpts['negative']), [str(src)], str(out), device='cpu')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rc == 3
    errors = _rows(out / 'errors.csv')
    assert [r['source'].rsplit('/', 1)[1] for r in errors] == ['bomb.dcm']
    assert 'image too large: 20000 x 20000' in errors[0]['error']
    assert [r['image'] for r in _rows(out / 'summary.csv')] == ['ok']
    assert peak < 64 * 2**20, f'peak traced allocation {peak / 2**20:.0f} MiB'


def test_missing_input_listed_and_run_goes_on(inputs, rigged_segmentor, tmp_path, capsys):
    cfg, ckpts = rigged_segmentor
    out = tmp_path / 'out'
    missing = tmp_path / 'gone' / 'x.dcm'
    rc = infer_to_folder(cfg, str(ckpts['negative']), [str(missing), str(inputs / 'dcm')],
                         str(out), device='cpu', overlays=False)
    assert rc == 3
    text = capsys.readouterr()
    assert f'skipped {missing}: FileNotFoundError: input does not exist' in text.err
    assert '3 image(s), 0 with a finding; 1 input(s) missing or unreadable' in text.out
    assert _rows(out / 'errors.csv') == [
        {'source': str(missing), 'error': 'FileNotFoundError: input does not exist'}]
    assert [r['image'] for r in _rows(out / 'summary.csv')] == ['plain', 'img0', 'img1']
    # only missing inputs: nothing to run, the list is still written
    out2 = tmp_path / 'out2'
    assert infer_to_folder(cfg, str(ckpts['negative']), [str(missing)], str(out2)) == 2
    assert [r['source'] for r in _rows(out2 / 'errors.csv')] == [str(missing)]


def test_unwritable_out_fails_before_the_model_loads(inputs, tmp_path, capsys, monkeypatch):
    loaded = []

    def predictor(*args, **kwargs):
        loaded.append(args)
        raise AssertionError('the model must not be loaded')

    monkeypatch.setattr(infer_folder, 'init_inferencer', predictor)
    a_file = tmp_path / 'file.txt'
    a_file.write_text('x')
    taken = tmp_path / 'taken'
    (taken).mkdir()
    (taken / 'masks').write_text('not a folder')
    # running as root ignores permission bits, so use paths no one can write into
    for out in (a_file, a_file / 'out', taken):
        rc = infer_to_folder('cfg.py', 'ckpt.pth', [str(inputs / 'dcm')], str(out))
        assert rc == 2
        assert f"--out '{out}' is not a writable folder" in capsys.readouterr().err
    if os.geteuid() != 0:
        locked = tmp_path / 'locked'
        locked.mkdir(mode=0o500)
        assert infer_to_folder('cfg.py', 'ckpt.pth', [str(inputs / 'dcm')],
                               str(locked / 'out')) == 2
    assert loaded == []
    assert a_file.read_text() == 'x' and (taken / 'masks').read_text() == 'not a folder'
    assert not [p for p in tmp_path.rglob('*') if p.name.endswith('.tmp')]


def test_identifier_in_file_name_never_names_an_output(rigged_segmentor, tmp_path):
    """dicom_to_png refuses MRN99887766_chest.dcm (its PatientID is in the name); infer
    names its outputs by the SOPInstanceUID, or by a hash of the file when the UID carries
    the identifier too."""
    import hashlib

    from mmchest.io.safe_names import safe_stem
    cfg, ckpts = rigged_segmentor
    src = tmp_path / 'src'
    img = chest_radiograph(SIZE, [7, 5]).image
    write_dicom(src / 'MRN99887766_chest.dcm', img, patient_id='MRN99887766',
                sop_instance_uid='1.2.826.0.1.42')
    write_dicom(src / 'doe_john_chest.dcm', img, patient_name='Doe^John',
                patient_id='55501', sop_instance_uid='1.2.55501.7')  # UID holds the ID
    write_dicom(src / 'chest.dcm', img, patient_id='MRN11223344')
    out = tmp_path / 'out'
    assert infer_to_folder(cfg, str(ckpts['negative']), [str(src)], str(out),
                           device='cpu') == 0
    digest = hashlib.sha256((src / 'doe_john_chest.dcm').read_bytes()).hexdigest()[:16]
    rows = {r['image']: r['source'] for r in _rows(out / 'summary.csv')}
    assert rows == {'chest': str(src / 'chest.dcm'),
                    f'sha256-{digest}': str(src / 'doe_john_chest.dcm'),
                    '1.2.826.0.1.42': str(src / 'MRN99887766_chest.dcm')}
    names = [p.name.lower() for p in out.rglob('*')]
    assert not [n for n in names if 'mrn99887766' in n or 'doe' in n or 'john' in n]
    assert sorted(p.stem for p in (out / 'masks').iterdir()) == sorted(rows)
    # the same rule as dicom_to_png, from the package
    assert safe_stem(src / 'MRN99887766_chest.dcm') == '1.2.826.0.1.42'
    (tmp_path / 'x.png').write_bytes(b'png, no header to compare with')
    assert safe_stem(tmp_path / 'x.png') == 'x'
