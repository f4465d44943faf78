# SIIM-ACR U-Net with a ResNet-50 encoder (published recipe variant).
_base_ = ['./unet_siim.py']
model = dict(
    backbone=dict(depth=50, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]))
