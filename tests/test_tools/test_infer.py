"""tools/infer.py with untrained (but rigged) checkpoints on tiny synthetic DICOM/PNG files."""
import csv
import importlib.util
import json
import sys

import cv2
import numpy as np
import pytest
import torch

from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64


def _tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(f'_tool_{name}',
                                                  repo_root / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


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


@pytest.fixture(scope='module')
def seg_models(tmp_path_factory, repo_root):
    """The demo U-Net with its logits forced to +10 (all finding) or -10 (no finding)."""
    from mmchest.seg.inference import load_segmentor
    tmp = tmp_path_factory.mktemp('infer_seg')
    cfg = str(repo_root / 'configs/demo/unet_siim_synthetic.py')
    torch.manual_seed(0)
    model = load_segmentor(cfg, None, device='cpu')
    ckpts = {}
    for name, bias in (('positive', 10.0), ('negative', -10.0)):
        with torch.no_grad():
            model.decode_head.conv_seg.weight.zero_()
            model.decode_head.conv_seg.bias.fill_(bias)
        ckpts[name] = tmp / f'{name}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpts[name])
    return cfg, ckpts


@pytest.fixture(scope='module')
def det_model(tmp_path_factory, repo_root):
    from mmdet.apis import init_detector
    tmp = tmp_path_factory.mktemp('infer_det')
    cfg = str(repo_root / 'configs/demo/mask_rcnn_rsna_synthetic.py')
    torch.manual_seed(0)
    model = init_detector(cfg, None, device='cpu')
    ckpt = tmp / 'det.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return cfg, ckpt


def test_collect_inputs_and_unique_names(inputs, repo_root):
    tool = _tool(repo_root, 'infer')
    files = tool.collect_inputs([str(inputs / 'dcm'), str(inputs / 'dcm' / 'plain.png')])
    # folder contents sorted, the repeated file listed once
    assert [f.split('/dcm/')[1] for f in files] == ['plain.png', 'sub0/img0.dcm',
                                                    'sub1/img1.dcm']
    assert tool.unique_names(['a/x.dcm', 'b/x.png', 'c/x_2.dcm', 'y.dcm', 'd/x.dcm']) == \
        ['x', 'x_2', 'x_2_2', 'y', 'x_3']
    with pytest.raises(FileNotFoundError, match='nope'):
        tool.collect_inputs([str(inputs / 'nope')])


def test_overlays_draw_where_expected(repo_root):
    tool = _tool(repo_root, 'infer')
    img = np.full((32, 32), 100, np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[10:20, 12:22] = 1
    out = tool.mask_overlay(img, mask)
    assert out.shape == (32, 32, 3)
    assert tuple(out[10, 15]) == tool.MASK_COLOR  # on the contour
    assert tuple(out[15, 16]) == (100, 100, 100)  # inside, untouched
    assert tuple(out[2, 30]) == (100, 100, 100)  # outside
    boxes = tool.box_overlay(img, np.array([[5.0, 20.0, 25.0, 30.0]]), np.array([0.7]))
    assert tuple(boxes[30, 15]) == tool.BOX_COLOR  # bottom edge
    assert tuple(boxes[25, 15]) == (100, 100, 100)
    with pytest.raises(ValueError, match='differs'):
        tool.mask_overlay(img, mask[:10])


def test_inference_pipeline_drops_labels(repo_root):
    tool = _tool(repo_root, 'infer')
    steps = tool.inference_pipeline([dict(type='LoadImageFromFile', to_float32=True),
                                     dict(type='LoadExpertMasks'),
                                     dict(type='Resize', scale=(8, 8)),
                                     dict(type='LoadAnnotations'),
                                     dict(type='PackSegInputs')])
    assert steps == [dict(type='LoadDicomImageFromFile', to_float32=True),
                     dict(type='Resize', scale=(8, 8)), dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match='image loader'):
        tool.inference_pipeline([dict(type='Resize', scale=(8, 8))])


@pytest.mark.parametrize('which', ['positive', 'negative'])
def test_segmentation_outputs(inputs, seg_models, repo_root, tmp_path, capsys, which):
    tool = _tool(repo_root, 'infer')
    cfg, ckpts = seg_models
    out = tmp_path / 'out'
    rc = tool.main([cfg, str(ckpts[which]), str(inputs / 'dcm'), str(inputs / 'bad'),
                    '--out', str(out), '--device', 'cpu'])
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


def test_detection_outputs(inputs, det_model, repo_root, tmp_path, cli):
    cfg, ckpt = det_model
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
    assert not (out / 'masks').exists() and not (out / 'errors.csv').exists()


def test_detection_threshold_filters_boxes(inputs, det_model, repo_root, tmp_path):
    tool = _tool(repo_root, 'infer')
    cfg, ckpt = det_model
    out = tmp_path / 'out'
    assert tool.main([cfg, str(ckpt), str(inputs / 'dcm' / 'plain.png'), '--out', str(out),
                      '--score-thr', '1.0', '--device', 'cpu', '--no-overlay']) == 0
    row, = _rows(out / 'summary.csv')
    doc = json.loads((out / 'boxes' / 'plain.json').read_text())
    assert doc['boxes'] == [] and row['has_finding'] == '0' and row['num_boxes'] == '0'
    assert not (out / 'overlays').exists()


def test_decompression_bomb_listed_in_bounded_memory(inputs, seg_models, repo_root, tmp_path):
    """A 390 KB deflated 20000 x 20000 DICOM is refused from its header (errors.csv) while the
    good inputs are processed; Python-level allocations during the run stay small."""
    import tracemalloc

    from mmchest.synthetic import write_deflate_bomb
    tool = _tool(repo_root, 'infer')
    cfg, ckpts = seg_models
    src = tmp_path / 'src'
    write_deflate_bomb(src / 'bomb.dcm', 20000, 20000)
    write_dicom(src / 'ok.dcm', chest_radiograph(SIZE, [7, 3]).image)
    out = tmp_path / 'out'
    tracemalloc.start()
    try:
        rc = tool.main([cfg, str(ckpts['negative']), str(src), '--out', str(out),
                        '--device', 'cpu'])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rc == 3
    errors = _rows(out / 'errors.csv')
    assert [r['source'].rsplit('/', 1)[1] for r in errors] == ['bomb.dcm']
    assert 'image too large: 20000 x 20000' in errors[0]['error']
    assert [r['image'] for r in _rows(out / 'summary.csv')] == ['ok']
    assert peak < 64 * 2**20, f'peak traced allocation {peak / 2**20:.0f} MiB'
    # a larger budget on the command line lets a big (honest) file through
    steps = tool.inference_pipeline([dict(type='LoadDicomImageFromFile')], max_pixels=10)
    assert steps[0]['max_pixels'] == 10
