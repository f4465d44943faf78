#!/usr/bin/env python
"""Run a trained mmchest model (mmseg or mmdet config) on DICOM / PNG files.

    python tools/infer.py configs/unet_siim.py work_dirs/unet_siim/iter_40000.pth \
        datasets/siim/dicom-images-test extra.png --out work_dirs/infer_siim
    python tools/infer.py configs/mask_rcnn_rsna.py work_dirs/mask_rcnn_rsna/epoch_12.pth \
        datasets/rsna/stage_2_test_images --out work_dirs/infer_rsna --score-thr 0.9

Inputs are files (read as DICOM when they end in .dcm/.dicom or carry the DICOM prefix,
otherwise as an image) or folders, searched recursively for *.dcm, *.dicom and *.png.
Before the model loads, every input is resolved (a missing one is listed in ``errors.csv``,
the others go on) and ``--out`` is created and proved writable (otherwise exit status 2).

Outputs under ``--out``. ``<name>`` is the input file's stem, made unique with ``_2``, ...;
a DICOM whose stem contains its PatientID or PatientName (the rule of
:mod:`mmchest.io.safe_names`, shared with ``tools/dicom_to_png.py``) is named by its
SOPInstanceUID instead, or ``sha256-<16 hex digits>`` of the file when the UID is missing,
carries the identifier too, or the header cannot be parsed; ``summary.csv`` maps names to
sources:

- segmentation: ``masks/<name>.png``, 8-bit, original size, 0 = background, 255 = finding
  (after the config's post-processing, e.g. SIIM triplet thresholding);
- detection: ``boxes/<name>.json``, ``{"image", "height", "width", "score_thr", "boxes":
  [{"x1", "y1", "x2", "y2", "score"}, ...]}`` in original-image pixels, boxes with
  ``score > --score-thr``, highest score first;
- ``overlays/<name>.png``: the radiograph with the mask contour, or with the boxes and scores;
- ``summary.csv``: ``image,source,probability,has_finding,mask_pixels|num_boxes``, one row
  per image. ``probability`` is the has-finding score: the maximum foreground probability
  (segmentation) or the highest box score (detection; 0 without boxes).

- ``errors.csv``: ``source,error``, one row per input that is missing or cannot be read
  (header only when there is none, so a rerun never leaves an old list behind).

A missing or unreadable input is reported on stderr and in ``errors.csv`` and skipped; the
run goes on with the others and exits with status 3. ``source`` columns repeat the input
paths as given. The model runs on CUDA when available (``--device``).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Suffixes picked up when an input is a folder (lower case).
INPUT_SUFFIXES: Tuple[str, ...] = ('.dcm', '.dicom', '.png')
#: Pipeline steps that load labels; inference drops them.
_LABEL_LOADERS = ('LoadAnnotations', 'LoadRLEMask', 'LoadExpertMasks')
#: Errors that mean "this input cannot be read" (DicomReadError is a ValueError).
READ_ERRORS = (OSError, ValueError, cv2.error)
MASK_COLOR = (0, 0, 255)  # BGR red
BOX_COLOR = (0, 255, 255)  # BGR yellow


# ----------------------------------------------------------------------------- inputs
def collect_inputs(inputs: Iterable[str],
                   suffixes: Sequence[str] = INPUT_SUFFIXES) -> Tuple[List[str], List[str]]:
    """Expand files and folders into a sorted, de-duplicated list of files.

    Args:
        inputs (Iterable[str]): Files (kept whatever their suffix) and folders (searched
            recursively for ``suffixes``).
        suffixes (Sequence[str]): Lower-case endings taken from folders.
            Defaults to :data:`INPUT_SUFFIXES`.

    Returns:
        tuple[list[str], list[str]]: The files (folder contents sorted, in the order of
        ``inputs``) and the inputs that do not exist.
    """
    files: List[str] = []
    missing: List[str] = []
    for item in inputs:
        if osp.isdir(item):
            found = [osp.join(root, name)
                     for root, _, names in os.walk(item, followlinks=True)
                     for name in names if name.lower().endswith(tuple(suffixes))]
            files.extend(sorted(found))
        elif osp.exists(item):
            files.append(item)
        else:
            missing.append(item)
    seen = set()
    files = [f for f in files if not (osp.abspath(f) in seen or seen.add(osp.abspath(f)))]
    return files, missing


def unique_names(paths: Sequence[str], stems: Optional[Sequence[str]] = None) -> List[str]:
    """Output names: each file's stem; repeated stems get ``_2``, ``_3``, ... in order.

    Args:
        paths (Sequence[str]): Input files.
        stems (Sequence[str], optional): Names to use instead of the file stems (e.g. from
            :func:`mmchest.io.safe_names.safe_stem`). Defaults to None.

    Returns:
        list[str]: One name per path, all distinct.
    """
    if stems is None:
        stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    used: Dict[str, int] = {}
    taken = set()
    names = []
    for stem in stems:
        stem = stem or 'image'
        name, k = stem, used.get(stem, 1)
        while name in taken:
            k += 1
            name = f'{stem}_{k}'
        used[stem] = k
        taken.add(name)
        names.append(name)
    return names


# ---------------------------------------------------------------------------- overlays
def to_display(img: np.ndarray) -> np.ndarray:
    """An 8-bit BGR copy of a loaded image (float images are min-max scaled).

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` image, any dtype.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8.
    """
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        img = ((img - lo) * (255.0 / (hi - lo)) if hi > lo else img * 0).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 1:
        img = cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[..., :3])


def _thickness(shape: Sequence[int]) -> int:
    return max(1, int(round(max(shape[:2]) / 256)))


def _label(canvas: np.ndarray, text: str, org: Tuple[int, int], color) -> None:
    scale = max(0.3, max(canvas.shape[:2]) / 1024)
    thick = _thickness(canvas.shape)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(org[0], 0), max(canvas.shape[1] - w, 0)))
    y = int(min(max(org[1], h + base), canvas.shape[0] - 1))
    cv2.rectangle(canvas, (x, y - h - base), (x + w, y), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick,
                cv2.LINE_AA)


def mask_overlay(img: np.ndarray, mask: np.ndarray, probability: Optional[float] = None,
                 color: Tuple[int, int, int] = MASK_COLOR) -> np.ndarray:
    """Draw the contour of a binary mask on the radiograph.

    Args:
        img (np.ndarray): The radiograph, ``(H, W)`` or ``(H, W, 3)``.
        mask (np.ndarray): ``(H, W)`` mask; non-zero = finding.
        probability (float, optional): Written in the top-left corner when given.
        color (tuple[int, int, int]): BGR contour colour. Defaults to red.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR overlay.
    """
    canvas = to_display(img).copy()
    if mask.shape[:2] != canvas.shape[:2]:
        raise ValueError(f'mask shape {mask.shape[:2]} differs from image shape '
                         f'{canvas.shape[:2]}')
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, color, _thickness(canvas.shape))
    if probability is not None:
        _label(canvas, f'p={probability:.2f}', (0, 0), color)
    return canvas


def box_overlay(img: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                probability: Optional[float] = None,
                color: Tuple[int, int, int] = BOX_COLOR) -> np.ndarray:
    """Draw boxes ``(x1, y1, x2, y2)`` and their scores on the radiograph.

    Args:
        img (np.ndarray): The radiograph, ``(H, W)`` or ``(H, W, 3)``.
        boxes (np.ndarray): ``(N, 4)`` boxes in image pixels.
        scores (np.ndarray): ``(N,)`` scores.
        probability (float, optional): Written in the top-left corner when given.
        color (tuple[int, int, int]): BGR colour. Defaults to yellow.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR overlay.
    """
    canvas = to_display(img).copy()
    thick = _thickness(canvas.shape)
    for (x1, y1, x2, y2), score in zip(np.asarray(boxes).reshape(-1, 4), scores):
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(canvas, p1, p2, color, thick)
        _label(canvas, f'{float(score):.2f}', (p1[0], p1[1]), color)
    if probability is not None:
        _label(canvas, f'p={probability:.2f}', (0, 0), color)
    return canvas


# ---------------------------------------------------------------------------- predictor
@dataclass
class Prediction:
    """One image's result.

    Attributes:
        image (np.ndarray): The radiograph as loaded, ``(H, W, 3)`` uint8 BGR.
        probability (float): Has-finding score in [0, 1].
        has_finding (bool): Non-empty mask, or at least one box above the threshold.
        mask (np.ndarray, optional): Segmentation: ``(H, W)`` uint8 0/1.
        boxes (np.ndarray, optional): Detection: ``(N, 4)`` boxes above the threshold.
        scores (np.ndarray, optional): Detection: their ``(N,)`` scores.
    """
    image: np.ndarray
    probability: float
    has_finding: bool
    mask: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None
    extra: dict = field(default_factory=dict)

    def overlay(self) -> np.ndarray:
        """The overlay image (mask contour or boxes), ``(H, W, 3)`` uint8 BGR."""
        if self.mask is not None:
            return mask_overlay(self.image, self.mask, self.probability)
        return box_overlay(self.image, self.boxes, self.scores, self.probability)


def inference_pipeline(pipeline_cfg: Sequence[dict],
                       max_pixels: Optional[int] = None) -> List[dict]:
    """The test pipeline without label loaders, reading DICOM and PNG alike.

    ``LoadImageFromFile`` becomes ``LoadDicomImageFromFile`` (which falls back to mmcv's
    decoding for non-DICOM files), keeping its shared arguments.

    Args:
        pipeline_cfg (Sequence[dict]): The config's test pipeline.
        max_pixels (int, optional): Pixel budget of the DICOM loader; None keeps the
            config's (default 8192 x 8192). Defaults to None.

    Returns:
        list[dict]: The inference pipeline; its first step loads the image.
    """
    keep = ('to_float32', 'color_type', 'imdecode_backend', 'backend_args', 'ignore_empty')
    out = []
    for step in pipeline_cfg:
        step = dict(step)
        kind = str(step['type']).split('.')[-1]
        if kind in _LABEL_LOADERS:
            continue
        if kind == 'LoadImageFromFile':
            step = dict(type='LoadDicomImageFromFile',
                        **{k: v for k, v in step.items() if k in keep})
        out.append(step)
    if not out or 'Load' not in str(out[0]['type']):
        raise ValueError('the test pipeline must start with an image loader, got '
                         f'{out[0]["type"] if out else "an empty pipeline"}')
    if max_pixels is not None and str(out[0]['type']).endswith('LoadDicomImageFromFile'):
        out[0]['max_pixels'] = max_pixels
    return out


class Predictor:
    """Load an mmseg or mmdet model from a config and predict single files.

    Args:
        config (str): Config file (``default_scope`` 'mmseg' or 'mmdet').
        checkpoint (str, optional): Checkpoint; None keeps the initial weights.
        device (str, optional): e.g. ``'cuda:0'``; None picks CUDA when available.
        score_thr (float): Detection: keep boxes with ``score > score_thr``.
            Defaults to 0.5.
        cfg_options (dict, optional): Overrides merged into the config.
        max_pixels (int, optional): Pixel budget of the DICOM loader; None keeps the
            config's. Defaults to None.
    """

    def __init__(self, config: str, checkpoint: Optional[str], device: Optional[str] = None,
                 score_thr: float = 0.5, cfg_options: Optional[dict] = None,
                 max_pixels: Optional[int] = None) -> None:
        import torch
        from mmcv.transforms import Compose
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        import mmchest  # noqa: F401  (registers transforms, datasets, models; safe loading)
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        scope = cfg.get('default_scope', None)
        if scope not in ('mmseg', 'mmdet'):
            raise ValueError(f'{config}: default_scope must be mmseg or mmdet, got {scope!r}')
        self.task = 'seg' if scope == 'mmseg' else 'det'
        self.score_thr = float(score_thr)
        self.device = device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
        init_default_scope(scope)
        if self.task == 'seg':
            from mmchest.seg.inference import load_segmentor
            self.model = load_segmentor(config, checkpoint, device=self.device,
                                        cfg_options=cfg_options)
        else:
            from mmchest.det.inference import load_detector
            self.model = load_detector(config, checkpoint, device=self.device,
                                       cfg_options=cfg_options)
        init_default_scope(scope)
        pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
        steps = Compose(inference_pipeline(pipeline, max_pixels)).transforms
        self._load, self._rest = steps[0], Compose(steps[1:])

    def predict(self, path: str) -> Prediction:
        """Predict one file.

        Args:
            path (str): DICOM or image file.

        Returns:
            Prediction: The result at the file's original size.

        Raises:
            OSError, ValueError, cv2.error: The file cannot be read (DicomReadError is a
                ValueError).
        """
        import torch
        from mmengine.dataset import pseudo_collate

        results = self._load(dict(img_path=path, img_id=0, seg_fields=[]))
        if results is None:
            raise ValueError(f'{path}: cannot be read')
        image = to_display(results['img'])
        data = self._rest(results)
        with torch.no_grad():
            sample = self.model.test_step(pseudo_collate([data]))[0]
        if self.task == 'seg':
            from mmchest.seg.inference import probability_map
            prob = probability_map(sample)
            mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            mask = (mask > 0).astype(np.uint8)
            return Prediction(image=image, probability=float(prob.max()) if prob.size else 0.0,
                              has_finding=bool(mask.any()), mask=mask)
        pred = sample.pred_instances
        boxes = pred.bboxes.cpu().numpy().reshape(-1, 4)
        scores = pred.scores.cpu().numpy().reshape(-1)
        order = np.argsort(-scores, kind='stable')
        boxes, scores = boxes[order], scores[order]
        keep = scores > self.score_thr
        return Prediction(image=image, probability=float(scores.max()) if len(scores) else 0.0,
                          has_finding=bool(keep.any()), boxes=boxes[keep],
                          scores=scores[keep])


# ------------------------------------------------------------------------------- output
def _write_png(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        raise OSError(f'could not write {path}')


def boxes_json(name: str, pred: Prediction, score_thr: float) -> dict:
    """The JSON document written to ``boxes/<name>.json``."""
    height, width = pred.image.shape[:2]
    return dict(image=name, height=int(height), width=int(width), score_thr=score_thr,
                boxes=[dict(x1=round(float(b[0]), 2), y1=round(float(b[1]), 2),
                            x2=round(float(b[2]), 2), y2=round(float(b[3]), 2),
                            score=round(float(s), 5))
                       for b, s in zip(pred.boxes, pred.scores)])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmseg or mmdet config of this project')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='DICOM/PNG files or folders (searched recursively)')
    parser.add_argument('--out', required=True,
                        help='output folder (created; checked before the model loads)')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='detection: keep boxes with score > this (default: %(default)s)')
    parser.add_argument('--device', default=None, help="e.g. 'cuda:0' or 'cpu' (default: "
                        'CUDA when available)')
    parser.add_argument('--no-overlay', action='store_true', help='skip the overlay PNGs')
    parser.add_argument('--max-pixels', type=int, default=None,
                        help='largest DICOM read, Rows x Columns x frames x samples from its '
                        "header (default: the config loader's, 8192 x 8192); larger files "
                        'are listed in errors.csv')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in mim test')
    return parser.parse_args(argv)


def resolve_inputs(inputs: Sequence[str]) -> Tuple[List[str], List[str],
                                                    List[Tuple[str, str]]]:
    """Files to run on, their output names, and the inputs that cannot be used.

    Args:
        inputs (Sequence[str]): Files and folders from the command line.

    Returns:
        tuple: ``(paths, names, errors)``: the readable files, one identifier-free unique
        name each (:func:`mmchest.io.safe_names.safe_stem`, :func:`unique_names`), and
        ``(source, reason)`` for missing or unreadable inputs.
    """
    from mmchest.io.safe_names import safe_stem
    found, missing = collect_inputs(inputs)
    errors = [(item, 'FileNotFoundError: input does not exist') for item in missing]
    paths, stems = [], []
    for path in found:
        try:
            stems.append(safe_stem(path))
        except OSError as err:
            errors.append((path, f'{type(err).__name__}: {err}'.replace('\n', ' ')))
            continue
        paths.append(path)
    return paths, unique_names(paths, stems), errors


def _write_errors(out: str, errors: Sequence[Tuple[str, str]]) -> None:
    with open(osp.join(out, 'errors.csv'), 'w', newline='') as f:
        csv.writer(f).writerows([('source', 'error')] + list(errors))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.utils import ProgressBar

    from mmchest.io.output_dir import check_writable_dir, tmp_prefix

    out = args.out
    try:
        check_writable_dir(out, tmp_prefix('infer'), subdirs=('masks', 'boxes', 'overlays'))
    except OSError as err:
        print(f'error: --out {out!r} is not a writable folder ({type(err).__name__}: '
              f'{err})', file=sys.stderr)
        return 2
    paths, names, errors = resolve_inputs(args.inputs)
    for source, reason in errors:
        sys.stderr.write(f'skipped {source}: {reason}\n')
    if not paths:
        _write_errors(out, errors)
        print(f'no DICOM or PNG files in {args.inputs}', file=sys.stderr)
        return 2
    from mmchest.engine.checkpoint_fit import CHECKPOINT_ERRORS
    try:
        predictor = Predictor(args.config, args.checkpoint, device=args.device,
                              score_thr=args.score_thr, cfg_options=args.cfg_options,
                              max_pixels=args.max_pixels)
    except CHECKPOINT_ERRORS as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    detail = 'mask_pixels' if predictor.task == 'seg' else 'num_boxes'
    n_pos = n_done = 0
    print(f'{len(paths)} image(s), {predictor.task} model on {predictor.device}',
          file=sys.stderr)
    bar = ProgressBar(len(paths), file=sys.stderr)
    with open(osp.join(out, 'summary.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'source', 'probability', 'has_finding', detail])
        for path, name in zip(paths, names):
            try:
                pred = predictor.predict(path)
            except READ_ERRORS as err:
                reason = f'{type(err).__name__}: {err}'.replace('\n', ' ')
                sys.stderr.write(f'\nskipped {path}: {reason}\n')
                errors.append((path, reason))
                bar.update()
                continue
            if pred.mask is not None:
                _write_png(osp.join(out, 'masks', f'{name}.png'), pred.mask * 255)
                value = int(pred.mask.sum())
            else:
                os.makedirs(osp.join(out, 'boxes'), exist_ok=True)
                with open(osp.join(out, 'boxes', f'{name}.json'), 'w') as fj:
                    json.dump(boxes_json(name, pred, args.score_thr), fj, indent=1)
                value = len(pred.boxes)
            if not args.no_overlay:
                _write_png(osp.join(out, 'overlays', f'{name}.png'), pred.overlay())
            writer.writerow([name, path, f'{pred.probability:.6f}', int(pred.has_finding),
                             value])
            f.flush()
            n_pos += pred.has_finding
            n_done += 1
            bar.update()
    sys.stderr.write('\n')
    _write_errors(out, errors)
    print(f'wrote {out}: {n_done} image(s), {n_pos} with a finding'
          + (f'; {len(errors)} input(s) missing or unreadable, skipped (errors.csv)'
             if errors else ''))
    return 3 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
