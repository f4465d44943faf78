"""Convert DICOM files to 8-bit PNG, in parallel and resumable, without patient identifiers.

:func:`dicom_to_png` is what ``tools/dicom_to_png.py`` runs (its flags are this function's
arguments, ``--voi-lut`` = ``voi_lut``). The SIIM-ACR files are found with the package's one
SIIM discovery (:func:`mmchest.io.siim_labels.find_siim_csv`, :func:`~mmchest.io.siim_labels.
find_dicoms`, :func:`~mmchest.io.siim_labels.read_siim_csv`).

Layouts (``--layout``):

- ``mirror`` (default): every ``*.dcm`` / ``*.dicom`` under SRC becomes
  ``OUT/<same relative folder>/<stem>.png`` (``--names input``) or
  ``OUT/<SOPInstanceUID>.png`` (``--names sop``).
- ``siim_png``: this package's PNG mode, ``SIIMPneumothoraxDataset(layout='png')``. SRC is
  the SIIM-ACR download (``dicom-images-train/``, ``dicom-images-test/``, ``train-rle.csv``
  or ``stage_2_train.csv``); OUT gets ``images/{train,test}/<ImageId>.png`` and
  ``masks/train/<ImageId>.png`` (8-bit, 0 = background, 1 = pneumothorax: the union of all
  RLE rows of the image). Training DICOMs without a CSV row are skipped and counted.
- ``chest_image_pneum``: ``siim_png`` plus the ``train.txt`` / ``val.txt`` lists
  (``train/<ImageId>`` per line) that MMSegmentation's ``chest_image_pneum`` project reads
  with ``data_prefix=dict(img_path='images/', seg_map_path='masks/')``; the split is seeded
  and stratified by positive/negative (``--val-fraction``, ``--seed``).

Pixels go through :func:`mmchest.io.dicom.read_dicom` with the loader's options (``--norm``,
``--window``, ``--percentiles``, ``--voi-lut``); ``--size N`` resizes so the longer side is N
(masks with nearest neighbour).

Resume-safe: a file whose outputs all exist is skipped. The options that shape the PNGs
(``--layout``, ``--names``, ``--size``, ``--norm``, ``--window``, ``--percentiles``,
``--voi-lut``, ``--ann-file``) are recorded in ``OUT/.mmchest_dicom_to_png.json``; a rerun
with other options is refused (exit status 2) with the options that changed, and so is a
first run into a folder that already holds PNGs but no manifest. ``--overwrite`` redoes every
file with this run's options and records them; it needs the folder to itself, and files this
run does not produce are left as they are. Each PNG is written to a temporary
``.mmchest-dicom_to_png-<random>.tmp`` beside it and renamed, so an interrupted run leaves no
partial PNG and two runs into one folder never write the same temporary; a run that finds no
other run writing (``flock`` on OUT) removes leftover temporaries with exactly that prefix in
the folders it writes, and nothing else. See :mod:`mmchest.io.output_dir`.

Privacy: PNGs carry no metadata chunks, names come from the input file names or the
SOPInstanceUID only, and a file whose output path would contain its PatientID or PatientName
is refused (the rule of :mod:`mmchest.io.safe_names`). Unreadable files are reported and
skipped; the exit status is then 3.
"""
from __future__ import annotations

import multiprocessing
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Sequence, TextIO, Tuple

import cv2
import numpy as np

from mmchest.io.rle import is_empty_rle
from mmchest.io.siim_labels import find_dicoms, find_siim_csv, read_siim_csv

__all__ = ['LAYOUTS', 'TOOL', 'Job', 'Result', 'ConversionResult', 'resize_longer_side',
           'write_png_atomic', 'manifest_options', 'convert', 'mirror_jobs', 'siim_jobs',
           'write_split_lists', 'dicom_to_png']

