"""Synthetic chest radiographs and the download layouts of SIIM-ACR, RSNA and multi-expert data.

Pure module (numpy, cv2, pydicom, simplejpeg and :mod:`mmchest.io.rle`; no OpenMMLab imports).
Everything is deterministic from a seed: the same arguments give the same pixels, UIDs, ids and
bytes (UIDs are ``2.25.<UUID>`` built from a seeded UUID, patient ids seeded UUID4 strings).

The images are cartoons, not anatomy: a dark background, a body outline, two darker lung fields
with vessel-like texture, curved ribs, clavicles, a bright mediastinum and spine, a heart shifted
to the patient's left (image right), smooth low-frequency shading and noise. Lesions are drawn
so a tiny model learns them in a few CPU minutes:

* pneumothorax: a crescent at the apex / lateral edge of one lung that is dark and flat (no rib,
  no lung texture), with a thin bright pleural line on its inner edge; the mask is the crescent;
* pneumonia: soft, brighter, irregular blobs inside the lungs; the mask of each is the blob
  thresholded at half its peak, and its box is that mask's bounding box.

Layouts (each a ``write_*`` function, used by ``tools/make_synthetic_data.py``):

* ``siim/``: ``dicom-images-{train,test}/<Study>/<Series>/<SOPInstanceUID>.dcm``,
  ``train-rle.csv`` (header ``ImageId, EncodedPixels``, SIIM relative RLE, ``' -1'`` = empty,
  one row per lesion part) and ``stage_2_train.csv`` (header ``ImageId,EncodedPixels``);
* ``siim_png/``: what MMSegmentation's ``projects/medical/2d_image/x_ray/chest_image_pneum``
  tools produce: ``images/{train,test}/<id>.png``, ``masks/train/<id>.png`` (0/1) and the
  ``train.txt`` / ``val.txt`` split files (``train/<id>`` lines);
* ``rsna/``: ``stage_2_{train,test}_images/<patientId>.dcm``, ``stage_2_train_labels.csv``
  (``patientId,x,y,width,height,Target``) and ``stage_2_detailed_class_info.csv``;
* ``multi_expert_pneumonia/``: ``images/{pneumonia,norma}/<id>_{pa,lat}.png``,
  ``masks/expert{1,2,3}/<id>_<view>.png|.npz``, ``indices.json``, ``masks/dup_list.json``.

The labels live in memory too (:func:`siim_cases`, :func:`rsna_cases`,
:func:`multi_expert_cases`), so tests compare files with the generator's truth.
"""
from __future__ import annotations

import csv
import io
import json
import os
import os.path as osp
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import pydicom
import simplejpeg
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage

from mmchest.io.rle import rle_encode

__all__ = [
    'SyntheticImage', 'SyntheticCase', 'MIN_SIZE', 'MAX_SIZE', 'chest_radiograph', 'synthetic_uid',
    'synthetic_patient_id', 'write_dicom', 'siim_cases', 'write_siim', 'write_siim_png',
    'rsna_cases', 'write_rsna', 'multi_expert_cases', 'write_multi_expert', 'expert_mask',
    'write_deflate_bomb'
]

PathLike = Union[str, 'os.PathLike[str]']
Progress = Optional[Callable[[], None]]

#: Smallest and largest supported image side, in pixels.
MIN_SIZE: int = 64
MAX_SIZE: int = 512

_UID_NAMESPACE = 'mmchest.synthetic'
_SYNTHETIC_NAME = 'anon^synthetic'
_RSNA_NEGATIVE_CLASSES = ('Normal', 'No Lung Opacity / Not Normal')


@dataclass
class SyntheticImage:
    """One generated radiograph and its ground truth.

    Attributes:
        image (np.ndarray): uint8 (S, S) image, bright = dense (MONOCHROME2).
        mask (np.ndarray): uint8 (S, S) 0/1 union of all lesion masks.
        instances (list[np.ndarray]): uint8 0/1 mask of each lesion (pneumonia opacity or
            pneumothorax crescent).
        boxes (np.ndarray): float32 (N, 4) ``x1, y1, x2, y2`` bounding boxes of
            ``instances`` in pixels, ``x2``/``y2`` exclusive (``width = x2 - x1``).
        parts (list[np.ndarray]): masks whose union is ``mask``, one per SIIM RLE row;
            a lesion may be split into overlapping parts as in the real file.
        view (str): ``'pa'`` (frontal) or ``'lat'`` (lateral).
        lesion (str): ``'none'``, ``'pneumothorax'`` or ``'pneumonia'``.
    """
    image: np.ndarray
    mask: np.ndarray
    instances: List[np.ndarray] = field(default_factory=list)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    parts: List[np.ndarray] = field(default_factory=list)
    view: str = 'pa'
    lesion: str = 'none'


@dataclass
class SyntheticCase:
    """One file of a layout: where it goes and what it shows.

    Attributes:
        split (str): ``'train'``, ``'test'`` (SIIM, RSNA) or ``'train'``/``'val'``/``'test'``
            (multi-expert).
        case_id (str): SOPInstanceUID (SIIM), patientId (RSNA) or ``'<id>_<view>'``
            (multi-expert).
        sample (SyntheticImage): the image and its labels.
        label (str): dataset-specific image label: ``'positive'``/``'negative'`` (SIIM),
            the RSNA detailed class, or ``'pneumonia'``/``'norma'`` (multi-expert).
        tags (dict): DICOM tags of the file (UIDs, sex, age, view position); empty for PNGs.
    """
    split: str
    case_id: str
    sample: SyntheticImage
    label: str
    tags: Dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Randomness and identifiers
# --------------------------------------------------------------------------------------------
def _key(part: Union[int, str]) -> int:
    """Turn a seed part into a non-negative int (strings through CRC-32, stable across runs)."""
    if isinstance(part, (int, np.integer)):
        return int(part) & 0xFFFFFFFF
    return zlib.crc32(str(part).encode('utf-8'))


def _rng(*parts: Union[int, str]) -> np.random.Generator:
    """A generator seeded from several parts, independent of call order."""
    return np.random.default_rng([_key(p) for p in parts])


def synthetic_uid(*parts: Union[int, str]) -> str:
    """A deterministic DICOM UID (``2.25.<int>``) derived from ``parts``.

    Args:
        *parts (int | str): anything identifying the object, e.g. ``(seed, 'siim', 3, 'sop')``.

    Returns:
        str: the UID.
    """
    # pydicom's generate_uid(prefix=None) ignores entropy_srcs (it always uses uuid4), so the
    # 2.25 form (PS3.5 B.2: a UUID as a decimal integer) is built from a seeded UUID here.
    return f'2.25.{uuid.UUID(bytes=_rng(_UID_NAMESPACE, *parts).bytes(16), version=4).int}'


