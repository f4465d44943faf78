# CPU demo: pneumonia yes/no on the synthetic RSNA set with a small ResNet-18 (quarter width,
# trained from scratch) at 128x128, 8 epochs of 320 images (160 iterations).
#   python tools/make_synthetic_data.py --out datasets/synthetic --layouts rsna --num 400
#   mim train mmpretrain configs/demo/resnet18_rsna_cls_synthetic.py
#   mim test  mmpretrain configs/demo/resnet18_rsna_cls_synthetic.py \
#       --checkpoint work_dirs/resnet18_rsna_cls_synthetic/epoch_8.pth
#   python tools/threshold_analysis.py configs/demo/resnet18_rsna_cls_synthetic.py \
#       work_dirs/resnet18_rsna_cls_synthetic/epoch_8.pth --split val --recall-target 0.9 \
#       --out work_dirs/resnet18_rsna_cls_synthetic/thresholds
# The synthetic set is balanced (half with opacities): no class weighting here. Held-out
# results: datasets/rsna/README.md ("Image-level classification").
_base_ = ['mmpretrain::_base_/models/resnet18.py', '../_base_/rsna_cls_runtime.py']

data_root = 'datasets/synthetic/rsna'
img_scale = (128, 128)
max_epochs = 8

model = dict(
    backbone=dict(stem_channels=16, base_channels=16, init_cfg=None),
    head=dict(num_classes=2, in_channels=128, topk=(1, ),
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

# the base's pipelines (configs/_base_/datasets/rsna_cls.py), resized to img_scale
train_pipeline, test_pipeline = (
    [dict(t, scale=img_scale) if t.type == 'Resize' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
tta_pipeline = [_base_.tta_pipeline[0], dict(_base_.tta_pipeline[1], transforms=[
    [t for t in test_pipeline if t['type'] == 'Resize'], *_base_.tta_pipeline[1].transforms[1:]])]
# batch 16 as the base; the test loader stays the base's val loader on split='test'
train_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
