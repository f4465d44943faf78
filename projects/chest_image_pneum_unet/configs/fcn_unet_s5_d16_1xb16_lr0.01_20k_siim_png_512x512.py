# MMSegmentation's chest_image_pneum project, reproduced on this package's SIIM PNG layout:
# mmsegmentation/projects/medical/2d_image/x_ray/chest_image_pneum/configs/
#   fcn-unet-s5-d16_unet_1xb16-0.01-20k_chest-image-pneum-512x512.py
# Same model (mmseg's UNet-S5-D16 + FCN head, 2 softmax classes, no auxiliary head, whole-image
# inference), data pipeline (512x512 resize without keeping the ratio, flip, photometric
# distortion), batch 16, SGD schedule_20k. Differences, all forced by the data:
# - dataset: SIIMPneumothoraxDataset(layout='png') instead of the project's
#   ChestImagePneumDataset (same files: images/train/<id>.png, masks/train/<id>.png, 0/1);
# - split: the project trains on an unstratified 80/20 split (split_seg_dataset.py) and
#   tests on its val part. Here the labelled images (images/train + masks/train) get the
#   dataset's seeded 80/10/10 train/val/test split, stratified by positive/negative: val
#   drives validation, `mim test` reports the held-out test part. images/test (the Kaggle
#   test set) has no masks and is not used. The train.txt / val.txt lists that
#   tools/dicom_to_png.py --layout chest_image_pneum writes are the project's 80/20 lists;
#   these configs do not read them;
# - masks: the union of all RLE rows of an image (the project's prepare_dataset.py keeps only
#   the last row, read with index_col=0);
# - siim/dice (the Kaggle score) is reported beside the project's mIoU/mDice.
#   python tools/dicom_to_png.py datasets/siim datasets/siim_png --layout chest_image_pneum
#   mim train mmseg projects/chest_image_pneum_unet/configs/<this file>
_base_ = [
    '../../../configs/_base_/datasets/siim.py',
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../../../configs/_base_/seg_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]

data_root = 'datasets/siim_png'
img_scale = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# the labelled PNGs, split 80/10/10 as in configs/_base_/datasets/siim.py
_png = dict(
    data_root=data_root,
    layout='png',
    ann_file='',
    data_prefix=dict(img_path='images/train', seg_map_path='masks/train'))
train_dataloader = dict(
    batch_size=16,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline, **_png))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline, **_png))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, **_png))
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
    dict(type='SIIMDiceMetric'),
]
test_evaluator = val_evaluator

data_preprocessor = dict(size=img_scale)
optim_wrapper = dict(optimizer=dict(lr=0.01))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=2),
    auxiliary_head=None,
    test_cfg=dict(mode='whole', _delete_=True))
vis_backends = None
visualizer = dict(vis_backends=vis_backends)
# `mim test ... --show-dir DIR` draws every test image (mmseg's hook draws one in fifty)
default_hooks = dict(visualization=dict(type='DicomSegVisualizationHook'))