LAYOUTS = ('mirror', 'siim_png', 'chest_image_pneum')
#: Tool name in the manifest (``OUT/.mmchest_dicom_to_png.json``) and temporary names
#: (``.mmchest-dicom_to_png-<random>.tmp``, see :func:`mmchest.io.output_dir.tmp_prefix`).
TOOL = 'dicom_to_png'


class Job(NamedTuple):
    """One DICOM to convert.

    Attributes:
        src (str): The DICOM file.
        rel_dir (str): Output folder relative to OUT (``--names input``).
        image_id (str, optional): Fixed output name (SIIM layouts); None = from ``--names``.
        rles (list[str], optional): RLE rows of the mask to write (SIIM train images).
    """
    src: str
    rel_dir: str
    image_id: Optional[str] = None
    rles: Optional[List[str]] = None


class Result(NamedTuple):
    status: str  # 'done', 'skipped' or 'error'
    src: str
    name: str
    message: str = ''


# ------------------------------------------------------------------------------ helpers
def resize_longer_side(img: np.ndarray, size: Optional[int],
                       interpolation: Optional[int] = None) -> np.ndarray:
    """Resize so that the longer side is ``size`` pixels, keeping the aspect ratio.

    Args:
        img (np.ndarray): ``(H, W)`` image or mask.
        size (int, optional): Target longer side; None returns ``img`` unchanged.
        interpolation (int, optional): cv2 flag; None = INTER_AREA when shrinking, else
            INTER_LINEAR.

    Returns:
        np.ndarray: The resized array (same dtype).
    """
    if size is None:
        return img
    h, w = img.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    if (new_h, new_w) == (h, w):
        return img
    if interpolation is None:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, (new_w, new_h), interpolation=interpolation)


def write_png_atomic(path: str, img: np.ndarray) -> None:
    """Write an 8-bit PNG (no metadata chunks) via a unique temporary file and a rename.

    Args:
        path (str): Final file.
        img (np.ndarray): ``(H, W)`` uint8.

    Raises:
        OSError: Encoding or writing failed.
    """
    from mmchest.io.output_dir import atomic_write, tmp_prefix
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise OSError(f'could not encode {path}')
    atomic_write(path, buf.tobytes(), tmp_prefix(TOOL))


def manifest_options(layout: str, names: str, size: Optional[int], norm: str,
                     window: Optional[Sequence[float]], percentiles: Sequence[float],
                     voi_lut: bool, ann_file: Optional[str]) -> Dict[str, object]:
    """The options that shape the outputs, as recorded in the manifest.

    Options that the chosen ``norm`` ignores are recorded as None, so changing them does
    not refuse a rerun.
    """
    return {'layout': layout,
            'names': names if layout == 'mirror' else None,
            'size': size,
            'norm': norm,
            'window': list(window) if norm == 'window' and window else None,
            'percentiles': (list(percentiles) if norm in ('auto', 'percentile')
                            else None),
            'voi-lut': bool(voi_lut),
            'ann-file': ann_file if layout != 'mirror' else None}


def _holds_pngs(out: str) -> bool:
    """Whether any ``*.png`` lies under ``out``."""
    return any(name.lower().endswith('.png') for _, _, names in os.walk(out) for name in names)


