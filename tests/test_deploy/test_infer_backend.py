"""`--backend onnxruntime` of the inference API and tools/infer.py: same outputs as PyTorch."""
import csv
import io
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmchest.synthetic import chest_radiograph, write_dicom

REPO = Path(__file__).resolve().parents[2]


def _dicoms(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate([(256, 256), (200, 300), (160, 128)]):
        image = cv2.resize(chest_radiograph(256, [21, i], lesion='pneumothorax').image, (w, h))
        write_dicom(folder / f'case{i}.dcm', image)
    return folder


def _summary(out: Path):
    with open(out / 'summary.csv') as f:
        return list(csv.DictReader(f))


def test_init_inferencer_backend(siim_export):
    from mmchest.apis import init_inferencer
    from mmchest.deploy.onnxruntime_backend import OnnxSegInferencer
    inf = init_inferencer(siim_export['config'], siim_export['onnx'], backend='onnxruntime')
    assert isinstance(inf, OnnxSegInferencer) and inf.task == 'seg'
    assert inf.cfg.filename == siim_export['config']  # the real config, for the tools
    with pytest.raises(ValueError, match='exported from unet_siim_synthetic.py, not'):
        init_inferencer(str(REPO / 'configs/unet_siim.py'), siim_export['onnx'],
                        backend='onnxruntime')
    with pytest.raises(ValueError, match='.onnx from tools/export.py'):
        init_inferencer(siim_export['config'], siim_export['checkpoint'],
                        backend='onnxruntime')
    with pytest.raises(ValueError, match="backend must be 'pytorch' or 'onnxruntime'"):
        init_inferencer(siim_export['config'], siim_export['checkpoint'], backend='tensorrt')


def test_infer_to_folder_same_outputs(tmp_path, siim_export):
    from mmchest.apis.infer_folder import infer_to_folder
    inputs = _dicoms(tmp_path / 'in')
    runs = {}
    for backend, model in (('pytorch', siim_export['checkpoint']),
                           ('onnxruntime', siim_export['onnx'])):
        out = tmp_path / backend
        status = infer_to_folder(siim_export['config'], model, [str(inputs)], str(out),
                                 device='cpu', backend=backend, stdout=io.StringIO(),
                                 stderr=io.StringIO())
        assert status == 0
        runs[backend] = out
    a, b = _summary(runs['pytorch']), _summary(runs['onnxruntime'])
    assert [r['image'] for r in a] == [r['image'] for r in b] == ['case0', 'case1', 'case2']
    for ra, rb in zip(a, b):
        assert abs(float(ra['probability']) - float(rb['probability'])) < 1e-4
        assert ra['has_finding'] == rb['has_finding']
        assert abs(int(ra['mask_pixels']) - int(rb['mask_pixels'])) <= 2
    assert any(0 < int(r['mask_pixels']) for r in b)
    for name in ('case0', 'case1', 'case2'):
        ma = cv2.imread(str(runs['pytorch'] / 'masks' / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        mb = cv2.imread(str(runs['onnxruntime'] / 'masks' / f'{name}.png'),
                        cv2.IMREAD_UNCHANGED)
        assert ma.shape == mb.shape and np.count_nonzero(ma != mb) <= 2


def test_infer_tool_backend_onnxruntime(tmp_path, siim_export):
    """tools/infer.py as users run it, with a DICOM SEG next to the masks."""
    inputs = _dicoms(tmp_path / 'in')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'infer.py'), siim_export['config'],
         siim_export['onnx'], str(inputs), '--out', str(out), '--backend', 'onnxruntime',
         '--format', 'native', '--format', 'dicom',
         '--cfg-options', 'model.test_cfg.triplet.min_area=5'],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'seg model on cpu' in proc.stderr
    assert len(_summary(out)) == 3 and len(list((out / 'masks').glob('*.png'))) == 3
    import pydicom
    seg = pydicom.dcmread(out / 'dicom' / 'case1.dcm')
    assert seg.Modality == 'SEG' and (seg.Rows, seg.Columns) == (200, 300)
    bad = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'infer.py'), siim_export['config'],
         siim_export['onnx'], str(inputs), '--out', str(tmp_path / 'bad'), '--backend',
         'onnxruntime', '--cfg-options', 'model.decode_head.threshold=0.1'],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert bad.returncode == 1 and 'only takes model.test_cfg.triplet' in bad.stderr
