# Multi-expert pneumonia segmentation: frontal (pa) and lateral (lat) radiographs, masks
# from three radiologists (see datasets/multi_expert_pneumonia/README.md):
#   datasets/multi_expert_pneumonia/images/{pneumonia,norma}/<id>_{pa,lat}.png
#   datasets/multi_expert_pneumonia/masks/expert{1,2,3}/<id>_<view>.png|.npz
#   datasets/multi_expert_pneumonia/masks/dup_list.json
# That is the zenodo download (record 5732746) as published. Split: ann_file=None makes a
# seeded train/val/test split grouped by patient (dup_list groups and both views of a study
# together) and stratified by class, and logs it. The authors' split is an explicit choice:
# copy .src/indsices.json (sic) from their code repository to indices.json and set
# ann_file='indices.json' in all three dataloaders; it puts same-patient groups across
# train/val/test and the dataset warns how many. Scores on the two splits are not comparable.
dataset_type = 'MultiExpertPneumoniaDataset'
data_root = 'datasets/multi_expert_pneumonia'
crop_size = (512, 512)
views = 'pa'  # 'pa', 'lat' or 'both'
experts = [1, 2, 3]
train_fusion = 'majority'  # 'single' (one expert), 'each', 'union', 'intersection', 'mean'
ann_file = None  # seeded patient-grouped split; 'indices.json' = the authors' split
split_ratios = dict(train=0.7, val=0.1, test=0.2)
split_seed = 0

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadExpertMasks'),  # reads + fuses the experts' masks at the original size
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    # hue_delta=0 crashes mmseg 1.2.2 (randint(0, 0)); 1 is a no-op on grey radiographs
    dict(type='PhotoMetricDistortion', hue_delta=1, saturation_range=(1.0, 1.0)),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    # masks after Resize: evaluation happens at the original resolution
    dict(type='LoadExpertMasks'),
    # the metric reads every expert's mask from these paths and breaks scores down by view
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'expert_mask_paths', 'view', 'image_class')),
]
# `mim test ... --tta`: each image as it is and flipped left-right; the model (tta_model)
# averages the two probability maps before thresholding.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=crop_size, keep_ratio=True)],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadExpertMasks')],  # after the flip: masks as the experts drew them
        [test_pipeline[-1]],  # PackSegInputs with the metric's meta keys
    ]),
]

# The download as split and fused for training; val/test score against the majority mask.
_multi_expert = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=ann_file,
    split_ratios=split_ratios,
    split_seed=split_seed,
    views=views,
    experts=experts,
    missing_mask='error')
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(split='train', fusion=train_fusion, pipeline=train_pipeline, **_multi_expert))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', fusion='majority', pipeline=test_pipeline, **_multi_expert))
# the held-out part: the val loader on split='test'
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# model vs the majority mask and vs each expert, next to expert-vs-expert agreement,
# overall, per view and on pneumonia images only (keys expert/...)
val_evaluator = dict(type='MultiExpertDiceMetric', fusion='majority')
test_evaluator = val_evaluator
