"""mmchest.apis.dicom_output and ``infer --format dicom``: SEG/SR of untrained (segmentation:
rigged) models on synthetic DICOMs, read back with highdicom/pydicom, checked by dciodvfy."""
import csv
import subprocess
import sys

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest
import torch

from mmchest.apis import init_inferencer
from mmchest.apis.dicom_output import DicomOutput, finding_name
from mmchest.apis.infer_folder import infer_to_folder
from mmchest.io.dicom_derived import DerivedObjectError, dciodvfy, sha256_file
from mmchest.io.dicom_seg import read_segmentation
from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp('dicom_output_inputs')
    for i in range(2):
        write_dicom(root / f'img{i}.dcm', chest_radiograph(SIZE, [11, i]).image)
    cv2.imwrite(str(root / 'plain.png'), chest_radiograph(SIZE, [11, 9]).image)
    return root


@pytest.mark.needs_dciodvfy
@pytest.mark.parametrize('seg_type', ['binary', 'fractional'])
def test_segmentation_to_seg(inputs, rigged_segmentor, tmp_path, seg_type):
    cfg, ckpts = rigged_segmentor
    ckpt = str(ckpts['positive'])
    inferencer = init_inferencer(cfg, ckpt, device='cpu')
    output = DicomOutput(inferencer, cfg, ckpt, seg_type=seg_type)
    assert output.finding == 'pneumothorax' and output.modality == 'SEG'
    assert output.algorithm.checkpoint_sha256 == sha256_file(ckpt)
    pred = inferencer.predict_file(inputs / 'img0.dcm')
    assert pred.mask.all()  # rigged
    out = tmp_path / 'seg.dcm'
    output.write(pred, out)
    assert dciodvfy(out)[0] == []
    src = pydicom.dcmread(inputs / 'img0.dcm')
    seg = read_segmentation(out)
    assert seg.SegmentationType == seg_type.upper()
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[src.SOPInstanceUID], segment_numbers=[1])[0, :, :, 0]
    expected = pred.mask if seg_type == 'binary' else pred.probability_map
    np.testing.assert_allclose(pixels, expected, atol=0.5 / 255 + 1e-6)
    algo = seg.SegmentSequence[0].SegmentationAlgorithmIdentificationSequence[0]
    assert f'checkpoint_sha256={sha256_file(ckpt)}' in algo.AlgorithmParameters


@pytest.mark.needs_dciodvfy
def test_detection_to_sr(inputs, repo_root, tmp_path):
    cfg = str(repo_root / 'configs/demo/mask_rcnn_rsna_synthetic.py')
    torch.manual_seed(0)
    inferencer = init_inferencer(cfg, None, device='cpu', score_thr=0.0)
    output = DicomOutput(inferencer, cfg, None)
    assert finding_name(inferencer) == 'pneumonia'  # not mmdet's COCO default
    assert output.algorithm.parameters['score_thr'] == '0'
    pred = inferencer.predict_file(inputs / 'img1.dcm')
    assert len(pred.boxes) > 0
    out = tmp_path / 'sr.dcm'
    output.write(pred, out)
    assert dciodvfy(out)[0] == []
    sr = hd.sr.srread(out)
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == len(pred.boxes)
    src_uid = pydicom.dcmread(inputs / 'img1.dcm').SOPInstanceUID
    for group, box, score in zip(groups, pred.boxes, pred.scores):
        np.testing.assert_allclose(group.roi.value[0], np.clip(box[:2], 0, SIZE), atol=1e-3)
        assert group.get_measurements()[0].value == pytest.approx(float(score), abs=1e-5)
        assert group.roi.ContentSequence[0].ReferencedSOPSequence[0] \
            .ReferencedSOPInstanceUID == src_uid
    with pytest.raises(DerivedObjectError, match='not a DICOM file'):
        output.build(inferencer.predict_file(inputs / 'plain.png'))


@pytest.mark.needs_dciodvfy
def test_infer_to_folder_dicom(inputs, rigged_segmentor, tmp_path, capsys):
    cfg, ckpts = rigged_segmentor
    ckpt = str(ckpts['positive'])
    out = tmp_path / 'out'
    rc = infer_to_folder(cfg, ckpt, [str(inputs)], str(out), device='cpu',
                         formats=('dicom', ), overlays=False)
    assert rc == 3  # the PNG has no DICOM output
    with open(out / 'errors.csv') as f:
        errors = list(csv.DictReader(f))
    assert [e['source'].rsplit('/', 1)[1] for e in errors] == ['plain.png']
    assert 'not a DICOM file' in errors[0]['error']
    assert sorted(p.name for p in (out / 'dicom').iterdir()) == ['img0.dcm', 'img1.dcm']
    assert not (out / 'masks').exists() or not any((out / 'masks').iterdir())
    for name in ('img0', 'img1'):
        assert dciodvfy(out / 'dicom' / f'{name}.dcm')[0] == []
        seg = pydicom.dcmread(out / 'dicom' / f'{name}.dcm')
        src = pydicom.dcmread(inputs / f'{name}.dcm')
        assert seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0] \
            .ReferencedSOPInstanceUID == src.SOPInstanceUID


@pytest.mark.needs_dciodvfy
def test_infer_tool_format_dicom(inputs, untrained_detector, repo_root, tmp_path):
    """tools/infer.py --format dicom on a detector, as a user runs it (exit 3: the PNG)."""
    cfg, ckpt = untrained_detector
    out = tmp_path / 'det'
    cmd = [sys.executable, str(repo_root / 'tools/infer.py'), cfg, str(ckpt),
           str(inputs), '--out', str(out), '--device', 'cpu', '--format', 'native',
           '--format', 'dicom', '--score-thr', '0', '--no-overlay']
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=repo_root, timeout=900)
    assert proc.returncode == 3, proc.stdout[-3000:]
    assert sorted(p.name for p in (out / 'dicom').iterdir()) == ['img0.dcm', 'img1.dcm']
    assert sorted(p.name for p in (out / 'boxes').iterdir()) == [
        'img0.json', 'img1.json', 'plain.json']
    for name in ('img0', 'img1'):
        path = out / 'dicom' / f'{name}.dcm'
        assert dciodvfy(path)[0] == []
        sr = pydicom.dcmread(path)
        assert sr.Modality == 'SR'
        ref = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0] \
            .ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        assert ref == pydicom.dcmread(inputs / f'{name}.dcm').SOPInstanceUID
    with open(out / 'errors.csv') as f:
        assert 'DICOM output: not a DICOM file' in f.read()
