"""mmchest.apis.pipeline: the test pipeline as mim test reads it, made DICOM-aware."""
import pytest
from mmengine.config import Config

from mmchest.apis.pipeline import inference_pipeline, mim_test_pipeline


def test_inference_pipeline_drops_labels():
    steps = inference_pipeline([dict(type='LoadImageFromFile', to_float32=True),
                                dict(type='LoadExpertMasks'),
                                dict(type='Resize', scale=(8, 8)),
                                dict(type='LoadAnnotations'),
                                dict(type='PackSegInputs')])
    assert steps == [dict(type='LoadDicomImageFromFile', to_float32=True),
                     dict(type='Resize', scale=(8, 8)), dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match='image loader'):
        inference_pipeline([dict(type='Resize', scale=(8, 8))])
    # a larger budget on the command line lets a big (honest) file through
    steps = inference_pipeline([dict(type='LoadDicomImageFromFile')], max_pixels=10)
    assert steps[0]['max_pixels'] == 10


def test_mim_test_pipeline_is_the_test_dataloaders_after_cfg_options():
    cfg = Config(dict(test_pipeline=[dict(type='LoadImageFromFile'), dict(type='Old')],
                      test_dataloader=dict(dataset=dict(pipeline=[
                          dict(type='LoadImageFromFile'), dict(type='New')]))))
    assert [s['type'] for s in mim_test_pipeline(cfg)] == ['LoadImageFromFile', 'New']
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.1.type': 'Override'})
    assert mim_test_pipeline(cfg)[1]['type'] == 'Override'
    # a test dataset without a pipeline of its own falls back to test_pipeline
    cfg = Config(dict(test_pipeline=[dict(type='LoadImageFromFile')],
                      test_dataloader=dict(dataset=dict(type='ConcatDataset'))))
    assert mim_test_pipeline(cfg) == [dict(type='LoadImageFromFile')]
    with pytest.raises(ValueError, match='no test_dataloader.dataset.pipeline'):
        mim_test_pipeline(Config(dict(test_dataloader=dict(dataset=dict()))))
