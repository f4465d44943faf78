# RSNA Pneumonia Detection: Faster R-CNN R50-FPN (boxes only), one class, 512x512 input,
# 12 epochs (1x) on one GPU at 8 images per batch. Same data, split and RSNAMetric as
# configs/mask_rcnn_rsna.py.
#   mim train mmdet configs/faster_rcnn_rsna.py
# Fine-tune mmdet's COCO Faster R-CNN (80 classes; FineTuneLoadHook skips and lists
# bbox_head.fc_cls/fc_reg, which cannot hold one class):
#   mim train mmdet configs/faster_rcnn_rsna.py --cfg-options model.backbone.init_cfg=None \
#     load_from=https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/datasets/rsna.py',
]
custom_imports = dict(imports=['mmchest'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))

train_pipeline = [
    dict(type='LoadDicomImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),  # no masks
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='rsna/mAP', rule='greater',
                    max_keep_ckpts=3),
    # reads DICOM: `mim test ... --show-dir DIR` writes DIR/<patientId>.png (GT | prediction)
    visualization=dict(type='DicomDetVisualizationHook'))
# training from load_from skips (and lists) checkpoint layers whose shapes do not fit
custom_hooks = [dict(type='FineTuneLoadHook')]
# `mim test mmdet CONFIG --checkpoint CKPT --tta`: the views of tta_pipeline
# (configs/_base_/datasets/rsna.py), boxes flipped back, pooled and merged by NMS
tta_model = dict(type='BoxDetTTAModel',
                 tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
