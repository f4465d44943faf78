# SIIM-ACR U-Net with an SE-ResNeXt-50 (32x4d) encoder from MMPretrain (published recipe
# variant). Pretrained ImageNet weights: point init_cfg.checkpoint at an mmpretrain
# SE-ResNeXt-50 checkpoint you have (none is downloaded automatically).
_base_ = ['./unet_siim.py']
custom_imports = dict(imports=['mmchest', 'mmpretrain.models'], allow_failed_imports=False)
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
        init_cfg=None),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]))
