# U-Net decoder on a ResNet-34 encoder, one-channel sigmoid head (binary segmentation),
# BCE + soft Dice, SIIM triplet thresholding at test time.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # reverted to BN when not distributed
# mmseg's SegDataPreProcessor, plus: uint8 labels (PackSegInputsUint8 in the SIIM train
# pipeline) become int64 on the device, after padding
data_preprocessor = dict(
    type='Uint8LabelSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='TripletEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=34,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet34')),
    decode_head=dict(
        type='UNetHead',
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        dec_channels=(256, 128, 64, 32, 16),
        channels=16,
        num_extra_upsamples=2,
        dropout_ratio=0.0,
        num_classes=2,
        out_channels=1,
        threshold=0.5,  # mmseg silently defaults a binary head to 0.3
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            dict(type='BinaryDiceLoss', loss_weight=1.0),
        ]),
    train_cfg=dict(),
    # Triplet thresholding (top-score threshold, min area in original pixels, bottom
    # threshold), as in the SIIM-ACR winning recipes; tools/search_thresholds.py tunes it.
    test_cfg=dict(
        mode='whole',
        triplet=dict(top_score_threshold=0.75, min_area=2000, bottom_threshold=0.4)))
