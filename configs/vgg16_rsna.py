# RSNA pneumonia image classification: VGG-16 (ImageNet-pretrained convolutions; global
# average pooling + one linear layer instead of VGG's 4096-wide FC layers), binary target,
# 512x512, 30 epochs of SGD, class-weighted cross-entropy (as configs/resnet50_rsna.py).
#   mim train mmpretrain configs/vgg16_rsna.py
#   mim test  mmpretrain configs/vgg16_rsna.py --checkpoint work_dirs/vgg16_rsna/epoch_30.pth
# Pretrained weights: downloaded into $TORCH_HOME/hub/checkpoints/ on first use; offline:
#   mim train mmpretrain configs/vgg16_rsna.py --cfg-options \
#     model.backbone.init_cfg.checkpoint=/path/vgg16_batch256_imagenet_20210208-db26f1a5.pth
# (its classifier weights are not used and are reported as unexpected keys).
_base_ = [
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/datasets/rsna_cls.py',
]
custom_imports = dict(imports=['mmchest.cls'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VGG', depth=16, num_classes=-1, out_indices=(4, ),
        init_cfg=dict(
            type='Pretrained', prefix='backbone.',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/vgg/'
            'vgg16_batch256_imagenet_20210208-db26f1a5.pth')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=512, topk=(1, ),
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0,
                        class_weight=[0.645, 2.219])))

max_epochs = 30
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=max_epochs,
                       eta_min=1e-5)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='cls/auc', rule='greater',
                    max_keep_ckpts=2))
