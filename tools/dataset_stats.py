#!/usr/bin/env python
"""Summarise one chest X-ray dataset: a table (Markdown + JSON) and PNG plots.

    python tools/dataset_stats.py rsna datasets/rsna --out work_dirs/stats_rsna
    python tools/dataset_stats.py siim datasets/siim --out work_dirs/stats_siim

Datasets (the labelled images of each):

- ``siim``: the SIIM-ACR download (``dicom-images-train/`` + ``train-rle.csv`` or
  ``stage_2_train.csv``); a box is the bounding box of one RLE row (one lesion);
- ``siim_png``: the PNG layout (``images/train``, ``masks/train``); boxes are the connected
  components of each mask; no header, so view, sex and age are unknown;
- ``rsna``: the RSNA download (``stage_2_train_labels.csv``, optional
  ``stage_2_detailed_class_info.csv``, ``stage_2_train_images/``); the mask is the union of
  the boxes; bad boxes are clipped or dropped as the dataset class does;
- ``multi_expert``: ``images/{pneumonia,norma}/<id>_{pa,lat}.png`` +
  ``masks/expert{1,2,3}/``; the mask is the experts' majority vote, boxes its components.

Written to ``--out``: ``stats.md`` (also printed) and ``stats.json`` with counts by class,
view position, sex and age band (10-year bands, 80+; 'unknown' when a header lacks the
value), boxes per image and the mask area distribution (percent of the image, positive
images); plots ``counts.png``, ``boxes_per_image.png``, ``mask_area.png`` and
``box_centres.png`` (heatmap of box centres in normalised image coordinates, one panel per
view position). View, sex and age come from :func:`mmchest.io.dicom.read_dicom_meta`
(identifier-free); no image id or patient value is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

DATASETS = ('siim', 'siim_png', 'rsna', 'multi_expert')
UNKNOWN = 'unknown'
#: Lower edges of the age bands, in years; the last band is open (80+).
AGE_BAND_EDGES: Tuple[int, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80)


@dataclass
class ImageRecord:
    """What the statistics need of one labelled image.

    Attributes:
        label (str): Image class.
        height (int): Image rows.
        width (int): Image columns.
        boxes (np.ndarray): ``(N, 4)`` xyxy pixel boxes (lesions).
        mask_area (int): Finding pixels (0 for a negative image).
        view (str, optional): View position (e.g. 'PA', 'AP', 'LAT').
        sex (str, optional): 'M', 'F', 'O'.
        age (int, optional): Age in years.
    """
    label: str
    height: int
    width: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    mask_area: int = 0
    view: Optional[str] = None
    sex: Optional[str] = None
    age: Optional[int] = None


# ------------------------------------------------------------------------ pure maths
def age_band(age: Optional[int]) -> str:
    """The 10-year band of an age: ``'0-9'``, ..., ``'70-79'``, ``'80+'``, or 'unknown'."""
    if age is None or age < 0:
        return UNKNOWN
    for lo, hi in zip(AGE_BAND_EDGES, AGE_BAND_EDGES[1:]):
        if lo <= age < hi:
            return f'{lo}-{hi - 1}'
    return f'{AGE_BAND_EDGES[-1]}+'


def mask_boxes(mask: np.ndarray) -> np.ndarray:
    """xyxy boxes (x2/y2 exclusive) of the 8-connected components of a binary mask."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8),
                                                      connectivity=8)
    x, y, w, h = (stats[1:, i].astype(np.float64) for i in range(4))
    return np.stack([x, y, x + w, y + h], axis=1) if n > 1 else np.zeros((0, 4))


def boxes_area(boxes: np.ndarray, height: int, width: int) -> int:
    """Pixels covered by the union of xyxy boxes on an image of ``height`` x ``width``."""
    canvas = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in np.asarray(boxes).reshape(-1, 4):
        canvas[max(int(np.floor(y1)), 0):int(np.ceil(y2)),
               max(int(np.floor(x1)), 0):int(np.ceil(x2))] = True
    return int(canvas.sum())


