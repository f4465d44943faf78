# CPU smoke run of unet_seresnext50_sliding_triplet_siim.py on the synthetic SIIM set
# (64 px DICOMs):
#   python tools/make_synthetic_data.py --out datasets/synthetic_ci --layouts siim \
#       --size 64 --num 40
#   mim train mmseg projects/siim_unet/configs/unet_seresnext50_sliding_triplet_siim_synthetic.py
# Same model, loss and sampler; 64x64 input, no pretrained weights, batch 4, 20 iterations
# (k slides 0.8 -> 0.4 over 2 epochs), triplet min_area scaled by (64/1024)^2.
_base_ = ['./unet_seresnext50_sliding_triplet_siim.py']
_scale = 64 / 1024
_triplet = dict(top_score_threshold=0.6, min_area=round(3000 * _scale**2), bottom_threshold=0.4)

data_root = 'datasets/synthetic_ci/siim'
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    test_cfg=dict(triplet=_triplet))
train_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='LoadRLEMask'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadRLEMask'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    sampler=dict(slide_epochs=2),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the held-out 'test' split of configs/_base_/datasets/siim.py (80/10/10), not 'val'
test_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=5, end=20),
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=20, val_interval=20)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20, save_best=None,
                    max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
