# Multi-expert pneumonia, frontal (pa) views: U-Net (mmseg UNet-S5-D16), trained on the
# majority vote (2 of 3 experts), evaluated against the majority mask and each expert.
#   mim train mmseg configs/unet_multi_expert_pneumonia.py  # data: datasets/multi_expert_pneumonia
#   mim test  mmseg configs/unet_multi_expert_pneumonia.py \
#       --checkpoint work_dirs/unet_multi_expert_pneumonia/iter_20000.pth
# Other targets: --cfg-options train_dataloader.dataset.fusion=each (one sample per expert,
# as the dataset's authors trained), =union, =intersection; for =mean see the README.
_base_ = [
    './_base_/datasets/multi_expert_pneumonia.py',
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    './_base_/seg_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]

# batches are padded to the dataset base's crop_size (512x512) when training and to a
# multiple of 16 (the U-Net's downsampling) when testing, so whole-image inference works on
# any aspect ratio
data_preprocessor = dict(size=_base_.crop_size, test_cfg=dict(size_divisor=16))
# binary sigmoid head: BCE + soft Dice (lesions are small; plain CE tends to predict empty)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        num_classes=2, out_channels=1, threshold=0.5,
        loss_decode=[dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                     dict(type='BinaryDiceLoss', loss_weight=1.0)]),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))

# `mim test ... --tta`: tta_pipeline's views averaged as probabilities, then thresholded
tta_model = dict(type='TripletSegTTAModel')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000,
                    save_best='expert/dice_majority', rule='greater', max_keep_ckpts=3),
    # `mim test ... --show-dir DIR` draws every test image (mmseg's hook: one in fifty)
    visualization=dict(type='DicomSegVisualizationHook'))