def centre_heatmaps(records: Iterable[ImageRecord], bins: int = 16) -> Dict[str, np.ndarray]:
    """Counts of box centres per view on a ``bins`` x ``bins`` grid of the unit square.

    Centre ``(cx / width, cy / height)``; cell ``[row, col] = [floor(y * bins),
    floor(x * bins)]`` (clamped to the grid).

    Returns:
        dict[str, np.ndarray]: View (or 'unknown') -> ``(bins, bins)`` int64 counts.
    """
    maps: Dict[str, np.ndarray] = {}
    for rec in records:
        if not len(rec.boxes):
            continue
        b = np.asarray(rec.boxes, dtype=np.float64).reshape(-1, 4)
        cx = (b[:, 0] + b[:, 2]) / 2 / rec.width
        cy = (b[:, 1] + b[:, 3]) / 2 / rec.height
        cols = np.clip(np.floor(cx * bins).astype(int), 0, bins - 1)
        rows = np.clip(np.floor(cy * bins).astype(int), 0, bins - 1)
        grid = maps.setdefault(rec.view or UNKNOWN, np.zeros((bins, bins), dtype=np.int64))
        np.add.at(grid, (rows, cols), 1)
    return dict(sorted(maps.items()))


def _ordered(counter: Counter, order: Sequence[str] = ()) -> Dict[str, int]:
    keys = [k for k in order if k in counter]
    keys += sorted((k for k in counter if k not in keys and k != UNKNOWN), key=str)
    keys += [UNKNOWN] if UNKNOWN in counter else []
    return {str(k): int(counter[k]) for k in keys}


def summarise(records: Sequence[ImageRecord]) -> dict:
    """Counts and distributions of a list of images (JSON-serialisable).

    Returns:
        dict: ``num_images``; ``by_class``, ``by_view``, ``by_sex``, ``by_age_band``
        (value -> images); ``boxes_per_image`` (number of boxes -> images), ``num_boxes``;
        ``mask_area_percent``: ``count``, ``min``, ``median``, ``mean``, ``max`` of the
        positive images' mask area in percent of the image (None when there is none).
    """
    bands = [age_band(a) for a in (r.age for r in records)]
    band_order = [age_band(a) for a in AGE_BAND_EDGES]
    areas = np.array([100.0 * r.mask_area / (r.height * r.width) for r in records
                      if r.mask_area > 0])
    n_boxes = Counter(len(r.boxes) for r in records)
    return {
        'num_images': len(records),
        'by_class': _ordered(Counter(r.label for r in records)),
        'by_view': _ordered(Counter(r.view or UNKNOWN for r in records)),
        'by_sex': _ordered(Counter(r.sex or UNKNOWN for r in records), ('F', 'M', 'O')),
        'by_age_band': _ordered(Counter(bands), band_order),
        'boxes_per_image': {str(k): int(n_boxes[k]) for k in sorted(n_boxes)},
        'num_boxes': int(sum(k * v for k, v in n_boxes.items())),
        'mask_area_percent': {
            'count': int(areas.size),
            'min': float(areas.min()) if areas.size else None,
            'median': float(np.median(areas)) if areas.size else None,
            'mean': float(areas.mean()) if areas.size else None,
            'max': float(areas.max()) if areas.size else None,
        },
    }


def markdown_table(name: str, stats: dict) -> str:
    """The summary as Markdown: one table of counts, then boxes and mask area lines."""
    n = max(stats['num_images'], 1)
    lines = [f'# {name}: {stats["num_images"]} labelled images', '',
             '| group | value | images | % |', '|---|---|---:|---:|']
    for key, title in (('by_class', 'class'), ('by_view', 'view'), ('by_sex', 'sex'),
                       ('by_age_band', 'age band')):
        for value, count in stats[key].items():
            lines.append(f'| {title} | {value} | {count} | {100 * count / n:.1f} |')
    for k, count in stats['boxes_per_image'].items():
        lines.append(f'| boxes per image | {k} | {count} | {100 * count / n:.1f} |')
    area = stats['mask_area_percent']
    lines += ['', f'boxes: {stats["num_boxes"]}']
    if area['count']:
        lines.append(f'mask area (% of image, {area["count"]} positive images): '
                     f'min {area["min"]:.2f}, median {area["median"]:.2f}, '
                     f'mean {area["mean"]:.2f}, max {area["max"]:.2f}')
    else:
        lines.append('mask area: no positive image')
    return '\n'.join(lines) + '\n'


# ------------------------------------------------------------------------------ loaders
def _header(path: str) -> dict:
    from mmchest.io.dicom import read_dicom_meta
    return read_dicom_meta(path)