# ------------------------------------------------------------------------------- worker
def convert(job: Job, opts: dict) -> Result:
    """Convert one DICOM (runs in a worker process).

    Args:
        job (Job): What to convert.
        opts (dict): ``out``, ``names``, ``size``, ``overwrite``, ``read_kwargs``.

    Returns:
        Result: ``'done'``, ``'skipped'`` (outputs exist) or ``'error'`` with the reason.
    """
    from mmchest.io.dicom import read_dicom
    from mmchest.io.rle import rle_decode_rows
    from mmchest.io.safe_names import contains_identifier, dicom_identity

    name = job.image_id or osp.splitext(osp.basename(job.src))[0]
    try:
        uid, identifiers = dicom_identity(job.src)
        if job.image_id is None and opts['names'] == 'sop':
            if not uid:
                return Result('error', job.src, name, 'no SOPInstanceUID for --names sop')
            name, rel_dir = uid, ''
        else:
            rel_dir = job.rel_dir
        img_rel = osp.join(rel_dir, f'{name}.png')
        if contains_identifier(img_rel, identifiers):
            return Result('error', job.src, name, 'the output name would contain the '
                          "file's PatientID/PatientName; use --names sop")
        img_out = osp.join(opts['out'], img_rel)
        mask_out = (None if job.rles is None else
                    osp.join(opts['out'], 'masks', 'train', f'{name}.png'))
        outputs = [p for p in (mask_out, img_out) if p]
        if not opts['overwrite'] and all(osp.exists(p) for p in outputs):
            return Result('skipped', job.src, name)
        img, _ = read_dicom(job.src, **opts['read_kwargs'])
        if mask_out is not None:
            mask = rle_decode_rows(job.rles, img.shape[:2], relative=True, image_id=name)
            write_png_atomic(mask_out, resize_longer_side(mask, opts['size'],
                                                          cv2.INTER_NEAREST))
        # the image last: it marks the job as finished
        write_png_atomic(img_out, resize_longer_side(img, opts['size']))
    except (OSError, ValueError, cv2.error) as err:  # DicomReadError, RLEError: ValueError
        return Result('error', job.src, name, f'{type(err).__name__}: {err}')
    return Result('done', job.src, name)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one image per process; no nested thread pools


def _convert_star(args: Tuple[Job, dict]) -> Result:
    return convert(*args)


