# What every RSNA classification config shares (resnet50_rsna.py, vgg16_rsna.py and the
# CPU demo): the RSNA image-level data (datasets/rsna_cls.py), mmpretrain's default runtime,
# and mmchest.cls imported for the dataset, transforms and metric.
_base_ = ['mmpretrain::_base_/default_runtime.py', './datasets/rsna_cls.py']
custom_imports = dict(imports=['mmchest.cls'], allow_failed_imports=False)
