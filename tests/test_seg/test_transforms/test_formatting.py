"""PackSegInputsUint8 + Uint8LabelSegDataPreProcessor: uint8 labels to the device, and the
model gets exactly the int64 labels (padding included) mmseg's PackSegInputs would give."""
import numpy as np
import torch
from mmseg.registry import MODELS, TRANSFORMS

import mmchest  # noqa: F401

PRE = dict(type='Uint8LabelSegDataPreProcessor', mean=[123.675, 116.28, 103.53],
           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
           size=(48, 40))


def _results(h, w, seed):
    rng = np.random.default_rng(seed)
    return dict(img=rng.integers(0, 255, (h, w), dtype=np.uint8),
                gt_seg_map=(rng.random((h, w)) < 0.3).astype(np.uint8),
                seg_fields=['gt_seg_map'], img_path=f'{seed}.dcm', ori_shape=(h, w),
                img_shape=(h, w), flip=True, flip_direction='horizontal')


def test_labels_stay_uint8_and_the_rest_is_packed_as_mmseg_does():
    results = _results(30, 20, 0)
    ours = TRANSFORMS.build(dict(type='PackSegInputsUint8'))(dict(results))
    ref = TRANSFORMS.build(dict(type='PackSegInputs'))(dict(results))
    assert ours['data_samples'].gt_sem_seg.data.dtype == torch.uint8
    assert ref['data_samples'].gt_sem_seg.data.dtype == torch.int64
    torch.testing.assert_close(ours['data_samples'].gt_sem_seg.data.long(),
                               ref['data_samples'].gt_sem_seg.data)
    torch.testing.assert_close(ours['inputs'], ref['inputs'])
    assert ours['data_samples'].metainfo == ref['data_samples'].metainfo
    # anything but a 2-D uint8 map: mmseg's packing
    wide = dict(results, gt_seg_map=results['gt_seg_map'].astype(np.int32))
    out = TRANSFORMS.build(dict(type='PackSegInputsUint8'))(wide)
    assert out['data_samples'].gt_sem_seg.data.dtype == torch.int64


def test_preprocessor_gives_the_int64_batch_of_mmseg_packing():
    pre = MODELS.build(PRE)
    samples = [_results(30, 20, 1), _results(48, 36, 2)]
    for training in (True, False):
        if not training:  # test batches share one size
            samples = [_results(48, 40, 3), _results(48, 40, 4)]
        out = {}
        for name, pack in (('u8', 'PackSegInputsUint8'), ('i64', 'PackSegInputs')):
            packed = [TRANSFORMS.build(dict(type=pack))(dict(r)) for r in samples]
            out[name] = pre(dict(inputs=[p['inputs'] for p in packed],
                                 data_samples=[p['data_samples'] for p in packed]), training)
        torch.testing.assert_close(out['u8']['inputs'], out['i64']['inputs'])
        for a, b in zip(out['u8']['data_samples'], out['i64']['data_samples']):
            assert a.gt_sem_seg.data.dtype == torch.int64
            torch.testing.assert_close(a.gt_sem_seg.data, b.gt_sem_seg.data)
        if training:  # the 30x20 map was padded to 48x40 with 255 (ignored)
            gt = out['u8']['data_samples'][0].gt_sem_seg.data
            assert gt.shape == (1, 48, 40) and (gt[:, 30:] == 255).all()
