# CPU smoke run of the chest_image_pneum recipe on the synthetic SIIM PNG set (64 px):
#   python tools/make_synthetic_data.py --out datasets/synthetic_ci --layouts siim_png \
#       --size 64 --num 40
#   mim train mmseg \
#       projects/chest_image_pneum_unet/configs/fcn_unet_s5_d16_lr0.01_siim_png_synthetic.py
# Same model, pipeline and optimiser as the 512x512 recipe; 64x64 input, batch 4, 40 iterations.
_base_ = ['./fcn_unet_s5_d16_1xb16_lr0.01_20k_siim_png_512x512.py']

data_root = 'datasets/synthetic_ci/siim_png'
img_scale = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the held-out 'test' part of the 80/10/10 split, not 'val'
test_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
model = dict(data_preprocessor=dict(size=img_scale))
train_cfg = dict(max_iters=40, val_interval=40)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40,
                        by_epoch=False)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=40, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