def synthetic_patient_id(*parts: Union[int, str]) -> str:
    """A deterministic UUID4-looking id (like RSNA's ``patientId``) derived from ``parts``.

    Args:
        *parts (int | str): anything identifying the patient.

    Returns:
        str: e.g. ``'0004cfab-14fd-4e49-80ba-63a80b6bddd6'``.
    """
    return str(uuid.UUID(bytes=_rng('patient-id', *parts).bytes(16), version=4))


def _check_size(size: int) -> int:
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f'size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}')
    return size


def _check_count(name: str, value: int) -> int:
    value = int(value)
    if value < 0:
        raise ValueError(f'{name} must be >= 0, got {value}')
    return value


# --------------------------------------------------------------------------------------------
# Image synthesis
# --------------------------------------------------------------------------------------------
def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with a sigma in pixels (no-op below 0.3 px)."""
    if sigma < 0.3:
        return img
    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-range low-frequency noise: a ``cells`` x ``cells`` grid upsampled."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    out = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return out / max(float(np.abs(out).max()), 1e-6)


def _ellipse(u: np.ndarray, v: np.ndarray, cu: float, cv: float, au: float, av: float,
             power: float = 2.0) -> np.ndarray:
    """Superellipse inside test on normalised coordinates (float32 0/1)."""
    return ((np.abs((u - cu) / au)**power + np.abs((v - cv) / av)**power) < 1).astype(np.float32)


def _lung(u: np.ndarray, v: np.ndarray, cu: float, cv: float, au: float, av: float,
          lateral: float) -> np.ndarray:
    """A lung field: a superellipse narrowing towards the apex, flatter medially."""
    t = np.clip((v - cv) / av, -1.5, 1.5)
    width = au * (1.0 - 0.38 * np.clip(-t, 0, 1)**2)
    du = (u - cu) * lateral  # > 0 towards the side of the chest
    power = np.where(du > 0, 2.3, 3.2)
    return ((np.abs(du / width)**power + np.abs(t)**2.2) < 1).astype(np.float32)


@dataclass
class _Anatomy:
    """Layers of one rendered radiograph before lesions are added (all float32, S x S)."""
    base: np.ndarray  # tissue, organs, shading: the flat part
    detail: np.ndarray  # ribs and lung texture: what a pneumothorax removes
    lungs: List[np.ndarray]  # binary lung fields (one for a lateral view)
    lung_soft: np.ndarray  # union of blurred lung fields
    lung_level: float  # how much the lungs darken the tissue
    laterality: List[int]  # +1: lung on the image right, -1: image left (lateral view: +1)
    centres: List[Tuple[float, float]]  # lung centres (u, v), normalised


def _frontal(size: int, rng: np.random.Generator, heart_scale: float = 1.0) -> _Anatomy:
    """Render a frontal (PA/AP) chest radiograph's layers."""
    s = size
    v, u = np.mgrid[0:s, 0:s].astype(np.float32) / s
    cu = 0.5 + rng.normal(0, 0.012)
    tissue_level = rng.uniform(0.48, 0.58)
    lung_level = rng.uniform(0.27, 0.33)

    body = _ellipse(u, v, cu, 0.62, rng.uniform(0.41, 0.46), 0.56, 2.6)
    neck = _ellipse(u, v, cu, 0.0, 0.1, 0.12)
    base = 0.05 + tissue_level * _blur(np.maximum(body, neck), 0.012 * s)

    cv = rng.uniform(0.45, 0.49)
    offset = rng.uniform(0.17, 0.2)
    axes_u, axes_v = rng.uniform(0.115, 0.135), rng.uniform(0.26, 0.3)
    lungs, centres, laterality = [], [], []
    for lateral, shrink in ((-1, 1.0), (1, rng.uniform(0.9, 0.97))):
        centre = (cu + lateral * offset, cv + (0.012 if lateral > 0 else 0.0))
        lungs.append(_lung(u, v, centre[0], centre[1], axes_u * shrink, axes_v, lateral))
        centres.append(centre)
        laterality.append(lateral)
    heart = _blur(_ellipse(u, v, cu + rng.uniform(0.05, 0.07), cv + rng.uniform(0.15, 0.18),
                           rng.uniform(0.13, 0.15) * heart_scale,
                           rng.uniform(0.1, 0.12) * heart_scale), 0.02 * s)
    # The heart is dense: lung behind it is only partly seen.
    lung_soft = _blur(np.maximum(lungs[0], lungs[1]), 0.008 * s) * (1 - 0.6 * heart)
    base -= lung_level * lung_soft
    mediastinum = _ellipse(u, v, cu, 0.4, 0.06, 0.32, 3.0)
    spine = (np.abs(u - cu) < 0.032).astype(np.float32) * (v > 0.04)
    vertebrae = 0.75 + 0.25 * np.cos(2 * np.pi * v / rng.uniform(0.042, 0.05))
    base += 0.2 * _blur(mediastinum, 0.015 * s) + 0.12 * heart
    base += 0.12 * _blur(spine * vertebrae, 0.004 * s)

    ribs = np.zeros((s, s), np.float32)
    thickness = max(1, int(round(0.014 * s)))
    spacing = rng.uniform(0.062, 0.07)
    k = np.linspace(0, 1, 24, dtype=np.float32)
    for lateral in (-1, 1):
        for i in range(10):
            v0 = 0.13 + i * spacing + rng.normal(0, 0.004)
            pu = cu + lateral * (0.035 + 0.41 * k)
            pv = v0 - 0.04 * k + 0.19 * k**2
            pts = np.stack([pu * s, pv * s], axis=1).round().astype(np.int32)
            cv2.polylines(ribs, [pts], False, 1.0, thickness, cv2.LINE_AA)
        clavicle = np.array([[cu + lateral * 0.05, 0.165], [cu + lateral * 0.31, 0.115]]) * s
        cv2.polylines(ribs, [clavicle.round().astype(np.int32)], False, 1.3,
                      max(1, int(round(0.02 * s))), cv2.LINE_AA)
    ribs = _blur(ribs, 0.003 * s) * _blur(body, 0.01 * s) * (0.45 + 0.55 * lung_soft)

    vessels = _blur(rng.standard_normal((s, s)).astype(np.float32), max(0.6, s / 110))
    vessels /= max(float(vessels.std()), 1e-6)
    hilum_weight = np.clip(1.15 - np.abs(u - cu) / 0.4, 0.25, 1.0)
    detail = rng.uniform(0.09, 0.12) * ribs + 0.035 * vessels * hilum_weight * lung_soft

    base += 0.04 * _smooth_noise(rng, s, 4)
    return _Anatomy(base, detail, lungs, lung_soft, lung_level, laterality, centres)


