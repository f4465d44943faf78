"""PACS round trip over DICOMweb (QIDO-RS, WADO-RS, STOW-RS) with a model of this project.

    from dicomweb_client import DICOMwebClient
    from mmchest.pacs import model_deriver, process_study
    client = DICOMwebClient('http://127.0.0.1:8042/dicom-web')
    derive = model_deriver('configs/unet_siim.py', 'iter_40000.pth')
    results = process_study(client, study_uid, derive)   # one InstanceResult per image

:mod:`mmchest.pacs.dicomweb` is framework-free; :func:`model_deriver` loads the model through
the inference API (:mod:`mmchest.apis`) when called.
"""
from __future__ import annotations

from typing import Any, Optional

from .dicomweb import (SKIPPED_MODALITIES, Derive, InstanceResult, derived_sources, image_instances,
                       process_study, study_uids, watch)

__all__ = ['Derive', 'InstanceResult', 'SKIPPED_MODALITIES', 'derived_sources',
           'image_instances', 'model_deriver', 'process_study', 'study_uids', 'watch']


def model_deriver(config: str, checkpoint: Optional[str] = None, *, seg_type: str = 'binary',
                  device: Optional[str] = None, score_thr: float = 0.5,
                  cfg_options: Optional[dict] = None, **kwargs: Any) -> Derive:
    """A :data:`Derive` callable: the model's SEG (segmentation) or SR (detection) of a file.

    Args:
        config (str): a segmentation or detection config of this project.
        checkpoint (str, optional): its checkpoint; None keeps the initial weights.
        seg_type (str): ``'binary'`` or ``'fractional'`` SEGs. Defaults to 'binary'.
        device (str, optional): e.g. ``'cpu'``; None picks CUDA when available.
        score_thr (float): detection: boxes with ``score > score_thr``. Defaults to 0.5.
        cfg_options (dict, optional): config overrides, as ``mim test --cfg-options``.
        **kwargs: further arguments of :func:`mmchest.apis.init_inferencer`.

    Returns:
        Derive: ``derive(source_path, series_instance_uid, instance_number) -> Dataset``;
        the callable has ``inferencer`` and ``output`` (a
        :class:`~mmchest.apis.dicom_output.DicomOutput`) attributes.
    """
    from mmchest.apis import init_inferencer
    from mmchest.apis.dicom_output import DicomOutput
    inferencer = init_inferencer(config, checkpoint, device=device, cfg_options=cfg_options,
                                 score_thr=score_thr, **kwargs)
    output = DicomOutput(inferencer, config, checkpoint, seg_type=seg_type)

    def derive(source_path: str, series_instance_uid: str, instance_number: int):
        prediction = inferencer.predict_file(source_path)
        return output.build(prediction, source_path, series_instance_uid=series_instance_uid,
                            instance_number=instance_number)

    derive.inferencer = inferencer  # type: ignore[attr-defined]
    derive.output = output  # type: ignore[attr-defined]
    return derive