def _header_fields(meta: dict) -> dict:
    return dict(view=meta.get('ViewPosition') or None, sex=meta.get('PatientSex') or None,
                age=meta.get('PatientAge'))


def load_siim(root: str, ann_file: Optional[str] = None) -> List[ImageRecord]:
    """Labelled SIIM-ACR DICOMs (images in the CSV but not on disk are skipped)."""
    from mmchest.io.rle import is_empty_rle, rle_decode
    from mmchest.seg.datasets.siim import read_siim_csv
    names = [ann_file] if ann_file else ['train-rle.csv', 'stage_2_train.csv']
    csv_path = next((osp.join(root, n) for n in names if osp.isfile(osp.join(root, n))), None)
    if csv_path is None:
        raise FileNotFoundError(f'no RLE CSV in {root!r} (looked for {names})')
    labels = read_siim_csv(csv_path)
    img_dir = osp.join(root, 'dicom-images-train')
    paths = {osp.splitext(n)[0]: osp.join(r, n) for r, _, ns in os.walk(img_dir)
             for n in ns if n.endswith('.dcm')}
    records = []
    for image_id, rows in labels.items():
        if image_id not in paths:
            continue
        meta = _header(paths[image_id])
        h, w = int(meta['Rows']), int(meta['Columns'])
        union = np.zeros((h, w), dtype=bool)
        boxes = []
        for _, rle in rows:
            if is_empty_rle(rle):
                continue
            mask = rle_decode(rle, (h, w), image_id=image_id) > 0
            union |= mask
            boxes.extend(mask_boxes(mask).tolist())
        records.append(ImageRecord(
            label='pneumothorax' if union.any() else 'no pneumothorax', height=h, width=w,
            boxes=np.array(boxes).reshape(-1, 4), mask_area=int(union.sum()),
            **_header_fields(meta)))
    return records


