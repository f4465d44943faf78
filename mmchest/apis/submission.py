"""Kaggle submission rows from an inferencer (the bodies of the two submission tools).

- SIIM-ACR Pneumothorax: ``ImageId,EncodedPixels``, the SIIM RLE of each mask (relative,
  column-major, 1-indexed; ``-1`` for an empty mask or an unreadable file);
- RSNA Pneumonia Detection: ``patientId,PredictionString``, ``score x y width height``
  groups in original-image pixels, highest score first.
"""
from __future__ import annotations

import os
import os.path as osp
import sys
from typing import List, Tuple

__all__ = ['siim_submission_rows', 'list_dicoms', 'rsna_submission_rows']


def siim_submission_rows(inferencer, dicom_dir: str, relative: bool = True
                         ) -> Tuple[List[Tuple[str, str]], int]:
    """One row per DICOM under ``dicom_dir``, as the config's test pipeline predicts it.

    The test images are read by ``SIIMPneumothoraxDataset`` (recursive ``*.dcm`` search,
    build-time header check with ``bad_files='skip'``) with the pipeline ``mim test`` runs;
    the config's post-processing (triplet thresholding) applies. A file refused at build
    time or failing to load is logged (error level) and written as ``-1``.

    Args:
        inferencer (ChestSegInferencer): The model.
        dicom_dir (str): Folder searched recursively for ``*.dcm``.
        relative (bool): SIIM relative RLE (True) or absolute 1-indexed starts.
            Defaults to True.

    Returns:
        tuple[list[tuple[str, str]], int]: ``(ImageId, EncodedPixels)`` rows sorted by
        ImageId, and how many files could not be read.
    """
    from mmengine.logging import print_log
    from mmengine.utils import ProgressBar

    from mmchest.engine.bad_files import BadFilesError
    from mmchest.io.rle import rle_encode
    from mmchest.seg.datasets import SIIMPneumothoraxDataset

    from .pipeline import mim_test_pipeline

    # bad_files='skip': files that fail the build-time header check are listed, not fatal
    try:
        dataset = SIIMPneumothoraxDataset(ann_file='', data_root=None,
                                          data_prefix=dict(img_path=dicom_dir),
                                          pipeline=mim_test_pipeline(inferencer.cfg),
                                          test_mode=True, bad_files='skip')
        bad = dataset.bad_files
    except BadFilesError as err:  # not one readable DICOM
        dataset, bad = [], err.bad
    rows, failed = [], 0
    for path, reason in bad:
        image_id = os.path.basename(path)[:-len('.dcm')]
        print_log(f'{image_id}: cannot read ({reason}); writing -1', logger='current', level=40)
        rows.append((image_id, '-1'))
        failed += 1
    bar = ProgressBar(len(dataset))
    for idx in range(len(dataset)):
        image_id = dataset.get_data_info(idx)['image_id']
        try:
            (_, pred), = inferencer.predict_dataset(dataset=dataset, indices=[idx])
        except (OSError, ValueError) as err:  # DicomReadError is a ValueError
            print_log(f'\n{image_id}: cannot read ({err}); writing -1', logger='current',
                      level=40)
            rows.append((image_id, '-1'))
            failed += 1
            bar.update()
            continue
        mask = pred.mask
        rows.append((image_id, rle_encode(mask, relative=relative) if mask.any() else '-1'))
        bar.update()
    rows.sort()
    return rows, failed


def list_dicoms(img_dir: str) -> List[str]:
    """Sorted ``*.dcm`` paths directly inside ``img_dir``.

    Raises:
        FileNotFoundError: The folder does not exist (with the dataset README to read) or
            holds no ``.dcm`` file.
    """
    if not osp.isdir(img_dir):
        from mmchest.data_root import require_paths
        require_paths([img_dir], 'RSNA Pneumonia Detection test images',
                      'datasets/rsna/README.md')
    paths = sorted(osp.join(img_dir, f) for f in os.listdir(img_dir)
                   if f.lower().endswith('.dcm'))
    if not paths:
        raise FileNotFoundError(f'no .dcm files in {img_dir!r}')
    return paths


def rsna_submission_rows(inferencer, paths: List[str], score_thr: float,
                         batch_size: int = 4, progress: bool = True
                         ) -> Tuple[List[Tuple[str, str]], int]:
    """``(patientId, PredictionString)`` per DICOM (the file stem is the patientId).

    Args:
        inferencer (ChestDetInferencer): The detector.
        paths (list[str]): DICOM files, e.g. from :func:`list_dicoms`.
        score_thr (float): Keep boxes with ``score > score_thr``.
        batch_size (int): Images per ``test_step``. Defaults to 4.
        progress (bool): Progress bar on stderr. Defaults to True.

    Returns:
        tuple[list[tuple[str, str]], int]: The rows, in the order of ``paths``, and the
        number of boxes written.
    """
    from mmengine.utils import ProgressBar

    from mmchest.io.rsna_labels import format_prediction_string
    bar = ProgressBar(len(paths), file=sys.stderr) if progress else None
    rows, n_boxes = [], 0
    for path, pred in zip(paths, inferencer.predict_files(paths, batch_size)):
        text = format_prediction_string(pred.all_boxes, pred.all_scores, score_thr=score_thr,
                                        image_hw=tuple(pred.image.shape[:2]))
        n_boxes += len(text.split()) // 5
        rows.append((osp.splitext(osp.basename(path))[0], text))
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    return rows, n_boxes
