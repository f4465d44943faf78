# CPU demo: a small U-Net (ResNet-18-style encoder, 16 base channels) trained from scratch on
# the synthetic SIIM set (tools/make_synthetic_data.py, 256 px images) at 128x128 input;
# predictions are upsampled to 256 px for the metric. `make demo` runs it.
_base_ = ['../unet_siim.py']

data_root = 'datasets/synthetic/siim'
crop_size = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg,
                  init_cfg=None),
    # predict at stride 4 (logits are upsampled for the loss and at test time, as in most
    # mmseg heads): the two full-resolution decoder blocks cost more than the whole encoder
    decode_head=dict(in_channels=[16, 32, 64, 128], dec_channels=(64, 32, 16),
                     channels=16, num_extra_upsamples=0, norm_cfg=norm_cfg),
    # synthetic images are 256 px: min_area is in original pixels
    test_cfg=dict(triplet=dict(top_score_threshold=0.4, min_area=10, bottom_threshold=0.3)))

train_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='LoadRLEMask'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# the base's test and TTA pipelines (configs/_base_/datasets/siim.py), resized to crop_size
test_pipeline = [dict(t, scale=crop_size) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
tta_pipeline = [_base_.tta_pipeline[0], dict(_base_.tta_pipeline[1], transforms=[
    [t for t in test_pipeline if t['type'] == 'Resize'], *_base_.tta_pipeline[1].transforms[1:]])]
_splits = dict(train=0.7, val=0.15, test=0.15)  # seeded, stratified by positive/negative
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    # virtual epochs back to back: the iteration loop never restarts the dataloader
    sampler=dict(type='InfinitePositiveRatioSampler', positive_ratio=0.7,
                 final_positive_ratio=0.5, slide_epochs=4),
    dataset=dict(data_root=data_root, split_ratios=_splits, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, split_ratios=_splits, pipeline=test_pipeline))
# held out: tools/search_thresholds.py tunes the triplet on 'val', `mim test` reports 'test'
test_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, split_ratios=_splits, pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=50, end=400),
]
train_cfg = dict(max_iters=400, val_interval=400)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=400, save_best=None,
                    max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
