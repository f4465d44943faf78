"""Predict files and folders into an output folder (the body of ``tools/infer.py``).

Outputs under ``out`` (``<name>``: the input's identifier-free unique stem,
:func:`mmchest.apis.inputs.resolve_inputs`): ``masks/<name>.png`` (segmentation, 0/255) or
``boxes/<name>.json`` (detection), ``overlays/<name>.png``, ``summary.csv`` and ``errors.csv``.
See ``tools/infer.py`` and docs/inference.md for the formats.
"""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
import sys
from typing import Optional, Sequence, TextIO, Tuple

import cv2
import numpy as np

from .inferencers import init_inferencer
from .inputs import READ_ERRORS, resolve_inputs
from .prediction import Prediction

__all__ = ['boxes_json', 'write_errors', 'infer_to_folder']


def _write_png(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        raise OSError(f'could not write {path}')


def boxes_json(name: str, pred: Prediction, score_thr: float) -> dict:
    """The JSON document written to ``boxes/<name>.json``.

    ``{"image", "height", "width", "score_thr", "boxes": [{"x1", "y1", "x2", "y2",
    "score"}, ...]}``: original-image pixels, the boxes above ``score_thr``, highest first.
    """
    height, width = pred.image.shape[:2]
    return dict(image=name, height=int(height), width=int(width), score_thr=score_thr,
                boxes=[dict(x1=round(float(b[0]), 2), y1=round(float(b[1]), 2),
                            x2=round(float(b[2]), 2), y2=round(float(b[3]), 2),
                            score=round(float(s), 5))
                       for b, s in zip(pred.boxes, pred.scores)])


def write_errors(out: str, errors: Sequence[Tuple[str, str]]) -> None:
    """``errors.csv``: ``source,error``, one row per input (header only when none)."""
    with open(osp.join(out, 'errors.csv'), 'w', newline='') as f:
        csv.writer(f).writerows([('source', 'error')] + list(errors))


def infer_to_folder(config: str, checkpoint: Optional[str], inputs: Sequence[str], out: str,
                    score_thr: float = 0.5, device: Optional[str] = None,
                    overlays: bool = True, max_pixels: Optional[int] = None,
                    cfg_options: Optional[dict] = None, stdout: TextIO = None,
                    stderr: TextIO = None, formats: Sequence[str] = ('native', ),
                    seg_type: str = 'binary', backend: str = 'pytorch') -> int:
    """Predict DICOM/PNG files and folders with a model of this project into ``out``.

    Before the model loads, ``out`` is created and proved writable and every input is
    resolved (missing ones are listed); a file that cannot be read is reported and skipped
    while the others run.

    Args:
        config (str): mmseg or mmdet config.
        checkpoint (str, optional): Checkpoint (must fit the model).
        inputs (Sequence[str]): Files and folders (searched recursively).
        out (str): Output folder.
        score_thr (float): Detection: boxes with ``score > score_thr``. Defaults to 0.5.
        device (str, optional): None picks CUDA when available.
        overlays (bool): Write ``overlays/<name>.png``. Defaults to True.
        max_pixels (int, optional): DICOM pixel budget; None keeps the config's.
        cfg_options (dict, optional): Config overrides, as ``mim test --cfg-options``.
        stdout, stderr (TextIO, optional): Where the summary line and the progress/errors
            go. Default: ``sys.stdout`` / ``sys.stderr``.
        formats (Sequence[str]): ``'native'`` (masks/boxes, the default) and/or ``'dicom'``
            (``dicom/<name>.dcm``: SEG or SR, :mod:`mmchest.apis.dicom_output`; a non-DICOM
            input is listed in ``errors.csv``).
        seg_type (str): ``--format dicom`` SEGs: ``'binary'`` or ``'fractional'``.
        backend (str): ``'pytorch'`` or ``'onnxruntime'`` (``checkpoint`` is then the
            ``.onnx`` file of ``tools/export.py``). Defaults to 'pytorch'.

    Returns:
        int: Exit status: 0 all done; 1 the checkpoint cannot be used; 2 ``out`` is not a
        writable folder or no input file exists; 3 some inputs were missing or unreadable
        (the others were written).
    """
    from mmengine.utils import ProgressBar

    from mmchest.engine.checkpoint_fit import CHECKPOINT_ERRORS
    from mmchest.io.output_dir import check_writable_dir, tmp_prefix
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr

    try:
        check_writable_dir(out, tmp_prefix('infer'), subdirs=('masks', 'boxes', 'overlays'))
    except OSError as err:
        print(f'error: --out {out!r} is not a writable folder ({type(err).__name__}: '
              f'{err})', file=stderr)
        return 2
    paths, names, errors = resolve_inputs(inputs)
    for source, reason in errors:
        stderr.write(f'skipped {source}: {reason}\n')
    if not paths:
        write_errors(out, errors)
        print(f'no DICOM or PNG files in {list(inputs)}', file=stderr)
        return 2
    try:
        inferencer = init_inferencer(config, checkpoint, device=device, score_thr=score_thr,
                                     cfg_options=cfg_options, max_pixels=max_pixels,
                                     backend=backend)
    except CHECKPOINT_ERRORS + ((ValueError, ) if backend == 'onnxruntime' else ()) as err:
        print(f'error: {err}', file=stderr)
        return 1
    dicom = None
    if 'dicom' in formats:
        from .dicom_output import DerivedObjectError, DicomOutput, write_dicom_file
        try:
            dicom = DicomOutput(inferencer, config, checkpoint, seg_type=seg_type)
        except DerivedObjectError as err:
            print(f'error: --format dicom: {err}', file=stderr)
            return 2
    detail = 'mask_pixels' if inferencer.task == 'seg' else 'num_boxes'
    n_pos = n_done = 0
    print(f'{len(paths)} image(s), {inferencer.task} model on {inferencer.device}',
          file=stderr)
    bar = ProgressBar(len(paths), file=stderr)
    with open(osp.join(out, 'summary.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'source', 'probability', 'has_finding', detail])
        for path, name in zip(paths, names):
            try:
                pred = inferencer.predict_file(path)
            except READ_ERRORS as err:
                reason = f'{type(err).__name__}: {err}'.replace('\n', ' ')
                stderr.write(f'\nskipped {path}: {reason}\n')
                errors.append((path, reason))
                bar.update()
                continue
            native = 'native' in formats
            if pred.mask is not None:
                if native:
                    _write_png(osp.join(out, 'masks', f'{name}.png'), pred.mask * 255)
                value = int(pred.mask.sum())
            else:
                if native:
                    os.makedirs(osp.join(out, 'boxes'), exist_ok=True)
                    with open(osp.join(out, 'boxes', f'{name}.json'), 'w') as fj:
                        json.dump(boxes_json(name, pred, score_thr), fj, indent=1)
                value = len(pred.boxes)
            reason = None if dicom is None else write_dicom_file(dicom, pred, out, name)
            if reason:
                stderr.write(f'\n{path}: {reason}\n')
                errors.append((path, reason))
            if overlays:
                _write_png(osp.join(out, 'overlays', f'{name}.png'), pred.overlay())
            writer.writerow([name, path, f'{pred.probability:.6f}', int(pred.has_finding),
                             value])
            f.flush()
            n_pos += pred.has_finding
            n_done += 1
            bar.update()
    stderr.write('\n')
    write_errors(out, errors)
    print(f'wrote {out}: {n_done} image(s), {n_pos} with a finding'
          + (f'; {len(errors)} input(s) missing or unreadable, skipped (errors.csv)'
             if errors else ''), file=stdout)
    return 3 if errors else 0