def _lateral(size: int, rng: np.random.Generator) -> _Anatomy:
    """Render a lateral chest radiograph's layers (patient facing image left)."""
    s = size
    v, u = np.mgrid[0:s, 0:s].astype(np.float32) / s
    tissue_level = rng.uniform(0.5, 0.6)
    lung_level = rng.uniform(0.24, 0.3)
    body = _ellipse(u, v, 0.5, 0.6, rng.uniform(0.38, 0.43), 0.6, 2.4)
    base = 0.05 + tissue_level * _blur(body, 0.012 * s)
    centre = (0.5 + rng.normal(0, 0.01), rng.uniform(0.44, 0.48))
    lung = _ellipse(u, v, centre[0], centre[1], rng.uniform(0.24, 0.27), rng.uniform(0.29, 0.32),
                    2.4)
    lung_soft = _blur(lung, 0.01 * s)
    base -= lung_level * lung_soft
    heart = _ellipse(u, v, rng.uniform(0.36, 0.4), rng.uniform(0.6, 0.64), 0.15, 0.14)
    spine_u = rng.uniform(0.76, 0.8)
    spine = (np.abs(u - spine_u - 0.03 * (v - 0.5)) < 0.045).astype(np.float32) * (v > 0.05)
    vertebrae = 0.7 + 0.3 * (np.cos(2 * np.pi * v / rng.uniform(0.045, 0.052)) > -0.6)
    sternum = (np.abs(u - 0.17 - 0.04 * v) < 0.012).astype(np.float32) * (v > 0.2) * (v < 0.65)
    base += 0.22 * _blur(heart, 0.02 * s) + 0.2 * _blur(spine * vertebrae, 0.004 * s)
    base += 0.1 * _blur(sternum, 0.004 * s)

    ribs = np.zeros((s, s), np.float32)
    k = np.linspace(0, 1, 16, dtype=np.float32)
    for i in range(9):
        v0 = 0.16 + i * rng.uniform(0.06, 0.066)
        pts = np.stack([(spine_u - 0.55 * k) * s, (v0 + 0.1 * k) * s], axis=1)
        cv2.polylines(ribs, [pts.round().astype(np.int32)], False, 1.0,
                      max(1, int(round(0.01 * s))), cv2.LINE_AA)
    ribs = _blur(ribs, 0.004 * s) * _blur(body, 0.01 * s)
    vessels = _blur(rng.standard_normal((s, s)).astype(np.float32), max(0.6, s / 160))
    vessels /= max(float(vessels.std()), 1e-6)
    detail = 0.06 * ribs + 0.025 * vessels * lung_soft
    base += 0.04 * _smooth_noise(rng, s, 4)
    return _Anatomy(base, detail, [lung], lung_soft, lung_level, [1], [centre])


def _to_uint8(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add noise, apply a random gamma and quantise."""
    img = img + rng.normal(0, 0.012, img.shape).astype(np.float32)
    img = np.clip(img, 0, 1)**rng.uniform(0.9, 1.1)
    return np.round(img * 255).astype(np.uint8)


def _box(mask: np.ndarray) -> np.ndarray:
    """``x1, y1, x2, y2`` (exclusive) bounding box of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)


