"""mmchest.apis.submission (SIIM rows) and mmchest.apis.thresholds (SIIM triplet search) on a
tiny synthetic SIIM set; tools/siim_submission.py and tools/search_thresholds.py run as a
user runs them."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmchest.apis import ChestSegInferencer, load_segmentor
from mmchest.apis.submission import siim_submission_rows
from mmchest.apis.thresholds import plot_siim_surface, siim_triplet_search
from mmchest.io.rle import rle_decode
from mmchest.synthetic import write_siim

SIZE = 64


@pytest.fixture(scope='module')
def setup(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp('siim_tools')
    info = write_siim(tmp / 'data', num_train=8, num_test=4, size=SIZE, seed=2)
    cfg = tmp / 'cfg.py'
    cfg.write_text(
        f"_base_ = [{str(repo_root / 'configs/demo/unet_siim_synthetic.py')!r}]\n"
        f"data_root = {info['root']!r}\n"
        "val_dataloader = dict(dataset=dict(data_root=data_root))\n"
        "test_dataloader = val_dataloader\n")
    torch.manual_seed(0)
    model = load_segmentor(str(cfg), None, device='cpu')
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(classes=('background', 'pneumothorax'),
                                              palette=[[0, 0, 0], [255, 0, 0]])}}, ckpt)
    return dict(info=info, cfg=str(cfg), ckpt=str(ckpt), tmp=tmp)


def _run(repo_root, tool, *args):
    return subprocess.run([sys.executable, str(repo_root / 'tools' / f'{tool}.py'),
                           *map(str, args)], cwd=repo_root, capture_output=True, text=True,
                          timeout=900)


def test_submission_rows(setup):
    inferencer = ChestSegInferencer(setup['cfg'], setup['ckpt'], device='cpu')
    rows, failed = siim_submission_rows(inferencer, setup['info']['root'] + '/dicom-images-test')
    assert failed == 0
    assert [r[0] for r in rows] == sorted(setup['info']['test'])
    for _, rle in rows:
        mask = rle_decode(rle, (SIZE, SIZE))  # '-1' or a valid relative RLE of the image
        assert (rle == '-1') == (not mask.any())


def test_submission_reports_unreadable_dicom(setup, repo_root, tmp_path):
    bad_dir = tmp_path / 'test'
    bad_dir.mkdir()
    (bad_dir / '1.2.3.dcm').write_bytes(b'not a dicom at all')
    out = tmp_path / 'sub.csv'
    proc = _run(repo_root, 'siim_submission', setup['cfg'], setup['ckpt'], bad_dir,
                '--out', out, '--device', 'cpu')
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert out.read_text().splitlines() == ['ImageId,EncodedPixels', '1.2.3,-1']
    assert '1 unreadable DICOM(s) written as -1' in proc.stdout


def test_submission_takes_cfg_options(setup, repo_root, tmp_path):
    """--cfg-options reaches the model: a min area larger than the image empties every mask."""
    out = tmp_path / 'sub.csv'
    test_dir = setup['info']['root'] + '/dicom-images-test'
    proc = _run(repo_root, 'siim_submission', setup['cfg'], setup['ckpt'], test_dir, '--out',
                out, '--device', 'cpu', '--cfg-options',
                'model.test_cfg.triplet.min_area=1000000')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['ImageId', 'EncodedPixels']
    assert sorted(r[0] for r in rows[1:]) == sorted(setup['info']['test'])
    assert all(r[1] == '-1' for r in rows[1:])


def test_search_thresholds_writes_best_and_plot(setup, repo_root):
    out_dir = setup['tmp'] / 'thr'
    proc = _run(repo_root, 'search_thresholds', setup['cfg'], setup['ckpt'], '--out-dir',
                out_dir, '--top', '0.3,0.6', '--min-areas', '0', '10', '--bottom', '0.2,0.4',
                '--device', 'cpu')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out_dir / 'thresholds.json').read_text())
    scores = np.array(result['scores'])
    assert scores.shape == (2, 2, 2)
    assert result['best']['dice'] == pytest.approx(scores.max())
    assert (out_dir / 'thresholds.png').stat().st_size > 1000
    assert 'Apply it with: --cfg-options model.test_cfg.triplet.top_score_threshold=' \
        in proc.stdout


def test_search_thresholds_takes_cfg_options(setup, repo_root, capsys, tmp_path):
    """The demo config itself (its data_root does not exist here), pointed at the data with
    cfg_options as with mim test; tuning reads the 'val' split, without the triplet."""
    root = setup['info']['root']
    inferencer = ChestSegInferencer(
        str(repo_root / 'configs/demo/unet_siim_synthetic.py'), setup['ckpt'], device='cpu',
        triplet=False, cfg_options={'val_dataloader.dataset.data_root': root,
                                    'val_dataloader.num_workers': 0})
    assert 'triplet' not in inferencer.cfg.model.test_cfg
    found = siim_triplet_search(inferencer, 'val', [0.5], [0], [0.4])
    assert found['num_images'] >= 1 and found['scores'].shape == (1, 1, 1)
    assert found['best'] == (0.5, 0, 0.4)
    out = capsys.readouterr().out
    assert f"Tuning on the config's 'val' split ({found['num_images']} images, {root})" in out
    plot_siim_surface(found['scores'], [0.5], [0], [0.4], found['best'],
                      str(tmp_path / 'plot.png'))
    assert (tmp_path / 'plot.png').stat().st_size > 1000
