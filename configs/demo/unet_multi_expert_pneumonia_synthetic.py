# CPU demo: a tiny U-Net on the synthetic multi-expert pneumonia set (both views, majority
# target), a few minutes on 2 cores. Reports model-vs-expert next to expert-vs-expert Dice.
#   python tools/make_synthetic_data.py --out datasets/synthetic
#   mim train mmseg configs/demo/unet_multi_expert_pneumonia_synthetic.py \
#       --work-dir work_dirs/mep_demo
#   mim test  mmseg configs/demo/unet_multi_expert_pneumonia_synthetic.py \
#       --checkpoint work_dirs/mep_demo/iter_300.pth --work-dir work_dirs/mep_demo
# Split: the synthetic set's own indices.json (68/16/16 studies, one same-patient group across
# train and val, as in the authors' file), so the numbers recorded in
# datasets/multi_expert_pneumonia/README.md stay reproducible; the entry configs default to
# the seeded patient-grouped split instead.
_base_ = ['../unet_multi_expert_pneumonia.py']

data_root = 'datasets/synthetic/multi_expert_pneumonia'
crop_size = (128, 128)
views = 'both'
ann_file = 'indices.json'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadExpertMasks'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.1), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
# the base's test and TTA pipelines (configs/_base_/datasets/multi_expert_pneumonia.py),
# resized to crop_size
test_pipeline = [dict(t, scale=crop_size) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
tta_pipeline = [_base_.tta_pipeline[0], dict(_base_.tta_pipeline[1], transforms=[
    [t for t in test_pipeline if t['type'] == 'Resize'], *_base_.tta_pipeline[1].transforms[1:]])]
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=False,
    # lesions cover ~1% of a pneumonia image: draw pneumonia images 80% of the time; the
    # sampler's epochs follow each other without end, so the loader is never restarted
    sampler=dict(_delete_=True, type='InfinitePositiveRatioSampler', positive_ratio=0.8,
                 seed=0),
    dataset=dict(data_root=data_root, ann_file=ann_file, views=views,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann_file, views=views,
                 pipeline=test_pipeline))
# held out: the 'test' split of indices.json (split='test' comes from the base config)
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann_file, views=views,
                 pipeline=test_pipeline))

norm_cfg = dict(type='BN', requires_grad=True)
# LeakyReLU: with ReLU a short run from scratch can get stuck with every unit off on both
# the lesions and the black surround, so both get the same (negative) logit: empty output
act_cfg = dict(type='LeakyReLU', negative_slope=0.1)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=16, norm_cfg=norm_cfg, act_cfg=act_cfg),
    decode_head=dict(
        in_channels=16, channels=16, dropout_ratio=0.0, norm_cfg=norm_cfg, act_cfg=act_cfg,
        # pos_weight 5 for the ~1% lesion pixels
        loss_decode=[dict(type='CrossEntropyLoss', use_sigmoid=True, class_weight=[5.0]),
                     dict(type='BinaryDiceLoss', loss_weight=1.0)]))

optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
# short warm-up, constant lr, cosine decay over the last third
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=3e-4, by_epoch=False, begin=200, end=300),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=150)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=150,
                    save_best='expert/dice_majority', rule='greater', max_keep_ckpts=1))
randomness = dict(seed=0)
