"""The synthetic chest radiograph painter: anatomy, pneumothorax and pneumonia.

Pure module (numpy and cv2; no OpenMMLab imports). Deterministic from a seed.

The images are cartoons, not anatomy: a dark background, a body outline, two darker lung fields
with vessel-like texture, curved ribs, clavicles, a bright mediastinum and spine, a heart shifted
to the patient's left (image right), smooth low-frequency shading and noise. Lesions are drawn
so a tiny model learns them in a few CPU minutes:

* pneumothorax: a crescent at the apex / lateral edge of one lung that is dark and flat (no rib,
  no lung texture), with a thin bright pleural line on its inner edge; the mask is the crescent;
* pneumonia: soft, brighter, irregular blobs inside the lungs; the mask of each is the blob
  thresholded at half its peak, and its box is that mask's bounding box.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple, Union

import cv2
import numpy as np

from .seeding import _check_size, _rng

__all__ = ['SyntheticImage', 'chest_radiograph']


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
