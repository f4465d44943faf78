# RSNA Pneumonia Detection (Kaggle, stage 2) as image-level classification (MMPretrain), read
# straight from the download like the detection configs (datasets/rsna/README.md):
#   datasets/rsna/stage_2_train_labels.csv, stage_2_detailed_class_info.csv,
#   stage_2_train_images/<patientId>.dcm
# target='binary': ('normal', 'pneumonia'); target='detailed': ('Normal',
# 'No Lung Opacity / Not Normal', 'Lung Opacity') (also set the head's num_classes=3).
# The same seeded 80/10/10 patient split (stratified by Target) as configs/_base_/datasets/rsna.py.
# To use another location, override data_root in all three dataloaders.
dataset_type = 'RSNAClassificationDataset'
data_root = 'datasets/rsna'
target = 'binary'
img_scale = (512, 512)
split_fractions = dict(train=0.8, val=0.1, test=0.1)
split_seed = 0

data_preprocessor = dict(
    num_classes=2,
    # ImageNet RGB mean/std (the grey DICOM is replicated to 3 channels)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='Resize', scale=img_scale),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='Resize', scale=img_scale),
    dict(type='PackInputs'),
]

_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='stage_2_train_labels.csv',
    class_info_file='stage_2_detailed_class_info.csv',
    data_prefix=dict(img_path='stage_2_train_images'),
    target=target,
    split_fractions=split_fractions,
    split_seed=split_seed)
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, split='val', test_mode=True, pipeline=test_pipeline))
# the held-out part: the val loader on split='test'
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# cls/accuracy (arg-max, %), cls/auc (pneumonia probability, ROC AUC), cls/recall@0.5 and
# cls/precision@0.5; choose the operating threshold on val with tools/threshold_analysis.py.
val_evaluator = dict(type='RSNAClsMetric', recall_thrs=(0.5, ))
test_evaluator = val_evaluator

# `mim test ... --tta`: each image as it is and flipped left-right; AverageClsScoreTTA
# (mmpretrain) averages the two views' class probabilities.
tta_model = dict(type='AverageClsScoreTTA')
tta_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=img_scale)],
        [dict(type='RandomFlip', prob=0.0), dict(type='RandomFlip', prob=1.0)],
        [dict(type='PackInputs')],
    ]),
]
