"""ONNX export of the segmentation configs: metadata, dynamic axes, raw-output parity with
mmseg, refusals (detectors, unsupported settings) and the tools/export.py command line."""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mmchest.deploy.onnx_export import (DEFAULT_OPSET, METADATA_KEY, OnnxExportError, export_onnx,
                                        read_metadata)

REPO = Path(__file__).resolve().parents[2]


def _mmseg_probability(config, checkpoint, images):
    """What `mim test` computes before resizing back: the data preprocessor, then
    EncoderDecoder.encode_decode, then the sigmoid (one-channel head)."""
    from mmchest.apis.seg_inferencer import load_segmentor
    model = load_segmentor(config, checkpoint, device='cpu')
    from mmseg.structures import SegDataSample
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(img.transpose(2, 0, 1).copy()) for img in images],
             data_samples=[SegDataSample() for _ in images]), False)
    metas = [dict(img_shape=images[0].shape[:2], ori_shape=images[0].shape[:2])] * len(images)
    with torch.no_grad():
        return model.encode_decode(data['inputs'], metas).sigmoid().numpy()


def _images(n, h, w, seed):
    return [np.random.RandomState(seed + i).randint(0, 256, (h, w, 3), dtype=np.uint8)
            for i in range(n)]


def test_metadata_describes_the_preprocessing(siim_export):
    meta = read_metadata(siim_export['onnx'])
    assert meta['task'] == 'segmentation' and meta['format_version'] == 1
    assert meta['config'].endswith('configs/demo/unet_siim_synthetic.py')
    assert meta['checkpoint'] == 'siim.pth'
    assert meta['checkpoint_sha256'] == hashlib.sha256(
        Path(siim_export['checkpoint']).read_bytes()).hexdigest()
    assert meta['opset'] == DEFAULT_OPSET
    # the DICOM loader with its defaults spelled out (display normalisation 'auto')
    assert meta['loader']['type'] == 'LoadDicomImageFromFile'
    assert meta['loader']['norm'] == 'auto' and meta['loader']['color_type'] == 'color'
    assert meta['resize']['scale'] == [128, 128] and meta['resize']['keep_ratio'] is True
    assert meta['resize']['interpolation'] == 'bilinear' and 'int(w * factor + 0.5)' in \
        meta['resize']['rule']
    assert meta['normalization']['bgr_to_rgb'] is True
    assert np.allclose(meta['normalization']['mean'], [123.675, 116.28, 103.53])
    assert np.allclose(meta['normalization']['std'], [58.395, 57.12, 57.375])
    assert meta['input']['channel_order'] == 'BGR' and meta['pad'] is None
    assert meta['triplet'] == dict(top_score_threshold=0.4, min_area=10, bottom_threshold=0.3)
    assert meta['head'] == dict(channels=1, activation='sigmoid', threshold=0.5)
    assert meta['classes'] == ['background', 'finding']
    assert siim_export['meta']['max_abs_diff'] <= 1e-4


def test_graph_has_dynamic_batch_height_width(siim_export):
    model = onnx.load(siim_export['onnx'])
    assert [op.version for op in model.opset_import if op.domain in ('', 'ai.onnx')] == \
        [DEFAULT_OPSET]
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] and dims[2] and dims[3] and not dims[1]
    assert [o.name for o in model.graph.output] == ['probability', 'logit']
    assert any(p.key == METADATA_KEY for p in model.metadata_props)


@pytest.mark.parametrize('batch,h,w', [(1, 128, 128), (3, 128, 128), (3, 85, 128),
                                       (1, 128, 97)])
def test_raw_output_matches_mmseg(siim_export, batch, h, w):
    images = _images(batch, h, w, seed=batch * 7 + w)
    expected = _mmseg_probability(siim_export['config'], siim_export['checkpoint'], images)
    session = ort.InferenceSession(siim_export['onnx'], providers=['CPUExecutionProvider'])
    x = np.stack([img.transpose(2, 0, 1) for img in images]).astype(np.float32)
    prob, logit = session.run(['probability', 'logit'], {'image': x})
    assert prob.shape == expected.shape == (batch, 1, h, w)
    assert np.abs(prob - expected).max() < 1e-4
    assert np.abs(1 / (1 + np.exp(-logit)) - prob).max() < 1e-6
    assert 0.05 < prob.std()  # the random head is not a constant map: the test can fail


