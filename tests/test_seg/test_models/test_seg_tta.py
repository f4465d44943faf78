"""TripletSegTTAModel: the merged probability is the mean of the views (flipped back), and
the model's own post-processing (triplet thresholding, else the head's threshold) follows."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample
from torch import nn

import mmchest  # noqa: F401
from mmchest import synthetic
from mmchest.postprocessing.triplet_threshold import triplet_threshold

REPO = Path(__file__).resolve().parents[3]
TRIPLET = dict(top_score_threshold=0.8, min_area=3, bottom_threshold=0.5)


class _Stub(nn.Module):
    """What TripletSegTTAModel reads of the wrapped segmentor."""

    def __init__(self, triplet=None, threshold=0.5):
        super().__init__()
        self.test_cfg = dict(mode='whole', **({'triplet': triplet} if triplet else {}))
        self.decode_head = nn.Module()
        self.decode_head.threshold = threshold

    def test_step(self, data):
        raise AssertionError('not called here')


def _view(seg_logits, **meta):
    sample = SegDataSample(metainfo=dict(img_path='a.dcm', ori_shape=seg_logits.shape[1:],
                                         **meta))
    sample.seg_logits = PixelData(data=seg_logits)
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, *seg_logits.shape[1:], dtype=torch.long))
    return sample


def test_one_channel_views_are_averaged_then_triplet_thresholded():
    # mmseg stores sigmoid probabilities in seg_logits for a one-channel head
    a = torch.full((1, 6, 6), 0.1)
    b = torch.full((1, 6, 6), 0.1)
    a[0, :2, :2] = 0.95            # 4 pixels confident in view a ...
    b[0, :2, :2] = 0.75            # ... mean 0.85 > 0.8: kept (min_area 3)
    a[0, 4:, 4:] = 0.9             # a blob only one view sees: mean 0.5, not > bottom 0.5
    b[0, 2, 0] = 0.95              # mean 0.525: joins the mask (bottom threshold)
    tta = MODELS.build(dict(type='TripletSegTTAModel', module=_Stub(TRIPLET)))
    merged, = tta.merge_preds([[_view(a, flip=False), _view(b, flip=True,
                                                          flip_direction='horizontal')]])
    mean = (a + b) / 2
    torch.testing.assert_close(merged.seg_logits.data, mean)
    expected = triplet_threshold(mean[0].numpy(), **TRIPLET)
    np.testing.assert_array_equal(merged.pred_sem_seg.data[0].numpy(), expected)
    assert expected.sum() == 5 and merged.pred_sem_seg.data.dtype == torch.int64
    assert merged.img_path == 'a.dcm' and merged.flip is False
    assert 'gt_sem_seg' in merged

    # a high min_area empties the image although pixels pass the head's threshold
    strict = dict(TRIPLET, min_area=5)
    tta = MODELS.build(dict(type='TripletSegTTAModel', module=_Stub(strict)))
    merged, = tta.merge_preds([[_view(a), _view(b)]])
    assert merged.pred_sem_seg.data.sum() == 0
    # without a triplet: the head's threshold on the mean
    tta = MODELS.build(dict(type='TripletSegTTAModel', module=_Stub(None, threshold=0.5)))
    merged, = tta.merge_preds([[_view(a), _view(b)]])
    torch.testing.assert_close(merged.pred_sem_seg.data, (mean > 0.5).long())


def test_softmax_views_are_averaged_as_probabilities():
    a, b = torch.randn(2, 5, 5), torch.randn(2, 5, 5)
    mean = (a.softmax(0) + b.softmax(0)) / 2
    tta = MODELS.build(dict(type='TripletSegTTAModel', module=_Stub(None)))
    merged, = tta.merge_preds([[_view(a), _view(b)]])
    # stored as log probabilities: mmseg's softmax of seg_logits gives the mean back
    torch.testing.assert_close(merged.seg_logits.data.softmax(0), mean)
    torch.testing.assert_close(merged.pred_sem_seg.data, mean.argmax(0, keepdim=True))
    tta = MODELS.build(dict(type='TripletSegTTAModel', module=_Stub(TRIPLET)))
    merged, = tta.merge_preds([[_view(a), _view(b)]])
    np.testing.assert_array_equal(merged.pred_sem_seg.data[0].numpy(),
                                  triplet_threshold(mean[1].numpy(), **TRIPLET))


@pytest.fixture(scope='module')
def siim_root(tmp_path_factory):
    return synthetic.write_siim(tmp_path_factory.mktemp('tta'), num_train=20, num_test=1,
                                size=64, seed=4)['root']


def test_demo_config_flip_views_through_the_model(siim_root):
    """The SIIM demo config's tta_pipeline gives the image and its mirror; the TTA model's
    probability is the mean of the model's two predictions, the mirrored one flipped back
    (so it equals the prediction for the mirrored input, mirrored), then triplet-thresholded."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs/demo/unet_siim_synthetic.py'))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.update(data_root=siim_root, pipeline=[])
    info = DATASETS.build(ds_cfg).get_data_info(0)
    data = pseudo_collate([Compose(cfg.tta_pipeline)(info)])
    assert len(data['inputs']) == 2  # two views, one image each
    plain, mirrored = (v[0] for v in data['inputs'])
    torch.testing.assert_close(mirrored, plain.flip(-1))

    torch.manual_seed(0)
    cfg.model.test_cfg.triplet = dict(top_score_threshold=0.5, min_area=1,
                                      bottom_threshold=0.45)
    model = MODELS.build(cfg.model).eval()
    tta = MODELS.build(dict(cfg.tta_model, module=model)).eval()
    with torch.no_grad():
        merged, = tta.test_step(data)
        views = [model.test_step(dict(inputs=data['inputs'][i],
                                      data_samples=data['data_samples'][i]))[0]
                 for i in range(2)]
    a, b = (v.seg_logits.data for v in views)
    assert not torch.allclose(a, b)  # random weights: the mirrored view differs ...
    with torch.no_grad():  # ... and comes back in the image's orientation
        raw = model.test_step(dict(inputs=[mirrored], data_samples=[
            SegDataSample(metainfo=dict(data['data_samples'][1][0].metainfo, flip=False))]))
    torch.testing.assert_close(b, raw[0].seg_logits.data.flip(-1))
    torch.testing.assert_close(merged.seg_logits.data, (a + b) / 2)
    expected = triplet_threshold(((a + b) / 2)[0].numpy(), **cfg.model.test_cfg.triplet)
    np.testing.assert_array_equal(merged.pred_sem_seg.data[0].numpy(), expected)
    assert merged.gt_sem_seg.data.shape == merged.pred_sem_seg.data.shape == (1, 64, 64)
