# RSNA Pneumonia Detection: Mask R-CNN R50-FPN, one class ('pneumonia', each box also a
# filled mask), 512x512 input, 12 epochs (1x) on one GPU at 8 images per batch.
#   mim train mmdet configs/mask_rcnn_rsna.py                 # data in datasets/rsna
#   mim test  mmdet configs/mask_rcnn_rsna.py --checkpoint work_dirs/mask_rcnn_rsna/epoch_12.pth
#   python tools/rsna_submission.py configs/mask_rcnn_rsna.py CKPT --out submission.csv
# Fine-tune mmdet's COCO Mask R-CNN (80 classes) instead of starting from ImageNet: the class
# layers that cannot hold one class (bbox_head.fc_cls/fc_reg, mask_head.conv_logits) are
# skipped by FineTuneLoadHook with one log line; offline, put the .pth in
# $TORCH_HOME/hub/checkpoints/ or give its path as load_from (datasets/rsna/README.md):
#   mim train mmdet configs/mask_rcnn_rsna.py --cfg-options model.backbone.init_cfg=None \
#     load_from=https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_r50_fpn_1x_coco/mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth
# Synthetic smoke run (CPU, no download; see README):
#   mim train mmdet configs/mask_rcnn_rsna.py --cfg-options model.backbone.init_cfg=None \
#     train_dataloader.dataset.data_root=datasets/synthetic/rsna \
#     val_dataloader.dataset.data_root=datasets/synthetic/rsna \
#     test_dataloader.dataset.data_root=datasets/synthetic/rsna
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './_base_/rsna_rcnn.py']

model = dict(
    roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)))