def _pneumothorax(anatomy: _Anatomy, rng: np.random.Generator, side: int,
                  size: int) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Carve a flat dark crescent into one lung; return its mask and 1-3 overlapping parts."""
    lung = anatomy.lungs[side].astype(np.uint8)
    lateral = anatomy.laterality[side]
    cu, cv = anatomy.centres[side]
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / size
    depth = cv2.distanceTransform(lung, cv2.DIST_L2, 5)  # pixels from the lung edge
    # Angle around the lung centre: -90 deg = apex (up), 0 = lateral wall, +90 = base.
    angle = np.degrees(np.arctan2(v - cv, (u - cu) * lateral * 2.2))
    start = rng.uniform(-120, -80)
    stop = rng.uniform(-30, 40)
    thickness = max(2.5, rng.uniform(0.045, 0.1) * size)
    phase = np.clip((angle - start) / (stop - start), 0, 1)
    profile = np.clip(np.sin(np.pi * phase), 0, 1)**0.6 * thickness
    crescent = ((depth > 0) & (depth <= profile) & (phase > 0) & (phase < 1)).astype(np.uint8)
    if crescent.sum() < 4:  # tiny images: fall back to the apex strip
        crescent = ((depth > 0) & (depth <= thickness) & (v < cv)).astype(np.uint8)
    num_parts = int(rng.choice([1, 1, 2, 3]))
    cuts = np.linspace(0, 1, num_parts + 1)
    parts = []
    for i in range(num_parts):  # angular sub-sectors, each overlapping the next by a margin
        lo = cuts[i] - (0.08 if i > 0 else 0.01)
        hi = cuts[i + 1] + (0.08 if i < num_parts - 1 else 0.01)
        part = crescent & ((phase >= lo) & (phase <= hi)).astype(np.uint8)
        if part.any():
            parts.append(part)
    union = np.maximum.reduce(parts) if parts else crescent
    if not np.array_equal(union, crescent):  # pixels outside (0, 1) phase: keep the full shape
        parts = [crescent]

    soft = _blur(crescent.astype(np.float32), 0.5)
    anatomy.base -= rng.uniform(0.07, 0.1) * soft
    anatomy.detail *= 1.0 - soft
    width = max(1, int(round(size / 200)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    pleura = cv2.dilate(crescent, kernel) & (1 - crescent) & lung
    anatomy.base += rng.uniform(0.2, 0.28) * _blur(pleura.astype(np.float32), 0.5)
    return crescent, parts


def _pneumonia(anatomy: _Anatomy, rng: np.random.Generator, count: int,
               size: int) -> List[np.ndarray]:
    """Add ``count`` soft bright opacities inside the lungs; return their masks."""
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / size
    depth = [cv2.distanceTransform(lung.astype(np.uint8), cv2.DIST_L2, 5) for lung in anatomy.lungs]
    masks: List[np.ndarray] = []
    taken = np.zeros((size, size), np.uint8)
    for _ in range(count):
        for _attempt in range(20):
            side = int(rng.integers(len(anatomy.lungs)))
            candidates = np.flatnonzero((depth[side] > 0.06 * size).ravel() & (taken.ravel() == 0))
            if candidates.size == 0:
                continue
            centre = int(rng.choice(candidates))
            cy, cx = divmod(centre, size)
            su, sv = rng.uniform(0.035, 0.075, 2)
            theta = rng.uniform(0, np.pi)
            du, dv = u - cx / size, v - cy / size
            a = (du * np.cos(theta) + dv * np.sin(theta)) / su
            b = (-du * np.sin(theta) + dv * np.cos(theta)) / sv
            blob = np.exp(-0.5 * (a * a + b * b)) * (1 + 0.35 * _smooth_noise(rng, size, 6))
            mask = ((blob > 0.5) & (anatomy.lungs[side] > 0)).astype(np.uint8)
            if mask.sum() < 6 or (mask & taken).any():
                continue
            n_labels, labels = cv2.connectedComponents(mask)
            if n_labels > 2:  # keep the component holding the centre (or the largest)
                keep = labels[cy, cx] or 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
                mask = (labels == keep).astype(np.uint8)
            anatomy.base += rng.uniform(0.28, 0.36) * np.clip(blob, 0, 1.3) * anatomy.lung_soft
            masks.append(mask)
            taken |= cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=max(1, size // 64))
            break
    return masks


def chest_radiograph(size: int,
                     seed: Union[int, str, Sequence[Union[int, str]]],
                     *,
                     lesion: str = 'none',
                     num_opacities: int = 1,
                     view: str = 'pa',
                     bilateral: bool = False,
                     heart_scale: float = 1.0,
                     anatomy_seed: Union[None, int, Sequence[Union[int, str]]] = None
                     ) -> SyntheticImage:
    """Generate one synthetic chest radiograph with its lesion masks.

    Args:
        size (int): image side in pixels, 64..512.
        seed (int | str | Sequence[int | str]): seed of everything in the image (string
            parts are hashed with CRC-32).
        lesion (str): ``'none'``, ``'pneumothorax'`` or ``'pneumonia'``. Defaults to 'none'.
        num_opacities (int): pneumonia opacities to place (0-4; fewer if the lungs are full).
            Defaults to 1.
        view (str): ``'pa'`` (frontal) or ``'lat'`` (lateral; pneumothorax needs ``'pa'``).
            Defaults to 'pa'.
        bilateral (bool): pneumothorax in both lungs (two lesions). Defaults to False.
        heart_scale (float): heart size factor (> 1.2 looks like cardiomegaly). Defaults to 1.0.
        anatomy_seed (int | Sequence, optional): seed of the anatomy alone, so several
            images of one patient share it. Defaults to None (derived from ``seed``).

    Returns:
        SyntheticImage: image, masks, boxes and SIIM row parts.

    Raises:
        ValueError: on an unsupported size, lesion, view or opacity count.
    """
    size = _check_size(size)
    if lesion not in ('none', 'pneumothorax', 'pneumonia'):
        raise ValueError(f"lesion must be 'none', 'pneumothorax' or 'pneumonia', got {lesion!r}")
    if view not in ('pa', 'lat'):
        raise ValueError(f"view must be 'pa' or 'lat', got {view!r}")
    if lesion == 'pneumothorax' and view != 'pa':
        raise ValueError("pneumothorax is only drawn on frontal ('pa') views")
    if not 0 <= num_opacities <= 4:
        raise ValueError(f'num_opacities must be 0..4, got {num_opacities}')
    seed_parts = list(seed) if isinstance(seed, (list, tuple)) else [seed]
    anatomy_parts = (seed_parts if anatomy_seed is None else
                     list(anatomy_seed) if isinstance(anatomy_seed, (list, tuple)) else
                     [anatomy_seed])
    anatomy_rng = _rng('anatomy', view, *anatomy_parts)
    anatomy = (_frontal(size, anatomy_rng, heart_scale) if view == 'pa' else
               _lateral(size, anatomy_rng))
    rng = _rng('lesion', lesion, *seed_parts)

    instances: List[np.ndarray] = []
    parts: List[np.ndarray] = []
    if lesion == 'pneumothorax':
        sides = [0, 1] if bilateral else [int(rng.integers(2))]
        for side in sides:
            crescent, crescent_parts = _pneumothorax(anatomy, rng, side, size)
            instances.append(crescent)
            parts.extend(crescent_parts)
    elif lesion == 'pneumonia':
        instances = _pneumonia(anatomy, rng, num_opacities, size)
        parts = list(instances)
    image = _to_uint8(anatomy.base + anatomy.detail, _rng('noise', *seed_parts))
    mask = (np.maximum.reduce(instances) if instances else np.zeros((size, size), np.uint8))
    boxes = (np.stack([_box(m) for m in instances]) if instances else
             np.zeros((0, 4), np.float32))
    return SyntheticImage(image, mask.astype(np.uint8), instances, boxes, parts, view, lesion)


# --------------------------------------------------------------------------------------------
# DICOM
# --------------------------------------------------------------------------------------------
def write_dicom(path: PathLike,
                image: np.ndarray,
                *,
                sop_instance_uid: Optional[str] = None,
                study_instance_uid: Optional[str] = None,
                series_instance_uid: Optional[str] = None,
                patient_id: str = 'anon-synthetic',
                patient_name: str = _SYNTHETIC_NAME,
                patient_sex: str = 'M',
                patient_age: str = '045Y',
                view_position: str = 'PA',
                modality: str = 'CR',
                pixel_spacing: Tuple[float, float] = (0.168, 0.168),
                photometric: str = 'MONOCHROME2',
                compressed: bool = True,
                bits_stored: int = 8,
                rescale_slope: Optional[float] = None,
                rescale_intercept: Optional[float] = None,
                quality: int = 95) -> Dataset:
    """Write a greyscale image as a Kaggle-style chest X-ray DICOM file.

    The default is what SIIM-ACR and RSNA ship: Secondary Capture, Modality CR, 8-bit
    MONOCHROME2, JPEG Baseline (1.2.840.10008.1.2.4.50) encoded with libjpeg-turbo, identifiers
    present (here synthetic) so that readers can be tested for hiding them.

    Stored values: ``image`` is what a viewer should show (bright = dense). With
    ``bits_stored`` 12 or 16 it is scaled to ``0..2**bits_stored - 1``; with ``'MONOCHROME1'``
    it is then inverted (``max - value``) so an inverting reader gets the image back.
    RescaleSlope / RescaleIntercept are written as given and do not change the stored values
    (modality values = slope * stored + intercept).

    Args:
        path (str | os.PathLike): output file; parent folders are created.
        image (np.ndarray): uint8 (H, W) image.
        sop_instance_uid (str, optional): SOPInstanceUID; derived from the file name if None.
        study_instance_uid (str, optional): StudyInstanceUID; derived likewise if None.
        series_instance_uid (str, optional): SeriesInstanceUID; derived likewise if None.
        patient_id (str): PatientID. Defaults to 'anon-synthetic'.
        patient_name (str): PatientName. Defaults to 'anon^synthetic'.
        patient_sex (str): 'M' or 'F'. Defaults to 'M'.
        patient_age (str): DICOM age string, e.g. '045Y'. Defaults to '045Y'.
        view_position (str): 'PA' or 'AP' (or 'LL' for laterals). Defaults to 'PA'.
        modality (str): 'CR' or 'DX'. Defaults to 'CR'.
        pixel_spacing (tuple[float, float]): row, column spacing in mm.
            Defaults to (0.168, 0.168).
        photometric (str): 'MONOCHROME2' or 'MONOCHROME1'. Defaults to 'MONOCHROME2'.
        compressed (bool): JPEG Baseline if True, else uncompressed Explicit VR Little Endian.
            Defaults to True.
        bits_stored (int): 8, 12 or 16; above 8 needs ``compressed=False`` (JPEG Baseline is
            8-bit only) and stores 16-bit words. Defaults to 8.
        rescale_slope (float, optional): RescaleSlope tag. Defaults to None (absent).
        rescale_intercept (float, optional): RescaleIntercept tag. Defaults to None (absent).
        quality (int): JPEG quality. Defaults to 95.

    Returns:
        pydicom.Dataset: the data set as written.

    Raises:
        ValueError: on a non-uint8 or non-2-D image or an unsupported option combination.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f'image must be a 2-D uint8 array, got {image.dtype} {image.shape}')
    if photometric not in ('MONOCHROME1', 'MONOCHROME2'):
        raise ValueError(f"photometric must be 'MONOCHROME1' or 'MONOCHROME2', got {photometric!r}")
    if bits_stored not in (8, 12, 16):
        raise ValueError(f'bits_stored must be 8, 12 or 16, got {bits_stored}')
    if compressed and bits_stored != 8:
        raise ValueError('JPEG Baseline is 8-bit only: use compressed=False for bits_stored > 8')
    if modality not in ('CR', 'DX'):
        raise ValueError(f"modality must be 'CR' or 'DX', got {modality!r}")
    path = os.fspath(path)
    name = osp.basename(path)

    max_value = 2**bits_stored - 1
    if bits_stored == 8:
        stored = image.copy()
    else:
        stored = np.round(image.astype(np.float64) * (max_value / 255.0)).astype(np.uint16)
    if photometric == 'MONOCHROME1':
        stored = (max_value - stored).astype(stored.dtype)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid or synthetic_uid('file', name, 'sop')
    meta.TransferSyntaxUID = JPEGBaseline8Bit if compressed else ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = '19010101'
    ds.StudyTime = '000000.00'
    ds.AccessionNumber = ''
    ds.Modality = modality
    ds.ConversionType = 'WSD'
    ds.ReferringPhysicianName = ''
    ds.SeriesDescription = f'view: {view_position}'
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ''
    ds.PatientSex = patient_sex
    ds.PatientAge = patient_age
    ds.BodyPartExamined = 'CHEST'
    ds.ViewPosition = view_position
    ds.StudyInstanceUID = study_instance_uid or synthetic_uid('file', name, 'study')
    ds.SeriesInstanceUID = series_instance_uid or synthetic_uid('file', name, 'series')
    ds.StudyID = ''
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ''
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = image.shape
    ds.PixelSpacing = [f'{pixel_spacing[0]:.6g}', f'{pixel_spacing[1]:.6g}']
    ds.BitsAllocated = 8 if bits_stored == 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if rescale_slope is not None or rescale_intercept is not None:
        ds.RescaleIntercept = f'{0.0 if rescale_intercept is None else rescale_intercept:g}'
        ds.RescaleSlope = f'{1.0 if rescale_slope is None else rescale_slope:g}'
        ds.RescaleType = 'US'
    if compressed:
        frame = _encode_jpeg(stored, quality)
        ds.LossyImageCompression = '01'
        ds.LossyImageCompressionRatio = f'{stored.nbytes / len(frame):.2f}'
        ds.LossyImageCompressionMethod = 'ISO_10918_1'
        ds.PixelData = encapsulate([frame])
        ds['PixelData'].VR = 'OB'
    else:
        ds.PixelData = stored.astype('<u2' if bits_stored > 8 else np.uint8).tobytes()
        ds['PixelData'].VR = 'OW' if bits_stored > 8 else 'OB'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return ds


