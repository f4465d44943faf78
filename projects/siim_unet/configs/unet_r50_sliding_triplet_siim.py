# SIIM-ACR U-Net, ResNet-50 encoder (torchvision ImageNet weights), sliding sample rate
# 0.8 -> 0.4, triplet (0.75, 2000, 0.4).
#   mim train mmseg projects/siim_unet/configs/unet_r50_sliding_triplet_siim.py
_base_ = ['../../../configs/unet_resnet50_siim.py']
train_dataloader = dict(
    sampler=dict(positive_ratio=0.8, final_positive_ratio=0.4, slide_epochs=25))
model = dict(
    test_cfg=dict(triplet=dict(top_score_threshold=0.75, min_area=2000, bottom_threshold=0.4)))