def load_siim_png(root: str) -> List[ImageRecord]:
    """``images/train/<id>.png`` with ``masks/train/<id>.png`` (non-zero = finding)."""
    img_dir, mask_dir = osp.join(root, 'images', 'train'), osp.join(root, 'masks', 'train')
    records = []
    for name in sorted(os.listdir(mask_dir)):
        if not name.endswith('.png') or not osp.isfile(osp.join(img_dir, name)):
            continue
        mask = cv2.imread(osp.join(mask_dir, name), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise ValueError(f'{osp.join(mask_dir, name)}: cannot read mask PNG')
        records.append(ImageRecord(
            label='pneumothorax' if mask.any() else 'no pneumothorax', height=mask.shape[0],
            width=mask.shape[1], boxes=mask_boxes(mask), mask_area=int((mask > 0).sum())))
    return records


def load_rsna(root: str) -> List[ImageRecord]:
    """Labelled RSNA patients, boxes cleaned as ``RSNAPneumoniaDataset`` does."""
    from mmchest.io.rsna_labels import parse_rsna_labels
    img_dir = osp.join(root, 'stage_2_train_images')
    class_info = osp.join(root, 'stage_2_detailed_class_info.csv')
    metas: Dict[str, dict] = {}

    def meta_of(pid: str) -> dict:
        if pid not in metas:
            metas[pid] = _header(osp.join(img_dir, f'{pid}.dcm'))
        return metas[pid]

    def size(pid: str) -> Tuple[int, int]:
        return int(meta_of(pid)['Rows']), int(meta_of(pid)['Columns'])

    patients, report = parse_rsna_labels(
        osp.join(root, 'stage_2_train_labels.csv'),
        class_info=class_info if osp.isfile(class_info) else None, image_size=size)
    print(report.summary(), file=sys.stderr)
    records = []
    for p in patients:
        meta = meta_of(p.patient_id)
        h, w = size(p.patient_id)
        records.append(ImageRecord(
            label=p.class_label or ('Lung Opacity' if p.target else 'Target 0'), height=h,
            width=w, boxes=p.boxes, mask_area=boxes_area(p.boxes, h, w),
            **_header_fields(meta)))
    return records


def load_multi_expert(root: str) -> List[ImageRecord]:
    """Every image; pneumonia masks fused by majority vote of the experts found."""
    from mmchest.io.expert_masks import find_expert_mask, fuse_masks, read_expert_mask
    from mmchest.io.multi_expert_layout import scan_images
    expert_dirs = sorted(d for d in (os.listdir(osp.join(root, 'masks'))
                                     if osp.isdir(osp.join(root, 'masks')) else [])
                         if d.startswith('expert'))
    records = []
    for cls, studies in scan_images(osp.join(root, 'images')).items():
        for study_id, views in studies.items():
            for view, path in views.items():
                img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise ValueError(f'{path}: cannot read image')
                h, w = img.shape
                masks = {}
                if cls == 'pneumonia':
                    for d in expert_dirs:
                        found = find_expert_mask(osp.join(root, 'masks', d),
                                                 f'{study_id}_{view}')
                        if found:
                            masks[d] = read_expert_mask(found)
                fused = (fuse_masks(masks, 'majority') if masks else
                         np.zeros((h, w), np.uint8))
                records.append(ImageRecord(label=cls, height=h, width=w,
                                           boxes=mask_boxes(fused),
                                           mask_area=int((fused > 0).sum()),
                                           view=view.upper()))
    return records


LOADERS = dict(siim=load_siim, siim_png=load_siim_png, rsna=load_rsna,
               multi_expert=load_multi_expert)


# -------------------------------------------------------------------------------- plots
def plot_all(stats: dict, heatmaps: Dict[str, np.ndarray], out: str, name: str) -> List[str]:
    """Write the four PNG plots; returns their paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paths = []

    def save(fig, file):
        path = osp.join(out, file)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, (key, title) in zip(axes.flat, (('by_class', 'class'), ('by_view', 'view'),
                                            ('by_sex', 'sex'), ('by_age_band', 'age band'))):
        items = stats[key]
        ax.bar(range(len(items)), list(items.values()), color='tab:blue')
        ax.set_xticks(range(len(items)), list(items), rotation=30, ha='right')
        ax.set_title(f'{name}: images by {title}')
    save(fig, 'counts.png')

    fig, ax = plt.subplots(figsize=(6, 4))
    bpi = stats['boxes_per_image']
    ax.bar([int(k) for k in bpi], list(bpi.values()), color='tab:orange')
    ax.set_xlabel('boxes per image')
    ax.set_ylabel('images')
    ax.set_title(f'{name}: boxes per image ({stats["num_boxes"]} boxes)')
    save(fig, 'boxes_per_image.png')

    fig, ax = plt.subplots(figsize=(6, 4))
    areas = stats.get('_areas', [])
    if len(areas):
        ax.hist(areas, bins=min(30, max(5, len(areas))), color='tab:red')
    else:
        ax.text(0.5, 0.5, 'no positive image', ha='center', va='center')
    ax.set_xlabel('mask area (% of image)')
    ax.set_ylabel('positive images')
    ax.set_title(f'{name}: mask area')
    save(fig, 'mask_area.png')

    panels = heatmaps or {UNKNOWN: np.zeros((1, 1))}
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
    for ax, (view, grid) in zip(axes.flat, panels.items()):
        im = ax.imshow(grid, extent=(0, 1, 1, 0), cmap='magma', interpolation='nearest')
        ax.set_title(f'{view}: {int(grid.sum())} box centres')
        ax.set_xlabel('x / width')
        ax.set_ylabel('y / height')
        fig.colorbar(im, ax=ax, fraction=0.046)
    save(fig, 'box_centres.png')
    return paths


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=DATASETS)
    parser.add_argument('root', help='dataset root folder')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--bins', type=int, default=16,
                        help='heatmap grid size (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if not osp.isdir(args.root):
        from mmchest.data_root import require_paths
        require_paths([args.root], f'{args.dataset} dataset', 'datasets/')
    records = LOADERS[args.dataset](args.root)
    if not records:
        print(f'no labelled image found under {args.root!r}', file=sys.stderr)
        return 2
    stats = summarise(records)
    heatmaps = centre_heatmaps(records, args.bins)
    os.makedirs(args.out, exist_ok=True)
    table = markdown_table(args.dataset, stats)
    with open(osp.join(args.out, 'stats.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.out, 'stats.json'), 'w') as f:
        json.dump(dict(stats, box_centres={k: v.tolist() for k, v in heatmaps.items()}), f,
                  indent=1)
    areas = [100.0 * r.mask_area / (r.height * r.width) for r in records if r.mask_area]
    plot_all(dict(stats, _areas=areas), heatmaps, args.out, args.dataset)
    print(table)
    print(f'wrote stats.md, stats.json and 4 plots to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