def _encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """Greyscale JPEG Baseline with libjpeg-turbo."""
    return simplejpeg.encode_jpeg(np.ascontiguousarray(image[..., None]), quality=quality,
                                  colorspace='GRAY')


def _jpeg_pixels(image: np.ndarray, quality: int = 95) -> np.ndarray:
    """What a reader decodes from :func:`write_dicom`'s default JPEG frame."""
    return simplejpeg.decode_jpeg(_encode_jpeg(image, quality), colorspace='GRAY')[..., 0]


def _age_string(rng: np.random.Generator) -> str:
    return f'{int(rng.integers(18, 90)):03d}Y'


def _spacing(size: int) -> Tuple[float, float]:
    """Pixel spacing of a 1024-px, 0.168-mm radiograph resampled to ``size``."""
    mm = round(0.168 * 1024 / size, 4)
    return mm, mm


# --------------------------------------------------------------------------------------------
# SIIM-ACR pneumothorax
# --------------------------------------------------------------------------------------------
def _positives(rng: np.random.Generator, count: int, fraction: float) -> np.ndarray:
    """Exactly ``round(count * fraction)`` positives, at random places."""
    flags = np.zeros(count, bool)
    flags[:int(round(count * fraction))] = True
    return rng.permutation(flags)


def siim_cases(num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.45) -> Iterator[SyntheticCase]:
    """Generate the SIIM-ACR images and labels (train then test).

    About 15% of positives are bilateral, and a third of the lesions are split into 2-3
    overlapping parts, each one row of ``train-rle.csv``, whose union is the mask.

    Args:
        num_train (int): labelled images. Defaults to 40.
        num_test (int): unlabelled images. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with pneumothorax, in each split. Defaults to 0.45.

    Yields:
        SyntheticCase: ``case_id`` = SOPInstanceUID, ``label`` 'positive' or 'negative',
        ``tags`` with the UIDs, sex, age and view position.
    """
    size = _check_size(size)
    for split, count in (('train', _check_count('num_train', num_train)),
                         ('test', _check_count('num_test', num_test))):
        flags = _positives(_rng(seed, 'siim', split, 'labels'), count, positive_fraction)
        for index in range(count):
            rng = _rng(seed, 'siim', split, index, 'meta')
            positive = bool(flags[index])
            sample = chest_radiograph(size, [seed, 'siim', split, index],
                                      lesion='pneumothorax' if positive else 'none',
                                      bilateral=positive and rng.random() < 0.15)
            uids = {kind: synthetic_uid(seed, 'siim', split, index, kind)
                    for kind in ('study', 'series', 'sop')}
            tags = dict(StudyInstanceUID=uids['study'], SeriesInstanceUID=uids['series'],
                        SOPInstanceUID=uids['sop'],
                        PatientID=synthetic_patient_id(seed, 'siim', split, index),
                        PatientSex=str(rng.choice(['M', 'F'])), PatientAge=_age_string(rng),
                        ViewPosition=str(rng.choice(['PA', 'AP'], p=[0.6, 0.4])))
            yield SyntheticCase(split, uids['sop'], sample,
                                'positive' if positive else 'negative', tags)


def _rle_rows(sample: SyntheticImage) -> List[str]:
    """SIIM relative RLE rows of one image: one per part, or '-1' when empty."""
    return [rle_encode(part) for part in sample.parts] or ['-1']


