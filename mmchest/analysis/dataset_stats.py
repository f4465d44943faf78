"""Summarise a config's dataset: counts by class, view, sex and age, boxes and mask areas.

The dataset is built from the config as ``mim train`` builds it (model:
mmdet's ``tools/analysis_tools/browse_dataset.py``: ``DATASETS.build(cfg.train_dataloader
.dataset)`` after ``--cfg-options``, in the config's default scope), and every statistic is
computed from its ``get_data_info()`` entries, so no download layout is parsed twice:

* RLE entries (SIIM DICOM layout): the mask of each RLE row is decoded with
  :func:`mmchest.io.rle.rle_decode` (as ``LoadRLEMask`` does); one row = one lesion = one
  box (its bounding box); the image label is the positive class if any row is non-empty;
* ``seg_map_path`` entries (SIIM PNG layout): the mask PNG (non-zero = finding), boxes its
  8-connected components;
* ``expert_mask_paths`` entries (multi-expert): the experts' masks read and fused with
  :mod:`mmchest.io.expert_masks` as the entry's ``fusion`` says (``LoadExpertMasks``' core),
  boxes its components, label the image class, view the entry's view;
* ``instances`` entries (mmdet, RSNA): the boxes, mask = their union, label the detailed class
  (or 'Lung Opacity' / 'Target 0').

View, sex and age come from the DICOM header (:func:`mmchest.io.dicom.read_dicom_meta`,
identifier-free, built on ``read_dicom_header``); PNG images have none ('unknown'). No image
id or patient value is returned, printed or written.

:func:`layout_config` maps the four download layouts onto the matching configs in
``configs/`` (with ``data_root`` overridden and every labelled image kept), which is what
``tools/dataset_stats.py <layout> <root>`` runs.
"""
from __future__ import annotations

import copy
import json
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = [
    'ImageRecord', 'LAYOUTS', 'LAYOUT_CONFIGS', 'DATALOADERS', 'UNKNOWN', 'AGE_BAND_EDGES',
    'age_band', 'mask_boxes', 'boxes_area', 'centre_heatmaps', 'summarise', 'markdown_table',
    'record_from_info', 'build_datasets', 'records_from_config', 'layout_config', 'plot_all',
    'write_stats'
]

UNKNOWN = 'unknown'
#: Lower edges of the age bands, in years; the last band is open (80+).
AGE_BAND_EDGES: Tuple[int, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80)
#: Download layouts that :func:`layout_config` maps onto a config.
LAYOUTS = ('siim', 'siim_png', 'rsna', 'multi_expert')
#: The config of each layout, relative to the repository root.
LAYOUT_CONFIGS: Dict[str, str] = dict(siim='configs/unet_siim.py',
                                      siim_png='configs/unet_siim.py',
                                      rsna='configs/mask_rcnn_rsna.py',
                                      multi_expert='configs/unet_multi_expert_pneumonia.py')
#: Split name -> the config's dataloader.
DATALOADERS: Dict[str, str] = dict(train='train_dataloader', val='val_dataloader',
                                   test='test_dataloader')


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


# ------------------------------------------------------------- data infos -> records
def _header_fields(meta: dict) -> dict:
    return dict(view=meta.get('ViewPosition') or None, sex=meta.get('PatientSex') or None,
                age=meta.get('PatientAge'))


def _is_dicom(path: str) -> bool:
    return path.lower().endswith(('.dcm', '.dicom'))


def _read_mask_png(path: str) -> np.ndarray:
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise ValueError(f'{path}: cannot read mask PNG')
    return mask[..., 0] if mask.ndim == 3 else mask


def _image_shape(path: str, read_header: Callable[[str], dict]) -> Tuple[int, int, dict]:
    if _is_dicom(path):
        meta = read_header(path)
        return int(meta['Rows']), int(meta['Columns']), meta
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f'{path}: cannot read image')
    return img.shape[0], img.shape[1], {}


