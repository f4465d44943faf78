# SIIM-ACR U-Net with an SE-ResNeXt-50 (32x4d) encoder from MMPretrain (published recipe
# variant). MMPretrain publishes no SE-ResNeXt-50 ImageNet weights: convert the timm or
# `pretrainedmodels` ones you have, once, to the file this config loads
# (checkpoints/seresnext50_32x4d_mmpretrain.pth; training stops if it is missing):
#   python tools/convert_weights.py se_resnext50_32x4d-a260b3a4.pth \
#       checkpoints/seresnext50_32x4d_mmpretrain.pth
#   mim train mmseg configs/unet_seresnext50_siim.py
# Converted file elsewhere, or no pretrained weights (train from scratch):
#   mim train mmseg configs/unet_seresnext50_siim.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=/path/seresnext50_32x4d_mmpretrain.pth
#   mim train mmseg configs/unet_seresnext50_siim.py --cfg-options model.backbone.init_cfg=None
_base_ = ['./unet_siim.py']
custom_imports = dict(imports=['mmchest.seg', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SEResNeXt',
        depth=50,
        groups=32,
        width_per_group=4,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/seresnext50_32x4d_mmpretrain.pth')),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]))
