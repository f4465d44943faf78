"""init_inferencer and the seg/det inferencers: scope dispatch, the mim-test pipeline after
cfg_options, plain-dict results, dataset mode with labels (tiny synthetic data, untrained)."""
import numpy as np
import pytest
import torch

from mmchest.apis import (INFERENCERS, ChestDetInferencer, ChestSegInferencer, Prediction,
                          init_inferencer, register_inferencer)
from mmchest.synthetic import chest_radiograph, write_dicom

SIZE = 64
SIIM = 'configs/demo/unet_siim_synthetic.py'
RSNA = 'configs/demo/mask_rcnn_rsna_synthetic.py'


@pytest.fixture(scope='module')
def dicom(tmp_path_factory):
    path = tmp_path_factory.mktemp('apis') / 'img.dcm'
    write_dicom(path, chest_radiograph(SIZE, [5, 1]).image)
    return str(path)


@pytest.fixture(scope='module')
def seg(repo_root):
    torch.manual_seed(0)
    return init_inferencer(str(repo_root / SIIM), None, device='cpu')


def _packed_shape(inferencer, path):
    return tuple(inferencer.pipeline(dict(img_path=path, img_id=0, seg_fields=[]))
                 ['inputs'].shape[-2:])


def test_init_inferencer_picks_the_class_by_scope(seg, repo_root, tmp_path):
    assert type(seg) is ChestSegInferencer and seg.task == 'seg' and seg.device == 'cpu'
    det = init_inferencer(str(repo_root / RSNA), None, device='cpu', score_thr=0.3)
    assert type(det) is ChestDetInferencer and det.task == 'det' and det.score_thr == 0.3
    other = tmp_path / 'other.py'
    other.write_text("default_scope = 'mmocr'\n")
    with pytest.raises(ValueError, match="default_scope must be one of .*got 'mmocr'"):
        init_inferencer(str(other))
    with pytest.raises(ValueError, match="needs default_scope 'mmdet'"):
        ChestDetInferencer(str(repo_root / SIIM))
    # the extension point: one entry serves a new scope
    register_inferencer('mmocr', 'mmchest.apis.seg_inferencer:ChestSegInferencer')
    try:
        with pytest.raises(ValueError, match="needs default_scope 'mmseg', got 'mmocr'"):
            init_inferencer(str(other))
    finally:
        del INFERENCERS['mmocr']


def test_pipeline_is_the_test_dataloaders_after_cfg_options(seg, dicom, repo_root):
    assert _packed_shape(seg, dicom) == (128, 128)  # the config's Resize
    resize = 'test_dataloader.dataset.pipeline.1.scale'
    small = init_inferencer(str(repo_root / SIIM), None, device='cpu',
                            cfg_options={resize: (32, 32)})
    assert _packed_shape(small, dicom) == (32, 32)  # mim test would see 32 x 32 too
    pred = small.predict_file(dicom)
    assert pred.mask.shape == pred.probability_map.shape == (SIZE, SIZE)  # original size
    # a bare test_pipeline override does not reach the test dataloader (nor mim test)
    ignored = init_inferencer(str(repo_root / SIIM), None, device='cpu',
                              cfg_options={'test_pipeline.1.scale': (32, 32)})
    assert _packed_shape(ignored, dicom) == (128, 128)


def test_call_returns_plain_dicts(seg, dicom, repo_root):
    result = seg([dicom, dicom], batch_size=2, return_vis=True)
    assert sorted(result) == ['predictions', 'visualization']
    (first, second), vis = result['predictions'], result['visualization']
    assert type(first) is dict and sorted(first) == ['has_finding', 'mask', 'probability',
                                                    'probability_map', 'source']
    assert first['source'] == dicom and type(first['probability']) is float
    assert type(first['has_finding']) is bool
    assert first['mask'].dtype == np.uint8 and first['mask'].shape == (SIZE, SIZE)
    assert set(np.unique(first['mask'])) <= {0, 1}
    assert first['probability'] == pytest.approx(float(first['probability_map'].max()))
    np.testing.assert_array_equal(first['mask'], second['mask'])  # batched == same result
    assert len(vis) == 2 and vis[0].shape == (SIZE, SIZE, 3) and vis[0].dtype == np.uint8
    assert seg(dicom)['visualization'] == []
    pred = seg(dicom, return_datasamples=True)['predictions'][0]
    assert isinstance(pred, Prediction) and pred.image.shape == (SIZE, SIZE, 3)

    det = init_inferencer(str(repo_root / RSNA), None, device='cpu', score_thr=0.0)
    (doc,) = det(dicom)['predictions']
    assert sorted(doc) == ['boxes', 'has_finding', 'probability', 'scores', 'source']
    assert type(doc['boxes']) is list and all(len(b) == 4 for b in doc['boxes'])
    assert doc['scores'] == sorted(doc['scores'], reverse=True)
    assert all(type(s) is float for s in doc['scores'])
    pred = det.predict_file(dicom)
    assert len(pred.all_boxes) >= len(pred.boxes) and (pred.scores > 0.0).all()
    assert pred.probability == pytest.approx(max(doc['scores'], default=0.0))


def test_predict_dataset_yields_labels(tmp_path, repo_root):
    from mmchest.synthetic import write_siim
    info = write_siim(tmp_path / 'data', num_train=6, num_test=2, size=SIZE, seed=3)
    inferencer = init_inferencer(str(repo_root / SIIM), None, device='cpu', cfg_options={
        'val_dataloader.dataset.data_root': info['root']})
    dataset = inferencer.build_dataset('val')
    items = list(inferencer.predict_dataset('val', indices=[0, 1], batch_size=2))
    assert len(items) == 2
    for idx, (data_info, pred) in enumerate(items):
        assert data_info['img_path'] == dataset.get_data_info(idx)['img_path'] == pred.source
        assert pred.gt_mask is not None and pred.gt_mask.shape == pred.mask.shape
        assert pred.image.shape[:2] == pred.mask.shape