# -------------------------------------------------------------------------------- jobs
def mirror_jobs(src: str) -> List[Job]:
    """One job per DICOM under ``src``, keeping its relative folder."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'{src!r} is not a folder')
    return [Job(p, osp.relpath(osp.dirname(p), src)) for p in find_dicoms(src)]


def siim_jobs(src: str, ann_file: Optional[str] = None) -> Tuple[List[Job], Dict[str, bool], int]:
    """Jobs for the SIIM layouts.

    Args:
        src (str): The SIIM-ACR download root.
        ann_file (str, optional): RLE CSV, relative to ``src`` or absolute; None tries
            ``train-rle.csv`` then ``stage_2_train.csv``.

    Returns:
        tuple: ``(jobs, positives, unlabelled)``: the jobs, ImageId -> has pneumothorax for
        the labelled training images, and how many training DICOMs had no CSV row.
    """
    labels = read_siim_csv(find_siim_csv(src, ann_file))
    train_dir = osp.join(src, 'dicom-images-train')
    if not osp.isdir(train_dir):
        raise FileNotFoundError(f'{train_dir!r} is not a folder (SIIM-ACR download layout)')
    jobs, positives, unlabelled = [], {}, 0
    for path in find_dicoms(train_dir):
        image_id = osp.splitext(osp.basename(path))[0]
        if image_id not in labels:
            unlabelled += 1
            continue
        rles = [r for _, r in labels[image_id] if not is_empty_rle(r)]
        positives[image_id] = bool(rles)
        jobs.append(Job(path, osp.join('images', 'train'), image_id, rles))
    test_dir = osp.join(src, 'dicom-images-test')
    for path in find_dicoms(test_dir) if osp.isdir(test_dir) else []:
        jobs.append(Job(path, osp.join('images', 'test'),
                        osp.splitext(osp.basename(path))[0], None))
    return jobs, positives, unlabelled


def write_split_lists(out: str, positives: Dict[str, bool], val_fraction: float,
                      seed: int) -> Dict[str, List[str]]:
    """Write ``train.txt`` / ``val.txt`` (``train/<ImageId>`` lines), atomically.

    Args:
        out (str): Output root.
        positives (dict[str, bool]): ImageId -> has pneumothorax, for the converted images.
        val_fraction (float): Share of images in ``val.txt``.
        seed (int): Split seed.

    Returns:
        dict[str, list[str]]: ``{'train': ids, 'val': ids}``, sorted.
    """
    from mmchest.io.output_dir import atomic_write, tmp_prefix
    from mmchest.splits import grouped_stratified_split
    ids = sorted(positives)
    parts = {'train': ids, 'val': []}
    if ids and val_fraction > 0:
        idx = grouped_stratified_split([int(positives[i]) for i in ids],
                                       {'train': 1 - val_fraction, 'val': val_fraction},
                                       seed=seed)
        parts = {k: [ids[i] for i in v] for k, v in idx.items()}
    for split, members in parts.items():
        atomic_write(osp.join(out, f'{split}.txt'),
                     ''.join(f'train/{m}\n' for m in members).encode(), tmp_prefix(TOOL))
    return parts


@dataclass
class ConversionResult:
    """What :func:`dicom_to_png` did.

    Attributes:
        status (int): Exit status: 0 all converted, 2 refused (the reason was written to
            the log: options changed, folder busy, no DICOM), 3 some files failed.
        out (str): The output folder.
        counts (dict[str, int]): ``done``, ``skipped`` (outputs existed), ``error``.
        lists (dict[str, list[str]], optional): ``train``/``val`` ImageIds written to the
            ``chest_image_pneum`` lists; None for other layouts.
    """
    status: int
    out: str
    counts: Dict[str, int] = field(default_factory=lambda: {'done': 0, 'skipped': 0,
                                                            'error': 0})
    lists: Optional[Dict[str, List[str]]] = None

    def summary(self) -> str:
        """The closing lines the command prints (the lists' sizes, then the counts)."""
        lines = []
        if self.lists is not None:
            lines.append(f"train.txt: {len(self.lists['train'])}, val.txt: "
                         f"{len(self.lists['val'])} image(s)")
        lines.append(f"{self.out}: {self.counts['done']} converted, {self.counts['skipped']} "
                     f"already done, {self.counts['error']} failed")
        return '\n'.join(lines)


def dicom_to_png(src: str,
                 out: str,
                 *,
                 layout: str = 'mirror',
                 names: str = 'input',
                 size: Optional[int] = None,
                 norm: str = 'auto',
                 window: Optional[Sequence[float]] = None,
                 percentiles: Sequence[float] = (0.5, 99.5),
                 voi_lut: bool = False,
                 ann_file: Optional[str] = None,
                 val_fraction: float = 0.2,
                 seed: int = 0,
                 workers: int = 1,
                 overwrite: bool = False,
                 log: Optional[TextIO] = None) -> ConversionResult:
    """Convert the DICOMs of ``src`` into PNGs under ``out`` (see the module docstring).

    Args:
        src (str): Folder of DICOMs (``mirror``) or the SIIM-ACR download.
        out (str): Output folder.
        layout (str): One of :data:`LAYOUTS`. Defaults to 'mirror'.
        names (str): ``mirror``: 'input' (the file's name and folder) or 'sop' (flat, the
            SOPInstanceUID). Defaults to 'input'.
        size (int, optional): Longer side of the PNGs; None keeps the size.
        norm (str): Intensity mapping of :func:`mmchest.io.dicom.read_dicom`.
            Defaults to 'auto'.
        window (Sequence[float], optional): Centre, width for ``norm='window'``.
        percentiles (Sequence[float]): Clip percentiles for ``norm='percentile'``.
            Defaults to (0.5, 99.5).
        voi_lut (bool): Apply the file's VOI LUT. Defaults to False.
        ann_file (str, optional): SIIM layouts: the RLE CSV (default: ``train-rle.csv``, else
            ``stage_2_train.csv``).
        val_fraction (float): ``chest_image_pneum``: share of ``val.txt``. Defaults to 0.2.
        seed (int): Split seed. Defaults to 0.
        workers (int): Processes (1 = no pool). Defaults to 1.
        overwrite (bool): Redo every file with these options and record them.
            Defaults to False.
        log (TextIO, optional): Where progress, per-file errors and refusals are written.
            Defaults to ``sys.stderr``.

    Returns:
        ConversionResult: The exit status, counts and lists.

    Raises:
        FileNotFoundError: ``src`` (or the SIIM CSV / training folder) is missing.
        ValueError: Invalid reading options.
    """
    from mmchest.io.dicom import check_options
    from mmchest.io.output_dir import OptionsMismatchError, OutputDir, OutputDirBusyError

    log = sys.stderr if log is None else log
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    read_kwargs = dict(norm=norm, window=tuple(window) if window else None,
                       percentiles=tuple(percentiles), voi_lut=voi_lut, dtype='uint8',
                       channels=1)
    check_options(**read_kwargs)
    positives: Dict[str, bool] = {}
    if layout == 'mirror':
        jobs = mirror_jobs(src)
    else:
        jobs, positives, unlabelled = siim_jobs(src, ann_file)
        if unlabelled:
            print(f'{unlabelled} training DICOM(s) without a CSV row: skipped', file=log)
    if not jobs:
        print(f'no DICOM files under {src!r}', file=log)
        return ConversionResult(2, out)
    folders = {job.rel_dir for job in jobs}
    if any(job.rles is not None for job in jobs):
        folders.add(osp.join('masks', 'train'))
    options = manifest_options(layout, names, size, norm, window, percentiles, voi_lut,
                               ann_file)
    try:
        out_dir = OutputDir(out, TOOL, options, overwrite=overwrite, folders=folders,
                            has_outputs=lambda: _holds_pngs(out))
    except (OptionsMismatchError, OutputDirBusyError, OSError) as err:
        print(f'error: {err}', file=log)
        return ConversionResult(2, out)
    with out_dir:
        opts = dict(out=out, names=names, size=size, overwrite=overwrite,
                    read_kwargs=read_kwargs)
        result = _convert_all(jobs, opts, workers, out_dir, log)
    if layout == 'chest_image_pneum':
        failed = set(result.pop('failed'))
        result['lists'] = write_split_lists(
            out, {k: v for k, v in positives.items() if k not in failed}, val_fraction, seed)
    result.pop('failed', None)
    counts = result['counts']
    return ConversionResult(3 if counts['error'] else 0, out, counts, result.get('lists'))


def _convert_all(jobs: List[Job], opts: dict, workers: int, out_dir, log: TextIO) -> dict:
    from mmengine.utils import ProgressBar

    from mmchest.io.output_dir import format_option
    if out_dir.removed:
        print(f'removed {out_dir.removed} temporary file(s) of an interrupted run', file=log)
    changed = out_dir.changes(out_dir.previous)
    if changed:
        print(f"--overwrite: {opts['out']} was written with " + ', '.join(
            format_option(k, out_dir.previous.get(k)) for k in changed) + '; it now records '
            + ', '.join(format_option(k, out_dir.options.get(k)) for k in changed)
            + '; files this run does not write keep the options they were made with',
            file=log)

    counts = {'done': 0, 'skipped': 0, 'error': 0}
    failed: List[str] = []
    bar = ProgressBar(len(jobs), file=log)
    workers = max(1, min(workers, len(jobs)))
    tasks = [(job, opts) for job in jobs]
    if workers == 1:
        results = map(_convert_star, tasks)
        pool = None
    else:
        # fork: workers inherit the imported modules (spawn would re-import the stack)
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context('fork' if 'fork' in methods else 'spawn')
        pool = ctx.Pool(workers, initializer=_init_worker)
        results = pool.imap_unordered(_convert_star, tasks, chunksize=4)
    try:
        for res in results:
            counts[res.status] += 1
            if res.status == 'error':
                log.write(f'\nskipped {res.src}: {res.message}\n')
                failed.append(res.name)
            bar.update()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    log.write('\n')
    return dict(counts=counts, failed=failed)
