# SIIM-ACR pneumothorax: U-Net (ResNet-34 encoder), 512x512, binary sigmoid head, triplet
# thresholding, 40k iterations on GPU.
#   mim train mmseg configs/unet_siim.py                      # data in datasets/siim
#   mim train mmseg configs/unet_siim.py --launcher pytorch --gpus 8
#   mim test  mmseg configs/unet_siim.py --checkpoint work_dirs/unet_siim/iter_40000.pth
# Split (configs/_base_/datasets/siim.py): seeded 80/10/10, stratified by positive/negative;
# save_best and tools/search_thresholds.py use 'val', `mim test` reports the held-out 'test'.
_base_ = [
    './_base_/datasets/siim.py',
    './_base_/models/unet_resnet34.py',
    './_base_/seg_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]

# training batches padded to the dataset base's crop_size (512x512)
data_preprocessor = dict(size=_base_.crop_size)
model = dict(data_preprocessor=data_preprocessor)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=1e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=1000, end=40000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
# `mim test mmseg configs/unet_siim.py --checkpoint CKPT --tta`: the views of tta_pipeline
# (configs/_base_/datasets/siim.py) averaged as probabilities, then triplet-thresholded
tta_model = dict(type='TripletSegTTAModel')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000,
                    save_best='siim/dice', rule='greater', max_keep_ckpts=3),
    # mmseg's SegVisualizationHook cannot decode DICOM; this one reads it like the pipelines
    # (`mim test ... --show-dir overlays` draws radiograph | ground truth | prediction)
    visualization=dict(type='DicomSegVisualizationHook', draw=False))