def record_from_info(info: dict, positive: str = 'finding',
                     read_header: Optional[Callable[[str], dict]] = None) -> ImageRecord:
    """One :class:`ImageRecord` from a dataset's ``get_data_info()`` entry.

    Args:
        info (dict): The entry (mmseg or mmdet contract, plus the mmchest keys: ``rle``,
            ``expert_mask_paths``, ``class_label``, ``target``; see the module docstring).
        positive (str): Label of a segmentation image with a finding (its negative is
            ``'no <positive>'``), e.g. the dataset's last class. Defaults to 'finding'.
        read_header (Callable[[str], dict], optional): DICOM header reader returning
            ``Rows``, ``Columns``, ``ViewPosition``, ``PatientSex``, ``PatientAge``.
            Defaults to :func:`mmchest.io.dicom.read_dicom_meta`.

    Returns:
        ImageRecord: The image's label, size, boxes, finding area and header fields.
    """
    if read_header is None:
        from mmchest.io.dicom import read_dicom_meta as read_header
    path = info['img_path']
    if 'instances' in info:  # mmdet: boxes
        height, width = int(info['height']), int(info['width'])
        meta = read_header(path) if _is_dicom(path) else {}
        boxes = np.array([inst['bbox'] for inst in info['instances']
                          if not inst.get('ignore_flag', 0)], dtype=np.float64).reshape(-1, 4)
        target = info.get('target', int(len(boxes) > 0))
        label = info.get('class_label') or ('Lung Opacity' if target else 'Target 0')
        return ImageRecord(label=label, height=height, width=width, boxes=boxes,
                           mask_area=boxes_area(boxes, height, width), **_header_fields(meta))
    if 'expert_mask_paths' in info:  # multi-expert: the experts' masks, fused
        from mmchest.io.expert_masks import fuse_masks, load_expert_masks
        height, width, meta = _image_shape(path, read_header)
        masks = load_expert_masks(info['expert_mask_paths'], info['mask_experts'],
                                  (height, width), image=path)
        fusion = info.get('fusion', 'majority')
        fused = masks[0] if fusion == 'single' else fuse_masks(masks, fusion)
        fields = _header_fields(meta)
        fields['view'] = fields['view'] or (info.get('view') or '').upper() or None
        return ImageRecord(label=info.get('image_class', positive), height=height, width=width,
                           boxes=mask_boxes(fused), mask_area=int((fused > 0).sum()), **fields)
    if info.get('rle'):  # SIIM DICOM: one RLE row = one lesion
        from mmchest.io.rle import rle_decode
        height, width, meta = _image_shape(path, read_header)
        union = np.zeros((height, width), dtype=bool)
        boxes: List[list] = []
        rows = info.get('rle_rows') or [None] * len(info['rle'])
        for rle, row in zip(info['rle'], rows):
            part = rle_decode(rle, (height, width), info.get('rle_relative', True),
                              image_id=info.get('image_id'), row=row) > 0
            union |= part
            boxes.extend(mask_boxes(part).tolist())
        return ImageRecord(label=positive if union.any() else f'no {positive}', height=height,
                           width=width, boxes=np.array(boxes).reshape(-1, 4),
                           mask_area=int(union.sum()), **_header_fields(meta))
    if info.get('seg_map_path'):  # a mask image
        mask = _read_mask_png(info['seg_map_path'])
        meta = read_header(path) if _is_dicom(path) else {}
        return ImageRecord(label=positive if mask.any() else f'no {positive}',
                           height=mask.shape[0], width=mask.shape[1], boxes=mask_boxes(mask),
                           mask_area=int((mask > 0).sum()), **_header_fields(meta))
    height, width, meta = _image_shape(path, read_header)  # no label: a negative image
    return ImageRecord(label=f'no {positive}', height=height, width=width,
                       **_header_fields(meta))


# ---------------------------------------------------------------------- from a config
def build_datasets(cfg, split: str = 'train') -> list:
    """Build the datasets of one of the config's dataloaders (wrappers unwrapped).

    As ``browse_dataset.py``: ``custom_imports`` applied, the config's default scope set,
    ``DATASETS.build`` on the dataloader's dataset, here with an empty pipeline.

    Args:
        cfg (mmengine.Config): The config, after ``--cfg-options``.
        split (str): 'train', 'val' or 'test' (the dataloader). Defaults to 'train'.

    Returns:
        list: The built datasets (one unless the config concatenates several).
    """
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import import_modules_from_strings

    from mmchest.analysis.check_dataset import _leaf_datasets
    if split not in DATALOADERS:
        raise ValueError(f'split must be one of {list(DATALOADERS)}, got {split!r}')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    loader = cfg.get(DATALOADERS[split])
    if not loader or not loader.get('dataset'):
        raise ValueError(f'the config has no {DATALOADERS[split]}.dataset')
    out = []
    for ds_cfg in _leaf_datasets(loader['dataset']):
        ds_cfg = copy.deepcopy(ds_cfg)
        ds_cfg['pipeline'] = []
        out.append(DATASETS.build(ds_cfg))
    return out


