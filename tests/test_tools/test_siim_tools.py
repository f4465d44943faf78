"""tools/siim_submission.py and tools/search_thresholds.py on a tiny synthetic SIIM set."""
import csv
import importlib.util
import json

import numpy as np
import pytest
import torch

from mmchest.io.rle import rle_decode
from mmchest.synthetic import write_siim

SIZE = 64


def _tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(name, repo_root / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    from mmchest.seg.inference import load_segmentor
    torch.manual_seed(0)
    model = load_segmentor(str(cfg), None, device='cpu')
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(classes=('background', 'pneumothorax'),
                                              palette=[[0, 0, 0], [255, 0, 0]])}}, ckpt)
    return dict(info=info, cfg=str(cfg), ckpt=str(ckpt), tmp=tmp)


def test_submission_csv(setup, repo_root):
    tool = _tool(repo_root, 'siim_submission')
    out = setup['tmp'] / 'sub.csv'
    test_dir = setup['info']['root'] + '/dicom-images-test'
    assert tool.main([setup['cfg'], setup['ckpt'], test_dir, '--out', str(out),
                      '--device', 'cpu']) == 0
    with open(out) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['ImageId', 'EncodedPixels']
    assert sorted(r[0] for r in rows[1:]) == sorted(setup['info']['test'])
    for _, rle in rows[1:]:
        mask = rle_decode(rle, (SIZE, SIZE))  # '-1' or a valid relative RLE of the image
        assert (rle == '-1') == (not mask.any())


def test_submission_reports_unreadable_dicom(setup, repo_root, tmp_path):
    tool = _tool(repo_root, 'siim_submission')
    bad_dir = tmp_path / 'test'
    bad_dir.mkdir()
    (bad_dir / '1.2.3.dcm').write_bytes(b'not a dicom at all')
    out = tmp_path / 'sub.csv'
    assert tool.main([setup['cfg'], setup['ckpt'], str(bad_dir), '--out', str(out),
                      '--device', 'cpu']) == 3
    assert out.read_text().splitlines()[1] == '1.2.3,-1'


def test_search_thresholds_writes_best_and_plot(setup, repo_root):
    tool = _tool(repo_root, 'search_thresholds')
    out_dir = setup['tmp'] / 'thr'
    assert tool.main([setup['cfg'], setup['ckpt'], '--out-dir', str(out_dir), '--top',
                      '0.3,0.6', '--min-areas', '0', '10', '--bottom', '0.2,0.4',
                      '--device', 'cpu']) == 0
    result = json.loads((out_dir / 'thresholds.json').read_text())
    scores = np.array(result['scores'])
    assert scores.shape == (2, 2, 2)
    assert result['best']['dice'] == pytest.approx(scores.max())
    assert (out_dir / 'thresholds.png').stat().st_size > 1000


def test_search_thresholds_takes_cfg_options(setup, repo_root, capsys):
    """The demo config itself (its data_root does not exist here), pointed at the data with
    --cfg-options as with mim test; tuning reads the 'val' split."""
    tool = _tool(repo_root, 'search_thresholds')
    out_dir = setup['tmp'] / 'thr_cfg_options'
    root = setup['info']['root']
    assert tool.main([str(repo_root / 'configs/demo/unet_siim_synthetic.py'), setup['ckpt'],
                      '--out-dir', str(out_dir), '--top', '0.5', '--min-areas', '0',
                      '--bottom', '0.4', '--device', 'cpu',
                      '--cfg-options', f'val_dataloader.dataset.data_root={root}',
                      'val_dataloader.num_workers=0']) == 0
    result = json.loads((out_dir / 'thresholds.json').read_text())
    assert result['split'] == 'val' and result['num_images'] >= 1
    out = capsys.readouterr().out
    assert f"Tuning on the config's 'val' split ({result['num_images']} images, {root})" in out


def test_submission_takes_cfg_options(setup, repo_root, tmp_path):
    """--cfg-options reaches the model: a min area larger than the image empties every mask."""
    tool = _tool(repo_root, 'siim_submission')
    out = tmp_path / 'sub.csv'
    test_dir = setup['info']['root'] + '/dicom-images-test'
    assert tool.main([setup['cfg'], setup['ckpt'], test_dir, '--out', str(out), '--device',
                      'cpu', '--cfg-options', 'model.test_cfg.triplet.min_area=1000000']) == 0
    rows = out.read_text().splitlines()[1:]
    assert len(rows) == len(setup['info']['test']) and all(r.endswith(',-1') for r in rows)
