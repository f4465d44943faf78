# RSNA Pneumonia Detection: the Mask R-CNN recipe at 256x256 (ResNet-50 FPN backbone,
# detection confidence 0.9, NMS IoU 0.6, at most 3 detections per image, 12 epochs), on top of
# configs/mask_rcnn_rsna.py (one class, boxes as filled masks, the RSNA metric).
#   mim train mmdet projects/rsna_mask_rcnn/configs/mask_rcnn_r50_fpn_1x_rsna_256x256.py
_base_ = ['../../../configs/_base_/mask_rcnn_rsna_256x256.py']

model = dict(
    test_cfg=dict(
        rcnn=dict(score_thr=0.9, nms=dict(type='nms', iou_threshold=0.6), max_per_img=3)))
# boxes below 0.9 never leave the model, so the metric's threshold is 0.9 as well
val_evaluator = dict(score_thr=0.9, score_thr_grid=(0.9, 0.95))
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
