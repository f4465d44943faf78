"""Predictions of the inference API as DICOM: a SEG (segmentation) or an SR (detection).

    from mmchest.apis import init_inferencer
    from mmchest.apis.dicom_output import DicomOutput
    inferencer = init_inferencer('configs/unet_siim.py', 'iter_40000.pth')
    output = DicomOutput(inferencer, 'configs/unet_siim.py', 'iter_40000.pth')
    output.write(inferencer.predict_file('image.dcm'), 'image_seg.dcm')

Segmentation configs give a DICOM Segmentation (:mod:`mmchest.io.dicom_seg`): ``BINARY``
from the post-processed mask (default) or ``FRACTIONAL`` from the probability map; detection
configs give a TID 1500 Comprehensive 3D SR with one planar ROI and probability per box above
the score threshold (:mod:`mmchest.io.dicom_sr`). The finding is the config's foreground
class (SIIM: pneumothorax, SCT 36118008; RSNA and multi-expert: pneumonia, SCT 233604007).
The algorithm is identified by the config's and checkpoint's names and SHA-256 (and the
detector's score threshold). Only a DICOM input can be the source of a derived object;
anything else raises :class:`~mmchest.io.dicom_derived.DerivedObjectError`.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
from typing import Any, Literal, Optional, Union

from pydicom.dataset import Dataset

from mmchest.io.dicom_derived import AlgorithmInfo, DerivedObjectError, sha256_file
from mmchest.io.dicom_seg import build_segmentation
from mmchest.io.dicom_sr import build_measurement_report

from .prediction import Prediction

__all__ = ['DicomOutput', 'SEG_TYPES', 'OUTPUT_FORMATS', 'finding_name', 'algorithm_info',
           'prediction_to_dicom', 'write_dicom_file']

PathLike = Union[str, 'os.PathLike[str]']
SegType = Literal['binary', 'fractional']
#: Accepted ``seg_type`` values.
SEG_TYPES = ('binary', 'fractional')
#: ``tools/infer.py --format`` values: ``native`` (masks/*.png or boxes/*.json) and
#: ``dicom`` (dicom/<name>.dcm, SEG or SR).
OUTPUT_FORMATS = ('native', 'dicom')


def finding_name(inferencer: Any) -> str:
    """The finding a model predicts: the last class of its dataset (the foreground).

    Read from the test dataset's ``metainfo`` in the config, else from the dataset class's
    ``METAINFO``, else from the model's ``dataset_meta`` (mmdet puts COCO's there when
    there is no checkpoint, so it comes last).

    Args:
        inferencer (ChestInferencer): the inferencer.

    Returns:
        str: e.g. ``'pneumothorax'``; ``'finding'`` when no class names are found.
    """
    dataset = inferencer.cfg.get('test_dataloader', {}).get('dataset', {})
    classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and dataset.get('type'):
        try:
            cls = inferencer._dataset_registry().get(dataset['type'])
            classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
        except Exception:  # noqa: BLE001  (no registry: the model's meta, else 'finding')
            classes = None
    if not classes:
        meta = getattr(getattr(inferencer, 'model', None), 'dataset_meta', None) or {}
        classes = meta.get('classes')
    return str(classes[-1]) if classes else 'finding'


def algorithm_info(inferencer: Any, config: Optional[PathLike] = None,
                   checkpoint: Optional[PathLike] = None) -> AlgorithmInfo:
    """The :class:`AlgorithmInfo` of an inferencer.

    Args:
        inferencer (ChestInferencer): the inferencer.
        config (str | PathLike, optional): its config file; ``inferencer.cfg.filename`` if
            None. A config without a file is hashed from its text (``cfg.pretty_text``).
        checkpoint (str | PathLike, optional): its checkpoint; None for untrained weights.

    Returns:
        AlgorithmInfo: names and SHA-256 of the config and checkpoint, plus ``score_thr``
        for a detector.
    """
    extra = {'score_thr': f'{inferencer.score_thr:g}'} if inferencer.task == 'det' else {}
    config = config or getattr(inferencer.cfg, 'filename', None)
    if config and osp.isfile(config):
        return AlgorithmInfo.from_files(config, checkpoint, extra=extra)
    name = osp.basename(os.fspath(config)) if config else 'config.py'
    return AlgorithmInfo(
        model_name=osp.splitext(name)[0], config_name=name,
        config_sha256=hashlib.sha256(inferencer.cfg.pretty_text.encode('utf-8')).hexdigest(),
        checkpoint_name=None if checkpoint is None else osp.basename(os.fspath(checkpoint)),
        checkpoint_sha256=None if checkpoint is None else sha256_file(checkpoint),
        extra=extra)


def prediction_to_dicom(prediction: Prediction,
                        algorithm: AlgorithmInfo,
                        finding: str,
                        *,
                        seg_type: SegType = 'binary',
                        source: Union[PathLike, Dataset, None] = None,
                        **kwargs: Any) -> Dataset:
    """One prediction as a SEG (mask) or SR (boxes).

    Args:
        prediction (Prediction): a segmentation or detection result.
        algorithm (AlgorithmInfo): the model.
        finding (str): the class name, e.g. ``'pneumothorax'``.
        seg_type (str): ``'binary'`` (the mask) or ``'fractional'`` (the probability map).
            Defaults to 'binary'.
        source (str | PathLike | Dataset, optional): the DICOM source;
            ``prediction.source`` if None.
        **kwargs: UIDs and numbers for the builders (``series_instance_uid``,
            ``instance_number``, ...).

    Returns:
        pydicom.Dataset: a ``highdicom.seg.Segmentation`` or ``highdicom.sr.Comprehensive3DSR``.

    Raises:
        DerivedObjectError: a non-DICOM source, a classification result, or a prediction
            that does not fit its source.
    """
    if seg_type not in SEG_TYPES:
        raise DerivedObjectError(f'seg_type must be one of {SEG_TYPES}, got {seg_type!r}')
    source = prediction.source if source is None else source
    if isinstance(source, (str, os.PathLike)) and not os.fspath(source):
        raise DerivedObjectError('the prediction has no source file to reference')
    if prediction.mask is not None:
        if seg_type == 'fractional':
            if prediction.probability_map is None:
                raise DerivedObjectError('a fractional SEG needs the probability map')
            return build_segmentation(source, prediction.probability_map, algorithm,
                                      finding=finding, kind='fractional', **kwargs)
        return build_segmentation(source, prediction.mask, algorithm, finding=finding,
                                  kind='binary', **kwargs)
    if prediction.boxes is not None:
        scores = prediction.scores if prediction.scores is not None else []
        return build_measurement_report(source, prediction.boxes, scores, algorithm,
                                        finding=finding,
                                        image_probability=float(prediction.probability),
                                        **kwargs)
    raise DerivedObjectError('only segmentation (SEG) and detection (SR) results have a DICOM '
                             'output')


class DicomOutput:
    """Turns one inferencer's predictions into SEG/SR data sets or files.

    Args:
        inferencer (ChestInferencer): a segmentation or detection inferencer.
        config (str | PathLike, optional): its config file (hashed); the inferencer's if None.
        checkpoint (str | PathLike, optional): its checkpoint (hashed); None for untrained
            weights.
        seg_type (str): ``'binary'`` or ``'fractional'`` SEGs. Defaults to 'binary'.
        finding (str, optional): the class name; :func:`finding_name` if None.

    Attributes:
        algorithm (AlgorithmInfo): what every output says about the model.
        finding (str): the finding's class name.
    """

    def __init__(self, inferencer: Any, config: Optional[PathLike] = None,
                 checkpoint: Optional[PathLike] = None, seg_type: SegType = 'binary',
                 finding: Optional[str] = None) -> None:
        if inferencer.task not in ('seg', 'det'):
            raise DerivedObjectError(f'{inferencer.task!r} models have no DICOM output '
                                     '(segmentation: SEG, detection: SR)')
        if seg_type not in SEG_TYPES:
            raise DerivedObjectError(f'seg_type must be one of {SEG_TYPES}, got {seg_type!r}')
        self.task = inferencer.task
        self.seg_type = seg_type
        self.finding = finding or finding_name(inferencer)
        self.algorithm = algorithm_info(inferencer, config, checkpoint)

    @property
    def modality(self) -> str:
        """str: ``'SEG'`` or ``'SR'``."""
        return 'SEG' if self.task == 'seg' else 'SR'

    def build(self, prediction: Prediction, source: Union[PathLike, Dataset, None] = None,
              **kwargs: Any) -> Dataset:
        """The SEG/SR of one prediction (see :func:`prediction_to_dicom`)."""
        return prediction_to_dicom(prediction, self.algorithm, self.finding,
                                   seg_type=self.seg_type, source=source, **kwargs)

    def write(self, prediction: Prediction, path: PathLike,
              source: Union[PathLike, Dataset, None] = None, **kwargs: Any) -> Dataset:
        """Build the SEG/SR of one prediction and write it to ``path`` (DICOM Part 10).

        Returns:
            pydicom.Dataset: the object as written.
        """
        ds = self.build(prediction, source, **kwargs)
        ds.save_as(os.fspath(path), enforce_file_format=True)
        return ds


def write_dicom_file(output: DicomOutput, prediction: Prediction, out: PathLike,
                     name: str) -> Optional[str]:
    """Write ``<out>/dicom/<name>.dcm`` (``tools/infer.py --format dicom``).

    Args:
        output (DicomOutput): the inferencer's output.
        prediction (Prediction): one result; its ``source`` must be a DICOM file.
        out (str | PathLike): the output folder.
        name (str): the output name (identifier-free, as the tool's other outputs).

    Returns:
        str, optional: None when written, else the reason for ``errors.csv`` (e.g. a PNG
        input: "DICOM output: not a DICOM file: ...").
    """
    folder = osp.join(os.fspath(out), 'dicom')
    os.makedirs(folder, exist_ok=True)
    try:
        output.write(prediction, osp.join(folder, f'{name}.dcm'))
    except DerivedObjectError as err:
        return f'DICOM output: {err}'
    return None
