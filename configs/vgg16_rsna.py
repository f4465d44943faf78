# RSNA pneumonia image classification: VGG-16 (ImageNet-pretrained convolutions; global
# average pooling + one linear layer instead of VGG's 4096-wide FC layers), binary target,
# 512x512, 30 epochs of SGD, class-weighted cross-entropy (as configs/resnet50_rsna.py).
#   mim train mmpretrain configs/vgg16_rsna.py
#   mim test  mmpretrain configs/vgg16_rsna.py --checkpoint work_dirs/vgg16_rsna/epoch_30.pth
# Pretrained weights: downloaded into $TORCH_HOME/hub/checkpoints/ on first use; offline:
#   mim train mmpretrain configs/vgg16_rsna.py --cfg-options \
#     model.backbone.init_cfg.checkpoint=/path/vgg16_batch256_imagenet_20210208-db26f1a5.pth
# (its classifier weights are not used and are reported as unexpected keys).
_base_ = ['./_base_/rsna_cls_sgd_30e.py']

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

# the base's SGD recipe at half its lr
optim_wrapper = dict(optimizer=dict(lr=0.005))
