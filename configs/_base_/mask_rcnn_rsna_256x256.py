# configs/mask_rcnn_rsna.py on 256x256 input: the RSNA pipelines of datasets/rsna.py (train,
# val/test, TTA), each Resize at img_scale and nothing else changed. The CPU demo
# (configs/demo/mask_rcnn_rsna_synthetic.py) and the 256x256 recipe
# (projects/rsna_mask_rcnn/configs/) derive from it.
_base_ = ['../mask_rcnn_rsna.py']

img_scale = (256, 256)
train_pipeline, test_pipeline = (
    [dict(t, scale=img_scale) if t.type == 'Resize' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
tta_pipeline = [_base_.tta_pipeline[0], dict(_base_.tta_pipeline[1], transforms=[
    [t for t in test_pipeline if t['type'] == 'Resize'], *_base_.tta_pipeline[1].transforms[1:]])]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
