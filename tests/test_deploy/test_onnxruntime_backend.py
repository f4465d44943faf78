"""The onnxruntime inferencer gives the PyTorch inferencer's predictions (DICOM and PNG,
square and not, triplet thresholds and padding configs), batches, and runs without
mmcv/mmseg/mmdet."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmchest.deploy.onnxruntime_backend import OnnxSegInferencer
from mmchest.synthetic import chest_radiograph, write_dicom

REPO = Path(__file__).resolve().parents[2]


def _inputs(folder: Path):
    """DICOMs (8-bit JPEG, 12-bit MONOCHROME1 with a modality LUT), several sizes, a PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, (h, w) in enumerate([(256, 256), (200, 300), (301, 170), (97, 97)]):
        image = cv2.resize(chest_radiograph(256, [11, i], lesion='pneumothorax').image, (w, h))
        path = folder / f'img{i}.dcm'
        write_dicom(path, image, bits_stored=12 if i == 2 else 8, compressed=i != 2,
                    photometric='MONOCHROME1' if i == 2 else 'MONOCHROME2',
                    rescale_slope=1.0 if i == 2 else None,
                    rescale_intercept=-1024.0 if i == 2 else None)
        files.append(path)
    png = folder / 'img4.png'
    cv2.imwrite(str(png), cv2.resize(chest_radiograph(256, 12).image, (180, 240)))
    return files + [png]


def _near(prob, thresholds, eps=1e-4):
    """Pixels whose probability is within eps of a threshold (either side may win)."""
    near = np.zeros(prob.shape, bool)
    for t in thresholds:
        near |= np.abs(prob - t) <= eps
    return near


def _assert_same(pt, ox, thresholds):
    assert pt.source == ox.source
    assert np.array_equal(pt.image, ox.image)
    assert pt.probability_map.shape == ox.probability_map.shape == pt.image.shape[:2]
    assert ox.probability_map.dtype == np.float32 and ox.mask.dtype == np.uint8
    assert np.abs(pt.probability_map - ox.probability_map).max() < 1e-4
    assert abs(pt.probability - ox.probability) < 1e-4
    differ = pt.mask != ox.mask
    assert not (differ & ~_near(pt.probability_map, thresholds)).any()
    assert pt.has_finding == ox.has_finding


def test_end_to_end_parity_with_pytorch(tmp_path, siim_export):
    from mmchest.apis import init_inferencer
    files = _inputs(tmp_path / 'in')
    pytorch = init_inferencer(siim_export['config'], siim_export['checkpoint'], device='cpu')
    onnx = OnnxSegInferencer(siim_export['onnx'])
    triplet = siim_export['meta']['triplet']
    masks = []
    for path in files:
        pt, ox = pytorch.predict_file(path), onnx.predict_file(path)
        _assert_same(pt, ox, [triplet['top_score_threshold'], triplet['bottom_threshold']])
        masks.append(ox.mask.mean())
    assert 0 < max(masks) < 1  # non-trivial masks: a thresholding slip would show


def test_triplet_cfg_options_and_threshold(tmp_path, siim_export):
    from mmchest.apis import init_inferencer
    files = _inputs(tmp_path / 'in')[:2]
    options = {'model.test_cfg.triplet.top_score_threshold': 0.6,
               'model.test_cfg.triplet.min_area': 50,
               'model.test_cfg.triplet.bottom_threshold': 0.55}
    pytorch = init_inferencer(siim_export['config'], siim_export['checkpoint'], device='cpu',
                              cfg_options=options)
    onnx = OnnxSegInferencer(siim_export['onnx'], cfg_options=options)
    assert onnx.triplet == dict(top_score_threshold=0.6, min_area=50, bottom_threshold=0.55)
    for path in files:
        _assert_same(pytorch.predict_file(path), onnx.predict_file(path), [0.6, 0.55])
    # without the triplet: the head's threshold (0.5), as mmseg's EncoderDecoder
    plain_pt = init_inferencer(siim_export['config'], siim_export['checkpoint'],
                               device='cpu', triplet=False)
    plain_ox = OnnxSegInferencer(siim_export['onnx'], triplet=False)
    for path in files:
        _assert_same(plain_pt.predict_file(path), plain_ox.predict_file(path), [0.5])
    with pytest.raises(ValueError, match='only takes model.test_cfg.triplet'):
        OnnxSegInferencer(siim_export['onnx'], cfg_options={'model.decode_head.threshold': 0.2})


