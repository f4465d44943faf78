# SIIM-ACR U-Net, ResNet-34 encoder, with the sliding sample rate and triplet thresholding.
#   mim train mmseg projects/siim_unet/configs/unet_r34_sliding_triplet_siim.py
# Sliding sample rate: each draw is a pneumothorax image with probability k, k sliding
# linearly from 0.8 to 0.4 over 25 sampler epochs (one epoch = one pass over the train split;
# the 40k iterations at batch 8 are about 33 of them). Triplet (top score, min area in
# original 1024x1024 pixels, bottom threshold) = (0.75, 1000, 0.3) for ResNet-34.
_base_ = ['../../../configs/unet_siim.py']
train_dataloader = dict(
    sampler=dict(positive_ratio=0.8, final_positive_ratio=0.4, slide_epochs=25))
model = dict(
    test_cfg=dict(triplet=dict(top_score_threshold=0.75, min_area=1000, bottom_threshold=0.3)))
