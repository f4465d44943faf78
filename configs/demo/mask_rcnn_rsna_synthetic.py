# CPU demo: a small Mask R-CNN (ResNet-18 at half width, trained from scratch; 64-channel
# FPN) on the synthetic RSNA set at 256x256, 3 epochs of 320 images (240 iterations).
#   python tools/make_synthetic_data.py --out datasets/synthetic --layouts rsna --num 400
#   mim train mmdet configs/demo/mask_rcnn_rsna_synthetic.py
#   mim test  mmdet configs/demo/mask_rcnn_rsna_synthetic.py \
#       --checkpoint work_dirs/mask_rcnn_rsna_synthetic/epoch_3.pth --show-dir overlays
# (all three: `make demo-rsna`). rsna/mAP is reported on the held-out `split='test'` patients
# (10 %): 0.687 after 4 min of training on 2 CPU cores (datasets/rsna/README.md).
_base_ = ['../_base_/mask_rcnn_rsna_256x256.py']

data_root = 'datasets/synthetic/rsna'
norm_cfg = dict(type='BN', requires_grad=True)
max_epochs = 3

model = dict(
    backbone=dict(depth=18, stem_channels=32, base_channels=32, frozen_stages=-1,
                  norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        # a fixed 2x2 sampling grid: ~13 % faster steps on CPU than RoIAlign's adaptive one
        bbox_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        bbox_head=dict(in_channels=64, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        mask_head=dict(num_convs=2, in_channels=64, conv_out_channels=64)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(score_thr=0.05, max_per_img=20)))

# as test_cfg.rcnn.max_per_img
tta_model = dict(tta_cfg=dict(max_per_img=20))
train_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(data_root=data_root))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, save_best=None,
                    max_keep_ckpts=1))
randomness = dict(seed=0)