def test_padding_config_parity(tmp_path, multi_expert_export):
    """Multi-expert demo: mmseg UNet backbone, test-time padding to a multiple of 16."""
    from mmchest.apis import init_inferencer
    files = _inputs(tmp_path / 'in')
    pytorch = init_inferencer(multi_expert_export['config'], multi_expert_export['checkpoint'],
                              device='cpu')
    onnx = OnnxSegInferencer(multi_expert_export['onnx'])
    for path in files:
        _assert_same(pytorch.predict_file(path), onnx.predict_file(path), [0.5])


def test_batches_and_call(tmp_path, siim_export):
    folder = tmp_path / 'same'
    folder.mkdir()
    for i in range(3):  # same size: one session run of batch 3
        write_dicom(folder / f'{i}.dcm', chest_radiograph(128, [5, i]).image)
    onnx = OnnxSegInferencer(siim_export['onnx'])
    files = sorted(folder.glob('*.dcm'))
    single = [onnx.predict_file(f) for f in files]
    calls = []
    run = onnx.run
    onnx.run = lambda images: calls.append(images.shape) or run(images)
    batched = list(onnx.predict_files(files, batch_size=3))
    assert calls == [(3, 3, 128, 128)]
    for a, b in zip(single, batched):
        assert np.abs(a.probability_map - b.probability_map).max() < 1e-5
    result = onnx(str(folder), batch_size=2, return_vis=True)
    assert [p['source'] for p in result['predictions']] == [str(f) for f in files]
    assert set(result['predictions'][0]) >= {'source', 'probability', 'has_finding', 'mask',
                                             'probability_map'}
    assert [v.shape for v in result['visualization']] == [(128, 128, 3)] * 3


def test_errors(tmp_path, siim_export):
    from mmchest.io.dicom import DicomReadError
    onnx = OnnxSegInferencer(siim_export['onnx'])
    bad = tmp_path / 'bad.dcm'
    bad.write_bytes(b'\0' * 200)
    with pytest.raises(DicomReadError, match='bad.dcm'):
        onnx.predict_file(bad)
    with pytest.raises(FileNotFoundError, match='nope.onnx'):
        OnnxSegInferencer(tmp_path / 'nope.onnx')
    # an ONNX file that was not written by tools/export.py
    import onnx as onnx_lib
    model = onnx_lib.load(siim_export['onnx'])
    del model.metadata_props[:]
    plain = tmp_path / 'plain.onnx'
    onnx_lib.save(model, str(plain))
    with pytest.raises(ValueError, match='no .mmchest. metadata'):
        OnnxSegInferencer(plain)


_NO_HOSTS = """
import json, sys
sys.modules['mmcv'] = sys.modules['mmseg'] = sys.modules['mmdet'] = None
from mmchest.deploy.onnxruntime_backend import OnnxSegInferencer
pred = OnnxSegInferencer(sys.argv[1]).predict_file(sys.argv[2])
loaded = sorted(m for m in ('mmcv', 'mmseg', 'mmdet') if sys.modules.get(m) is not None)
print(json.dumps(dict(probability=pred.probability, mask=int(pred.mask.sum()),
                      shape=list(pred.probability_map.shape), loaded=loaded)))
"""


def test_runs_without_mmcv_mmseg_mmdet(tmp_path, siim_export):
    path = _inputs(tmp_path / 'in')[1]
    proc = subprocess.run([sys.executable, '-c', _NO_HOSTS, siim_export['onnx'], str(path)],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = OnnxSegInferencer(siim_export['onnx']).predict_file(path)
    assert out['loaded'] == []
    assert out['shape'] == [200, 300]
    assert out['probability'] == pytest.approx(expected.probability, abs=1e-6)
    assert out['mask'] == int(expected.mask.sum())
