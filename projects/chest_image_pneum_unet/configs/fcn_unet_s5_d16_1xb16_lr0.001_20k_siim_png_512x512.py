# chest_image_pneum fcn-unet-s5-d16 at lr 0.001 (see the lr 0.01 config for the recipe).
_base_ = ['./fcn_unet_s5_d16_1xb16_lr0.01_20k_siim_png_512x512.py']
optim_wrapper = dict(optimizer=dict(lr=0.001))
