# SIIM-ACR Pneumothorax, read straight from the Kaggle download:
#   datasets/siim/dicom-images-train/<study>/<series>/<ImageId>.dcm + train-rle.csv
# (see datasets/siim/README.md). For the PNG layout of MMSegmentation's chest_image_pneum
# project set layout='png' (images/{train,test}, masks/{train,test}).
# Split: the labelled images are split 80/10/10 (train/val/test), seeded and stratified by
# positive/negative. Checkpoints are chosen (save_best) and the triplet thresholds tuned
# (tools/search_thresholds.py) on 'val'; `mim test` reports 'test', which neither sees.
# To use another location, override data_root in all three dataloaders. A child config that
# changes split_ratios gives all three keys (dicts merge key by key).
dataset_type = 'SIIMPneumothoraxDataset'
data_root = 'datasets/siim'
crop_size = (512, 512)
split_ratios = dict(train=0.8, val=0.1, test=0.1)
split_seed = 0

# Training keeps the radiograph grey (HxW) up to the model: the data preprocessor's 3-channel
# mean/std broadcast a 1-channel batch to the same 3 channels a grey BGR image gives, on the
# device. RandomAffineCrop draws what RandomResize(ratio 0.9-1.2) -> RandomCrop ->
# RandomRotate(p 0.3, 10 deg) -> RandomFlip(p 0.5) drew and applies it as one warp;
# GrayscalePhotoMetricDistortion is PhotoMetricDistortion's brightness + contrast (its hue
# and saturation steps do nothing on grey) as one lookup table (benchmarks/README.md).
train_pipeline = [
    dict(type='LoadDicomImageFromFile', color_type='grayscale'),  # also reads PNG/JPEG
    dict(type='LoadRLEMask'),  # RLE rows -> gt_seg_map at the original size
    dict(type='RandomAffineCrop', scale=crop_size, ratio_range=(0.9, 1.2),
         crop_size=crop_size, rotate_prob=0.3, degree=10, flip_prob=0.5, pad_val=0,
         seg_pad_val=0),
    dict(type='GrayscalePhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5)),
    # labels stay uint8 (an eighth of the bytes to the device); the U-Nets' data
    # preprocessor (Uint8LabelSegDataPreProcessor) casts them to int64 there
    dict(type='PackSegInputsUint8'),
]
test_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    # masks are loaded after Resize: metrics compare at the original resolution
    dict(type='LoadRLEMask'),
    dict(type='PackSegInputs'),
]
# `mim test ... --tta`: each image as it is and flipped left-right; the model (tta_model)
# averages the two probability maps before the triplet thresholding. More scales: add
# Resize entries to the first list (sides that are multiples of 32 for the U-Nets).
tta_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=crop_size, keep_ratio=True)],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadRLEMask')],  # after the flip: the mask stays as the file has it
        [dict(type='PackSegInputs')],
    ]),
]

# The labelled download, cut into train/val/test by the seeded split (one definition).
_siim_labelled = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='train-rle.csv',
    data_prefix=dict(img_path='dicom-images-train'),
    split_ratios=split_ratios,
    split_seed=split_seed)
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    # "sliding sample rate": each draw is a pneumothorax image with probability 0.8; the
    # sampler's virtual epochs follow each other without end, so the iteration-based loop
    # never restarts the dataloader (an epoch-based loop needs PositiveRatioSampler)
    sampler=dict(type='InfinitePositiveRatioSampler', positive_ratio=0.8),
    dataset=dict(split='train', pipeline=train_pipeline, **_siim_labelled))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', pipeline=test_pipeline, **_siim_labelled))
# the held-out part: the val loader on split='test'
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# siim/dice is the competition score (mean per-image Dice, empty-vs-empty = 1);
# mmseg's dataset-wide IoU/Dice stay beside it.
val_evaluator = [
    dict(type='SIIMDiceMetric'),
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
]
test_evaluator = val_evaluator

