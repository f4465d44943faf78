"""UNetHead shapes, BinaryDiceLoss, and triplet thresholding inside the segmentor."""
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmchest  # noqa: F401


def _head(**kw):
    cfg = dict(type='UNetHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3],
               dec_channels=(32, 16, 8, 8, 8), channels=8, num_classes=2, out_channels=1,
               threshold=0.5, loss_decode=dict(type='BinaryDiceLoss'))
    cfg.update(kw)
    return MODELS.build(cfg)


def test_unet_head_upsamples_to_full_resolution():
    head = _head()
    feats = [torch.rand(2, c, 32 // s, 32 // s) for c, s in zip([8, 16, 32, 64], [1, 2, 4, 8])]
    out = head(feats)
    assert out.shape == (2, 1, 128, 128)  # stride 4 input -> 2 extra x2 upsamples


def test_unet_head_rejects_inconsistent_channels():
    with pytest.raises(ValueError, match='dec_channels'):
        _head(dec_channels=(32, 16, 8))


def test_binary_dice_loss_targets_foreground():
    loss = MODELS.build(dict(type='BinaryDiceLoss'))
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 2:6, 2:6] = 1
    good = (target[:, None].float() * 20 - 10)  # logits: confident and right
    bad = -good
    assert loss(good, target) < 0.05 < 0.9 < loss(bad, target)
    ignored = target.clone()
    ignored[0, :4] = 255
    assert loss(good, ignored) < 0.05


def _segmentor(triplet):
    return MODELS.build(dict(
        type='TripletEncoderDecoder',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(0, 1, 2, 3), init_cfg=None),
        decode_head=dict(type='UNetHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3],
                         dec_channels=(32, 16, 8, 8, 8), channels=8, num_classes=2,
                         out_channels=1, threshold=0.5,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)),
        test_cfg=dict(mode='whole', **({'triplet': triplet} if triplet else {}))))


def test_triplet_postprocess_keeps_or_drops_masks():
    logits = torch.full((2, 1, 8, 8), -4.0)
    logits[0, 0, :2, :2] = 4.0   # 4 confident pixels
    logits[0, 0, 2, :2] = 0.2    # above bottom (0.4 prob) only: joins the mask
    logits[1, 0, :1, :3] = 4.0   # 3 confident pixels: below min_area -> dropped
    samples = [SegDataSample(metainfo=dict(img_shape=(8, 8), ori_shape=(8, 8)))
               for _ in range(2)]
    model = _segmentor(dict(top_score_threshold=0.9, min_area=4, bottom_threshold=0.5))
    out = model.postprocess_result(logits, samples)
    assert out[0].pred_sem_seg.data.sum() == 6
    assert out[1].pred_sem_seg.data.sum() == 0
    plain = _segmentor(None).postprocess_result(logits, [
        SegDataSample(metainfo=dict(img_shape=(8, 8), ori_shape=(8, 8))) for _ in range(2)])
    assert plain[1].pred_sem_seg.data.sum() == 3  # threshold 0.5 keeps the small blob
