# Multi-expert pneumonia, lateral (lat) views: same model and majority target as the frontal
# config, trained and evaluated on the lateral images only.
#   mim train mmseg configs/unet_multi_expert_pneumonia_lat.py
_base_ = ['./unet_multi_expert_pneumonia.py']

views = 'lat'
train_dataloader = dict(dataset=dict(views=views))
val_dataloader = dict(dataset=dict(views=views))
test_dataloader = dict(dataset=dict(views=views))
