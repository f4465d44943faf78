# RSNA Pneumonia Detection: Faster R-CNN R50-FPN (boxes only), one class, 512x512 input,
# 12 epochs (1x) on one GPU at 8 images per batch. Same data, split and RSNAMetric as
# configs/mask_rcnn_rsna.py.
#   mim train mmdet configs/faster_rcnn_rsna.py
# Fine-tune mmdet's COCO Faster R-CNN (80 classes; FineTuneLoadHook skips and lists
# bbox_head.fc_cls/fc_reg, which cannot hold one class):
#   mim train mmdet configs/faster_rcnn_rsna.py --cfg-options model.backbone.init_cfg=None \
#     load_from=https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './_base_/rsna_rcnn.py']

model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))

# the RSNA train pipeline (configs/_base_/datasets/rsna.py) without the masks
train_pipeline = [dict(type='LoadAnnotations', with_bbox=True) if t.type == 'LoadAnnotations'
                  else t for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
