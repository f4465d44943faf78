# CPU smoke run of the 256x256 Mask R-CNN recipe on the synthetic RSNA set (64 px DICOMs,
# resized to 256 like the real 1024 px ones):
#   python tools/make_synthetic_data.py --out datasets/synthetic_ci --layouts rsna \
#       --size 64 --num 40
#   mim train mmdet projects/rsna_mask_rcnn/configs/mask_rcnn_r50_fpn_rsna_256x256_synthetic.py
# Same model and test settings; no pretrained weights, batch 4, 1 epoch.
_base_ = ['./mask_rcnn_r50_fpn_1x_rsna_256x256.py']

data_root = 'datasets/synthetic_ci/rsna'
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=2),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
