# SIIM-ACR U-Net, SE-ResNeXt-50 (32x4d) encoder from MMPretrain, sliding sample rate
# 0.8 -> 0.4, triplet (0.6, 3000, 0.4).
# ImageNet weights: convert timm's / pretrainedmodels' se_resnext50_32x4d once (see
# configs/unet_seresnext50_siim.py) to checkpoints/seresnext50_32x4d_mmpretrain.pth, or point
# the config at the converted file:
#   python tools/convert_weights.py se_resnext50_32x4d-a260b3a4.pth \
#       checkpoints/seresnext50_32x4d_mmpretrain.pth
#   mim train mmseg projects/siim_unet/configs/unet_seresnext50_sliding_triplet_siim.py
#   mim train mmseg projects/siim_unet/configs/unet_seresnext50_sliding_triplet_siim.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=/path/seresnext50_32x4d_mmpretrain.pth
_base_ = ['../../../configs/unet_seresnext50_siim.py']
train_dataloader = dict(
    sampler=dict(positive_ratio=0.8, final_positive_ratio=0.4, slide_epochs=25))
model = dict(
    test_cfg=dict(triplet=dict(top_score_threshold=0.6, min_area=3000, bottom_threshold=0.4)))
