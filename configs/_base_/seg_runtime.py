# What every segmentation entry config shares (unet_siim.py, unet_multi_expert_pneumonia.py,
# the chest_image_pneum project): mmseg's default runtime, with mmchest.seg imported for the
# datasets, transforms, models and metrics. Listed beside a dataset, a model and a schedule.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmchest.seg'], allow_failed_imports=False)