@pytest.mark.parametrize('batch,h,w', [(1, 128, 96), (3, 96, 160)])
def test_multi_expert_unet_backbone_keeps_dynamic_size(multi_expert_export, batch, h, w):
    """mmseg's UNet backbone upsamples with int(size * 2.0), which the tracer would freeze
    at the example size; the export keeps it symbolic."""
    meta = multi_expert_export['meta']
    assert meta['pad']['size_divisor'] == 16 and meta['pad']['pad_val'] == 0
    assert np.allclose(meta['pad']['input_value'], [103.53, 116.28, 123.675])  # BGR means
    assert meta['triplet'] is None
    images = _images(batch, h, w, seed=3)
    expected = _mmseg_probability(multi_expert_export['config'],
                                  multi_expert_export['checkpoint'], images)
    session = ort.InferenceSession(multi_expert_export['onnx'],
                                   providers=['CPUExecutionProvider'])
    x = np.stack([img.transpose(2, 0, 1) for img in images]).astype(np.float32)
    prob = session.run(['probability'], {'image': x})[0]
    assert np.abs(prob - expected).max() < 1e-4


def test_detector_is_refused_with_the_reason(tmp_path):
    with pytest.raises(OnnxExportError) as err:
        export_onnx(str(REPO / 'configs/demo/mask_rcnn_rsna_synthetic.py'), None,
                    str(tmp_path / 'det.onnx'))
    message = str(err.value)
    assert 'mmdet.core.export' in message and 'NonMaxSuppression' in message
    assert 'RoIAlign' in message and 'MMDeploy' in message
    assert not (tmp_path / 'det.onnx').exists()


def test_unsupported_settings_are_refused(tmp_path, siim_export):
    config = siim_export['config']
    with pytest.raises(OnnxExportError, match="only 'whole'"):
        export_onnx(config, siim_export['checkpoint'], str(tmp_path / 'a.onnx'),
                    cfg_options={'model.test_cfg.mode': 'slide'})
    pipeline = [dict(type='LoadDicomImageFromFile'),
                dict(type='Resize', scale=(128, 128), keep_ratio=True),
                dict(type='PhotoMetricDistortion'), dict(type='PackSegInputs')]
    with pytest.raises(OnnxExportError, match=r'step 2 \(PhotoMetricDistortion\)'):
        export_onnx(config, siim_export['checkpoint'], str(tmp_path / 'b.onnx'),
                    cfg_options={'test_dataloader.dataset.pipeline': pipeline})


def _tool(args):
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'export.py'), *map(str, args)],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=600)


def test_export_tool(tmp_path, siim_export):
    out = tmp_path / 'cli' / 'model.onnx'
    proc = _tool([siim_export['config'], siim_export['checkpoint'], '--format', 'onnx',
                  '--out', out, '--cfg-options', 'model.test_cfg.triplet.min_area=3'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'wrote {out}' in proc.stdout and 'max |diff|' in proc.stdout
    meta = read_metadata(out)
    assert meta['triplet']['min_area'] == 3
    assert meta['cfg_options'] == {'model.test_cfg.triplet.min_area': 3}

    det = _tool([REPO / 'configs/demo/mask_rcnn_rsna_synthetic.py', siim_export['checkpoint'],
                 '--out', tmp_path / 'det.onnx'])
    assert det.returncode == 2
    assert 'export failed' in det.stderr and 'mmdet.core.export' in det.stderr
    missing = _tool([siim_export['config'], tmp_path / 'nope.pth'])
    assert missing.returncode == 2 and 'checkpoint not found' in missing.stderr
