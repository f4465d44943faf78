# RSNA pneumonia image classification: ResNet-50 (ImageNet-pretrained), binary target
# ('normal', 'pneumonia'), 512x512, 30 epochs of SGD, class-weighted cross-entropy.
#   mim train mmpretrain configs/resnet50_rsna.py             # data in datasets/rsna
#   mim test  mmpretrain configs/resnet50_rsna.py --checkpoint work_dirs/resnet50_rsna/epoch_30.pth
#   python tools/threshold_analysis.py configs/resnet50_rsna.py CKPT --split val --out DIR
# Class balance: loss weighting (not resampling): class_weight = N / (K * n_class) from the
# stage-2 training labels (20672 normal, 6012 pneumonia patients): (0.645, 2.219).
# Detailed target (3 classes; 8851 Normal, 11821 Not Normal, 6012 Lung Opacity):
#   --cfg-options train_dataloader.dataset.target=detailed val_dataloader.dataset.target=detailed \
#     test_dataloader.dataset.target=detailed model.head.num_classes=3 \
#     data_preprocessor.num_classes=3 "model.head.loss.class_weight=[1.005,0.752,1.479]"
# Pretrained weights: init_cfg downloads mmpretrain's ImageNet checkpoint into
# $TORCH_HOME/hub/checkpoints/ on first use. Offline: copy the .pth there, or give a local file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet50_8xb32_in1k_20210831-ea4938fc.pth
# (or model.backbone.init_cfg=None to train from scratch).
_base_ = ['mmpretrain::_base_/models/resnet50.py', './_base_/rsna_cls_sgd_30e.py']

model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained', prefix='backbone.',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
        'resnet50_8xb32_in1k_20210831-ea4938fc.pth')),
    head=dict(num_classes=2, topk=(1, ),
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0,
                        class_weight=[0.645, 2.219])))