def write_siim(root: PathLike,
               num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.45,
               stage2: bool = True,
               progress: Progress = None) -> Dict[str, object]:
    """Write the SIIM-ACR Kaggle download layout under ``<root>/siim``.

    Files: ``dicom-images-{train,test}/<Study>/<Series>/<SOPInstanceUID>.dcm``,
    ``train-rle.csv`` (header ``ImageId, EncodedPixels`` with the space, rows ``<id>, <rle>``,
    ``' -1'`` for empty) and, if ``stage2``, ``stage_2_train.csv`` (header
    ``ImageId,EncodedPixels``, rows ``<id>,<rle>``). Rows of one image are adjacent; images come
    in random order, as in the real file.

    Args:
        root (str | os.PathLike): output root; ``siim/`` is created inside.
        num_train (int): labelled images. Defaults to 40.
        num_test (int): unlabelled images. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with pneumothorax. Defaults to 0.45.
        stage2 (bool): also write ``stage_2_train.csv``. Defaults to True.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'test', 'positives', 'rows'}`` (ids and counts).
    """
    out = osp.join(os.fspath(root), 'siim')
    rows: List[Tuple[str, str]] = []
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    positives = 0
    for case in siim_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        tags = case.tags
        path = osp.join(out, f'dicom-images-{case.split}', tags['StudyInstanceUID'],
                        tags['SeriesInstanceUID'], f'{case.case_id}.dcm')
        write_dicom(path, case.sample.image, sop_instance_uid=tags['SOPInstanceUID'],
                    study_instance_uid=tags['StudyInstanceUID'],
                    series_instance_uid=tags['SeriesInstanceUID'],
                    patient_id=tags['PatientID'], patient_sex=tags['PatientSex'],
                    patient_age=tags['PatientAge'], view_position=tags['ViewPosition'],
                    pixel_spacing=_spacing(size))
        ids[case.split].append(case.case_id)
        if case.split == 'train':
            positives += case.label == 'positive'
            rows.extend((case.case_id, rle) for rle in _rle_rows(case.sample))
        if progress is not None:
            progress()
    # Shuffle whole images (their rows stay adjacent), as the Kaggle file is not sorted.
    order = _rng(seed, 'siim', 'row-order').permutation(len(ids['train']))
    by_id: Dict[str, List[str]] = {}
    for image_id, rle in rows:
        by_id.setdefault(image_id, []).append(rle)
    shuffled = [(ids['train'][i], rle) for i in order for rle in by_id[ids['train'][i]]]
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'train-rle.csv'), 'w', newline='') as f:
        f.write('ImageId, EncodedPixels\n')
        f.writelines(f'{image_id}, {rle}\n' for image_id, rle in shuffled)
    if stage2:
        with open(osp.join(out, 'stage_2_train.csv'), 'w', newline='') as f:
            f.write('ImageId,EncodedPixels\n')
            f.writelines(f'{image_id},{rle}\n' for image_id, rle in shuffled)
    return {'root': out, 'train': ids['train'], 'test': ids['test'], 'positives': positives,
            'rows': len(shuffled)}


def write_siim_png(root: PathLike,
                   num_train: int = 40,
                   num_test: int = 10,
                   *,
                   size: int = 256,
                   seed: int = 0,
                   positive_fraction: float = 0.45,
                   val_fraction: float = 0.2,
                   progress: Progress = None) -> Dict[str, object]:
    """Write SIIM as MMSegmentation's ``chest_image_pneum`` project prepares it, under
    ``<root>/siim_png``.

    Its ``tools/prepare_dataset.py`` writes ``images/train/<id>.png``, ``images/test/<id>.png``
    and ``masks/train/<id>.png`` (8-bit, 0/1); there are no test masks because the Kaggle test
    set is unlabelled. ``split_seg_dataset.py`` then writes ``train.txt`` / ``val.txt``
    (``train/<id>`` per line, an 80/20 split of the training images). The images and ids are
    those of :func:`siim_cases` with the same arguments, stored as the pixels decoded from the
    SIIM DICOMs' JPEG frames (as the real export is); masks are the union of all rows.

    Args:
        root (str | os.PathLike): output root; ``siim_png/`` is created inside.
        num_train (int): labelled images. Defaults to 40.
        num_test (int): unlabelled images. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with pneumothorax. Defaults to 0.45.
        val_fraction (float): share of the training images listed in ``val.txt``.
            Defaults to 0.2.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'val', 'test'}`` with the ids of each list.
    """
    out = osp.join(os.fspath(root), 'siim_png')
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    for case in siim_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        _imwrite(osp.join(out, 'images', case.split, f'{case.case_id}.png'),
                 _jpeg_pixels(case.sample.image))
        if case.split == 'train':
            _imwrite(osp.join(out, 'masks', 'train', f'{case.case_id}.png'), case.sample.mask)
        ids[case.split].append(case.case_id)
        if progress is not None:
            progress()
    names = sorted(ids['train'])
    order = _rng(seed, 'siim_png', 'split').permutation(len(names))
    num_val = int(round(len(names) * val_fraction))
    val = sorted(names[i] for i in order[:num_val])
    train = sorted(names[i] for i in order[num_val:])
    os.makedirs(out, exist_ok=True)
    for list_name, members in (('train.txt', train), ('val.txt', val)):
        with open(osp.join(out, list_name), 'w') as f:
            f.writelines(f'train/{name}\n' for name in members)
    return {'root': out, 'train': train, 'val': val, 'test': ids['test']}


def _save_npz(path: str, mask: np.ndarray) -> None:
    """``np.savez_compressed(path, mask=mask)`` with a fixed timestamp, so bytes repeat."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    info = zipfile.ZipInfo('mask.npy', date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(mask), allow_pickle=False)
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr(info, buffer.getvalue())


def _imwrite(path: str, image: np.ndarray) -> None:
    """Write an 8-bit single-channel PNG, creating folders."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')


# --------------------------------------------------------------------------------------------
# RSNA pneumonia detection
# --------------------------------------------------------------------------------------------
def rsna_cases(num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.5) -> Iterator[SyntheticCase]:
    """Generate the RSNA images and labels (train then test).

    Positives ('Lung Opacity') have 1-4 opacities (mostly 1-2); negatives are split between
    'Normal' and 'No Lung Opacity / Not Normal' (drawn with an enlarged heart). Positives are
    more often AP, as in the real data.

    Args:
        num_train (int): labelled patients. Defaults to 40.
        num_test (int): unlabelled patients. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with opacities, in each split. Defaults to 0.5.

    Yields:
        SyntheticCase: ``case_id`` = patientId (a UUID), ``label`` = the detailed class,
        ``sample.boxes`` = the opacity boxes (x1, y1, x2, y2).
    """
    size = _check_size(size)
    for split, count in (('train', _check_count('num_train', num_train)),
                         ('test', _check_count('num_test', num_test))):
        flags = _positives(_rng(seed, 'rsna', split, 'labels'), count, positive_fraction)
        for index in range(count):
            rng = _rng(seed, 'rsna', split, index, 'meta')
            patient_id = synthetic_patient_id(seed, 'rsna', split, index)
            if flags[index]:
                label = 'Lung Opacity'
                sample = chest_radiograph(size, [seed, 'rsna', split, index], lesion='pneumonia',
                                          num_opacities=int(rng.choice([1, 2, 2, 3, 4])))
                if not sample.instances:  # no room for any opacity: retry with one
                    sample = chest_radiograph(size, [seed, 'rsna', split, index, 'retry'],
                                              lesion='pneumonia', num_opacities=1)
                if not sample.instances:  # pragma: no cover - never seen at 64..512 px
                    raise RuntimeError(f'could not place an opacity in RSNA case {index}')
                view = str(rng.choice(['AP', 'PA'], p=[0.7, 0.3]))
            else:
                label = str(rng.choice(_RSNA_NEGATIVE_CLASSES))
                sample = chest_radiograph(size, [seed, 'rsna', split, index],
                                          heart_scale=1.3 if label != 'Normal' else 1.0)
                view = str(rng.choice(['AP', 'PA'], p=[0.4, 0.6]))
            tags = dict(PatientID=patient_id,
                        StudyInstanceUID=synthetic_uid(seed, 'rsna', split, index, 'study'),
                        SeriesInstanceUID=synthetic_uid(seed, 'rsna', split, index, 'series'),
                        SOPInstanceUID=synthetic_uid(seed, 'rsna', split, index, 'sop'),
                        PatientSex=str(rng.choice(['M', 'F'])), PatientAge=_age_string(rng),
                        ViewPosition=view)
            yield SyntheticCase(split, patient_id, sample, label, tags)


