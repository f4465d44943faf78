# What the RSNA R-CNN configs (mask_rcnn_rsna.py, faster_rcnn_rsna.py) share besides their
# model: the RSNA data, split and metric (datasets/rsna.py), mmdet's 1x schedule at lr 0.01 for
# 8 images per step, checkpoints chosen on rsna/mAP, the DICOM-reading visualisation hook,
# fine-tuning from COCO checkpoints (FineTuneLoadHook) and flip TTA.
_base_ = [
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './datasets/rsna.py',
]
custom_imports = dict(imports=['mmchest.det'], allow_failed_imports=False)

# 0.02 is mmdet's lr for 16 images per step; 8 here
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
# (datasets/rsna.py), boxes flipped back, pooled and merged by NMS
tta_model = dict(type='BoxDetTTAModel',
                 tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
