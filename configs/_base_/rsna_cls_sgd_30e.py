# The recipe of the ImageNet-pretrained RSNA classifiers (resnet50_rsna.py, vgg16_rsna.py):
# mmpretrain's imagenet_bs256 schedule as 30 epochs of SGD (lr 0.01 for batch 16; a child
# sets its own lr) with cosine decay, validation every epoch, the best cls/auc checkpoint kept.
_base_ = ['mmpretrain::_base_/schedules/imagenet_bs256.py', './rsna_cls_runtime.py']

max_epochs = 30
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=max_epochs,
                       eta_min=1e-5)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='cls/auc', rule='greater',
                    max_keep_ckpts=2))