def write_rsna(root: PathLike,
               num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.5,
               progress: Progress = None) -> Dict[str, object]:
    """Write the RSNA Pneumonia Detection Challenge (stage 2) layout under ``<root>/rsna``.

    Files: ``stage_2_train_images/<patientId>.dcm``, ``stage_2_test_images/<patientId>.dcm``,
    ``stage_2_train_labels.csv`` (``patientId,x,y,width,height,Target``: one row per box with
    float pixel coordinates, or one row with empty coordinates and ``Target`` 0) and
    ``stage_2_detailed_class_info.csv`` (``patientId,class``, one row per label row).

    Args:
        root (str | os.PathLike): output root; ``rsna/`` is created inside.
        num_train (int): labelled patients. Defaults to 40.
        num_test (int): unlabelled patients. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with opacities. Defaults to 0.5.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'test', 'positives', 'boxes'}``.
    """
    out = osp.join(os.fspath(root), 'rsna')
    os.makedirs(out, exist_ok=True)
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    labels: List[List[str]] = []
    classes: List[List[str]] = []
    positives = 0
    for case in rsna_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        tags = case.tags
        write_dicom(osp.join(out, f'stage_2_{case.split}_images', f'{case.case_id}.dcm'),
                    case.sample.image, sop_instance_uid=tags['SOPInstanceUID'],
                    study_instance_uid=tags['StudyInstanceUID'],
                    series_instance_uid=tags['SeriesInstanceUID'], patient_id=case.case_id,
                    patient_sex=tags['PatientSex'], patient_age=tags['PatientAge'],
                    view_position=tags['ViewPosition'], pixel_spacing=_spacing(size))
        ids[case.split].append(case.case_id)
        if case.split == 'train':
            boxes = case.sample.boxes
            if len(boxes):
                positives += 1
                for x1, y1, x2, y2 in boxes.tolist():
                    labels.append([case.case_id, f'{x1:.1f}', f'{y1:.1f}', f'{x2 - x1:.1f}',
                                   f'{y2 - y1:.1f}', '1'])
                    classes.append([case.case_id, case.label])
            else:
                labels.append([case.case_id, '', '', '', '', '0'])
                classes.append([case.case_id, case.label])
        if progress is not None:
            progress()
    with open(osp.join(out, 'stage_2_train_labels.csv'), 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['patientId', 'x', 'y', 'width', 'height', 'Target'])
        writer.writerows(labels)
    with open(osp.join(out, 'stage_2_detailed_class_info.csv'), 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['patientId', 'class'])
        writer.writerows(classes)
    return {'root': out, 'train': ids['train'], 'test': ids['test'], 'positives': positives,
            'boxes': sum(row[-1] == '1' for row in labels)}


# --------------------------------------------------------------------------------------------
# Multi-expert pneumonia (zenodo 5732746)
# --------------------------------------------------------------------------------------------
#: Per expert: file format of the mask (``'mixed'``: .png for even ids, .npz for odd ids).
_EXPERT_FORMATS = {1: 'png', 2: 'npz', 3: 'mixed'}


def expert_mask(mask: np.ndarray, expert: int, seed: Sequence[Union[int, str]]) -> np.ndarray:
    """One expert's version of a true mask: dilated or eroded by 1-3 pixels at the edges.

    Args:
        mask (np.ndarray): uint8 0/1 true mask.
        expert (int): 1, 2 or 3.
        seed (Sequence[int | str]): seed parts of the image.

    Returns:
        np.ndarray: uint8 0/1 mask; never empty when ``mask`` is not.
    """
    rng = _rng('expert', expert, *seed)
    radius = int(rng.integers(1, 4))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grow = rng.random() < 0.5
    out = cv2.dilate(mask, kernel) if grow else cv2.erode(mask, kernel)
    if mask.any() and not out.any():
        out = mask.copy()
    return out.astype(np.uint8)


