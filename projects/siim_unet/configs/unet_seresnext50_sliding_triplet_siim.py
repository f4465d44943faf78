# SIIM-ACR U-Net, SE-ResNeXt-50 (32x4d) encoder from MMPretrain, sliding sample rate
# 0.8 -> 0.4, triplet (0.6, 3000, 0.4).
#   mim train mmseg projects/siim_unet/configs/unet_seresnext50_sliding_triplet_siim.py \
#       --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=<an mmpretrain SE-ResNeXt-50 ImageNet checkpoint>
_base_ = ['../../../configs/unet_seresnext50_siim.py']
train_dataloader = dict(
    sampler=dict(positive_ratio=0.8, final_positive_ratio=0.4, slide_epochs=25))
model = dict(
    test_cfg=dict(triplet=dict(top_score_threshold=0.6, min_area=3000, bottom_threshold=0.4)))