def records_from_config(cfg, split: str = 'train') -> List[ImageRecord]:
    """One :class:`ImageRecord` per ``get_data_info()`` entry of the config's dataset(s).

    Args:
        cfg (mmengine.Config): The config, after ``--cfg-options``.
        split (str): 'train', 'val' or 'test' (the dataloader). Defaults to 'train'.

    Returns:
        list[ImageRecord]: The records, in dataset order.
    """
    records = []
    for dataset in build_datasets(cfg, split):
        classes = (dataset.metainfo or {}).get('classes') or ('finding', )
        for i in range(len(dataset)):
            records.append(record_from_info(dataset.get_data_info(i), positive=classes[-1]))
    return records


def layout_config(layout: str, root: str, repo_root: Optional[str] = None):
    """The config a download layout is summarised with: its dataset on ``root``, every image.

    ``siim``: ``configs/unet_siim.py`` with ``ann_file`` = ``train-rle.csv`` (or
    ``stage_2_train.csv`` when only that exists); ``siim_png``: the same config with
    ``layout='png'`` on ``images/train`` + ``masks/train``; ``rsna``:
    ``configs/mask_rcnn_rsna.py`` without the training filter; ``multi_expert``:
    ``configs/unet_multi_expert_pneumonia.py`` with every image under ``images/`` (both views),
    the experts found under ``masks/`` and their majority vote. Each with ``data_root=root``
    and ``split=None`` (every labelled image), in ``train_dataloader.dataset``.

    Args:
        layout (str): One of :data:`LAYOUTS`.
        root (str): The dataset folder.
        repo_root (str, optional): Where ``configs/`` is. Defaults to the repository holding
            this package.

    Returns:
        mmengine.Config: The config, overridden.
    """
    from mmengine.config import Config
    if layout not in LAYOUT_CONFIGS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    repo_root = repo_root or osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo_root, LAYOUT_CONFIGS[layout]))
    over: dict = dict(data_root=root, split=None)
    if layout == 'siim':
        from mmchest.io.siim_labels import find_siim_csv
        over.update(ann_file=osp.basename(find_siim_csv(root)), layout='dicom')
    elif layout == 'siim_png':
        over.update(layout='png', ann_file='',
                    data_prefix=dict(img_path='images/train', seg_map_path='masks/train'))
    elif layout == 'rsna':
        over.update(filter_cfg=None)
    else:
        mask_dir = osp.join(root, 'masks')
        experts = sorted(d for d in (os.listdir(mask_dir) if osp.isdir(mask_dir) else [])
                         if d.startswith('expert') and osp.isdir(osp.join(mask_dir, d)))
        over.update(ann_file='', views='both', fusion='majority')
        if experts:
            over.update(experts=experts)
    cfg.merge_from_dict({f'train_dataloader.dataset.{k}': v for k, v in over.items()})
    return cfg


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


def write_stats(records: Sequence[ImageRecord], out: str, name: str, bins: int = 16) -> dict:
    """Write ``stats.md``, ``stats.json`` and the four plots of ``records`` into ``out``.

    Args:
        records (Sequence[ImageRecord]): The images (see :func:`records_from_config`).
        out (str): Output folder (created).
        name (str): Dataset name in the table and plot titles.
        bins (int): Box-centre heatmap grid size. Defaults to 16.

    Returns:
        dict: ``stats`` (:func:`summarise`), ``box_centres`` (view -> grid), ``table``
        (the Markdown) and ``plots`` (paths).
    """
    stats = summarise(records)
    heatmaps = centre_heatmaps(records, bins)
    os.makedirs(out, exist_ok=True)
    table = markdown_table(name, stats)
    with open(osp.join(out, 'stats.md'), 'w') as f:
        f.write(table)
    with open(osp.join(out, 'stats.json'), 'w') as f:
        json.dump(dict(stats, box_centres={k: v.tolist() for k, v in heatmaps.items()}), f,
                  indent=1)
    areas = [100.0 * r.mask_area / (r.height * r.width) for r in records if r.mask_area]
    plots = plot_all(dict(stats, _areas=areas), heatmaps, out, name)
    return dict(stats=stats, box_centres=heatmaps, table=table, plots=plots)