def multi_expert_cases(num_pneumonia: int = 20,
                       num_normal: int = 20,
                       *,
                       size: int = 256,
                       seed: int = 0) -> Tuple[List[SyntheticCase], Dict[str, List[int]],
                                               Dict[str, Dict[str, List[int]]]]:
    """Generate the multi-expert pneumonia studies, same-patient groups and split.

    Ids are integers drawn independently for each class folder, so they repeat across
    ``pneumonia/`` and ``norma/`` (different patients). Pneumonia studies of one patient
    (``dup_list.json`` groups of 2-3) share their anatomy; at least one group is split across
    train and val, as in the published split.

    Args:
        num_pneumonia (int): pneumonia studies (each a PA and a lateral image). Defaults to 20.
        num_normal (int): normal studies. Defaults to 20.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.

    Returns:
        tuple: ``(cases, dup_list, indices)``: one case per image (``case_id`` =
        ``'<id>_<view>'``, ``label`` = class folder, ``split`` from ``indices``); the groups
        ``{"case_N": [ids]}``; and ``{"train"|"val"|"test": {"pneumonia": ids, "norma": ids}}``.
    """
    size = _check_size(size)
    num_pneumonia = _check_count('num_pneumonia', num_pneumonia)
    num_normal = _check_count('num_normal', num_normal)
    rng = _rng(seed, 'multi_expert', 'layout')
    ids = {cls: sorted(int(i) + 1 for i in rng.choice(max(3 * n, 1), n, replace=False))
           for cls, n in (('pneumonia', num_pneumonia), ('norma', num_normal))}
    common = sorted(set(ids['pneumonia']) & set(ids['norma']))
    if num_pneumonia and num_normal and not common:  # make sure ids collide across folders
        ids['norma'][0] = ids['pneumonia'][0]
        ids['norma'].sort()

    # Same-patient groups among pneumonia ids.
    shuffled = [int(i) for i in rng.permutation(ids['pneumonia'])]
    dup_list: Dict[str, List[int]] = {}
    position = 0
    while position + 2 <= len(shuffled) and len(dup_list) < max(1, num_pneumonia // 8):
        length = min(int(rng.choice([2, 2, 3])), len(shuffled) - position)
        dup_list[f'case_{len(dup_list) + 1}'] = sorted(shuffled[position:position + length])
        position += length
    group_of = {i: name for name, members in dup_list.items() for i in members}

    # Split ~70/15/15 by class; the first group deliberately straddles train and val.
    indices: Dict[str, Dict[str, List[int]]] = {s: {'pneumonia': [], 'norma': []}
                                                for s in ('train', 'val', 'test')}
    for cls in ('pneumonia', 'norma'):
        order = [int(i) for i in rng.permutation(ids[cls])]
        n = len(order)
        n_val, n_test = int(round(0.15 * n)), int(round(0.15 * n))
        for k, i in enumerate(order):
            split = 'val' if k < n_val else 'test' if k < n_val + n_test else 'train'
            indices[split][cls].append(i)
    if dup_list:
        first = dup_list['case_1']
        for split in indices.values():
            split['pneumonia'] = [i for i in split['pneumonia'] if i not in first]
        indices['train']['pneumonia'].append(first[0])
        indices['val']['pneumonia'].extend(first[1:])
    for split in indices.values():
        for cls in split:
            split[cls].sort()
    split_of = {(cls, i): name for name, by_class in indices.items()
                for cls, members in by_class.items() for i in members}

    cases: List[SyntheticCase] = []
    for cls in ('pneumonia', 'norma'):
        for i in ids[cls]:
            anatomy = ([seed, 'multi_expert', 'patient', group_of[i]]
                       if cls == 'pneumonia' and i in group_of else
                       [seed, 'multi_expert', 'patient', cls, i])
            meta = _rng(seed, 'multi_expert', cls, i, 'meta')
            for view in ('pa', 'lat'):
                parts = [seed, 'multi_expert', cls, i, view]
                if cls == 'pneumonia':
                    count = int(meta.choice([1, 1, 2])) if view == 'pa' else 1
                    sample = chest_radiograph(size, parts, lesion='pneumonia', view=view,
                                              num_opacities=count, anatomy_seed=anatomy + [view])
                else:
                    sample = chest_radiograph(size, parts, view=view,
                                              anatomy_seed=anatomy + [view])
                cases.append(SyntheticCase(split_of[(cls, i)], f'{i}_{view}', sample, cls))
    return cases, dup_list, indices


def write_multi_expert(root: PathLike,
                       num_pneumonia: int = 20,
                       num_normal: int = 20,
                       *,
                       size: int = 256,
                       seed: int = 0,
                       progress: Progress = None) -> Dict[str, object]:
    """Write the multi-expert pneumonia layout under ``<root>/multi_expert_pneumonia``.

    Files: ``images/{pneumonia,norma}/<id>_{pa,lat}.png`` (8-bit greyscale),
    ``masks/expert{1,2,3}/<id>_<view>.png|.npz`` for pneumonia images only (PNG 0/1, or NPZ
    with the array under ``'mask'``; expert 1 writes PNG, expert 2 NPZ, expert 3 both),
    ``indices.json`` and ``masks/dup_list.json``. Each expert's mask is the true mask
    dilated or eroded by 1-3 px (see :func:`expert_mask`).

    Args:
        root (str | os.PathLike): output root; ``multi_expert_pneumonia/`` is created inside.
        num_pneumonia (int): pneumonia studies. Defaults to 20.
        num_normal (int): normal studies. Defaults to 20.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'images', 'masks', 'dup_list', 'indices'}``.
    """
    out = osp.join(os.fspath(root), 'multi_expert_pneumonia')
    cases, dup_list, indices = multi_expert_cases(num_pneumonia, num_normal, size=size,
                                                  seed=seed)
    num_masks = 0
    for case in cases:
        _imwrite(osp.join(out, 'images', case.label, f'{case.case_id}.png'), case.sample.image)
        if case.label == 'pneumonia':
            study_id = int(case.case_id.split('_')[0])
            for expert, fmt in _EXPERT_FORMATS.items():
                mask = expert_mask(case.sample.mask, expert, [seed, case.case_id])
                if fmt == 'mixed':
                    fmt = 'png' if study_id % 2 == 0 else 'npz'
                path = osp.join(out, 'masks', f'expert{expert}', f'{case.case_id}.{fmt}')
                if fmt == 'png':
                    _imwrite(path, mask)
                else:
                    _save_npz(path, mask)
                num_masks += 1
        if progress is not None:
            progress()
    os.makedirs(osp.join(out, 'masks'), exist_ok=True)
    with open(osp.join(out, 'indices.json'), 'w') as f:
        json.dump(indices, f, indent=1)
    with open(osp.join(out, 'masks', 'dup_list.json'), 'w') as f:
        json.dump(dup_list, f, indent=1)
    return {'root': out, 'images': len(cases), 'masks': num_masks, 'dup_list': dup_list,
            'indices': indices}


def write_deflate_bomb(path: PathLike,
                       rows: int = 20000,
                       columns: int = 20000,
                       *,
                       pixel_rows: Optional[int] = None) -> int:
    """Write a Deflated Explicit VR Little Endian DICOM whose pixels inflate to a huge size.

    The data set is deflated as it is generated, so writing it needs no memory: a 20000 x 20000
    8-bit image of zeros (400 MB of pixel data) is a file of about 390 KB. Used to test that
    readers check the pixel budget before inflating or decoding.

    Args:
        path (str | os.PathLike): Output file; parent folders are created.
        rows (int): Rows declared in the header. Defaults to 20000.
        columns (int): Columns declared in the header. Defaults to 20000.
        pixel_rows (int, optional): Rows of pixel data actually written (a header that lies
            about its size when different from ``rows``). Defaults to ``rows``.

    Returns:
        int: The size of the written file in bytes.
    """
    pixel_rows = rows if pixel_rows is None else pixel_rows
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = synthetic_uid('bomb', rows, columns)
    ds.Modality = 'OT'
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    header = pydicom.filebase.DicomBytesIO()
    header.is_implicit_VR, header.is_little_endian = False, True
    pydicom.filewriter.write_dataset(header, ds)
    nbytes = pixel_rows * columns
    header.write(b'\xe0\x7f\x10\x00OB\x00\x00' + int(nbytes + nbytes % 2).to_bytes(4, 'little'))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = '1.2.840.10008.1.2.1.99'  # Deflated Explicit VR Little Endian
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    with open(path, 'wb') as f:
        f.write(b'\x00' * 128 + b'DICM')
        pydicom.filewriter.write_file_meta_info(f, meta, enforce_standard=True)
        f.write(deflater.compress(header.getvalue()))
        zeros, left = bytes(1 << 20), nbytes + nbytes % 2
        while left:
            chunk = min(left, len(zeros))
            f.write(deflater.compress(zeros[:chunk]))
            left -= chunk
        f.write(deflater.flush())
        return f.tell()
