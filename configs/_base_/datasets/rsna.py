# RSNA Pneumonia Detection (Kaggle, stage 2), read straight from the download:
#   datasets/rsna/stage_2_train_labels.csv, stage_2_detailed_class_info.csv,
#   stage_2_train_images/<patientId>.dcm   (see datasets/rsna/README.md)
# One class, ('pneumonia',). The labelled patients are split 80/10/10 (train/val/test),
# seeded and stratified by Target, by the dataset's `split` option; every split keeps its
# Target=0 images (training could drop them with filter_cfg=dict(filter_empty_gt=True)).
# To use another location, override data_root in all three dataloaders, e.g.
#   --cfg-options train_dataloader.dataset.data_root=D val_dataloader.dataset.data_root=D \
#                 test_dataloader.dataset.data_root=D
dataset_type = 'RSNAPneumoniaDataset'
data_root = 'datasets/rsna'
metainfo = dict(classes=('pneumonia', ))
img_scale = (512, 512)
split_fractions = dict(train=0.8, val=0.1, test=0.1)
split_seed = 0
# image-level data carried into the data samples
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'view_position', 'class_label', 'target')

train_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # boxes are loaded after Resize, so they stay in original-image coordinates
    dict(type='LoadAnnotations', with_bbox=True),
    # 'instances': the dataset's boxes (original coordinates) for RSNAMetric
    dict(type='PackDetInputs', meta_keys=meta_keys + ('instances', )),
]
# `mim test ... --tta`: each image as it is and flipped left-right; the model (tta_model,
# BoxDetTTAModel) flips the boxes back, pools both views' boxes and runs NMS over them.
tta_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=img_scale, keep_ratio=True)],
        [dict(type='RandomFlip', prob=0.0), dict(type='RandomFlip', prob=1.0)],
        [dict(type='LoadAnnotations', with_bbox=True)],  # after the flip: boxes as labelled
        [dict(type='PackDetInputs', meta_keys=meta_keys + ('instances', ))],
    ]),
]

# The labelled download, cut into train/val/test by the seeded split (one definition).
_rsna_labelled = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='stage_2_train_labels.csv',
    class_info_file='stage_2_detailed_class_info.csv',
    data_prefix=dict(img='stage_2_train_images'),
    metainfo=metainfo,
    split_fractions=split_fractions,
    split_seed=split_seed)
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        split='train',
        # negatives stay in training: the RSNA score punishes false positives on them
        filter_cfg=dict(filter_empty_gt=False, min_size=32),
        pipeline=train_pipeline,
        **_rsna_labelled))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', test_mode=True, pipeline=test_pipeline, **_rsna_labelled))
# the held-out part: the val loader on split='test'
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# rsna/mAP: the competition score of the boxes above score_thr; rsna/best_mAP scans
# score_thr_grid (choose the threshold on val, then fix score_thr for test and submission).
# Image-level precision/recall/F1 and COCO bbox mAP come beside it.
val_evaluator = dict(
    type='RSNAMetric',
    score_thr=0.5,
    score_thr_grid=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    image_thrs=(0.2, 0.5))
test_evaluator = val_evaluator
