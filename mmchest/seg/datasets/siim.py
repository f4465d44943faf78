"""SIIM-ACR Pneumothorax, read straight from the Kaggle download (or its PNG export)."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmchest.data_root import require_paths
from mmchest.engine.bad_files import BadFilesMixin
from mmchest.io.image_check import ImageCheck
from mmchest.io.rle import RLEError, is_empty_rle, rle_extent
from mmchest.io.siim_labels import read_siim_csv
from mmchest.splits import grouped_stratified_split

README = 'datasets/siim/README.md'
LAYOUTS = ('dicom', 'png')
MISSING_POLICIES = ('error', 'skip')


@DATASETS.register_module()
class SIIMPneumothoraxDataset(BadFilesMixin, BaseSegDataset):
    """SIIM-ACR Pneumothorax segmentation (Kaggle 2019), no conversion step.

    Two layouts under ``data_root``:

    * ``layout='dicom'`` (the raw download): DICOMs found recursively under
      ``data_prefix['img_path']`` (``dicom-images-train/<study>/<series>/<uid>.dcm``), named
      by their ImageId, plus ``ann_file`` = ``train-rle.csv`` or ``stage_2_train.csv``
      (relative, column-major RLE; several rows per image are merged; ``-1`` = empty).
      Masks are decoded at load time by ``LoadRLEMask``; ``data_list`` holds only paths
      and RLE strings.
    * ``layout='png'``: the layout MMSegmentation's ``chest_image_pneum`` project prepares:
      ``images/<split>/<id>.png`` and ``masks/<split>/<id>.png`` (0 = background,
      non-zero = pneumothorax).

    Images in the CSV but not on disk, and DICOMs on disk without a CSV row, are counted and
    reported; ``missing='skip'`` (default) drops them, ``missing='error'`` raises.

    Bad files are found when the dataset is built (:mod:`mmchest.engine.bad_files`): every
    labelled image (all splits) gets a header check (readable, pixel data complete, a
    decoder installed, under the loader's ``max_pixels``) and each RLE row is checked against
    the header's Rows x Columns (an overrun names the CSV, line and ImageId).

    Args:
        ann_file (str): RLE CSV (dicom layout); ignored for png. ``''`` lists unlabelled
            DICOMs (e.g. ``dicom-images-test``) with empty masks. Defaults to
            ``'train-rle.csv'``.
        layout (str): ``'dicom'`` or ``'png'``. Defaults to ``'dicom'``.
        rle_format (str): ``'relative'`` (both SIIM stages) or ``'absolute'`` (1-indexed
            starts). Defaults to ``'relative'``.
        split (str, optional): Subset to keep, e.g. ``'train'`` or ``'val'``. With
            ``split_file`` it selects that file's key; without it a seeded split stratified
            by positive/negative is made from ``split_ratios``. Defaults to None (all).
        split_file (str, optional): ``.txt`` (one ImageId per line: the subset) or
            ``.json`` (``{split: [ImageIds]}``). Relative paths join ``data_root``.
        split_ratios (dict): Relative sizes for the seeded split.
            Defaults to ``dict(train=0.9, val=0.1)``.
        split_seed (int): Seed of the seeded split. Defaults to 0.
        missing (str): ``'skip'`` or ``'error'``. Defaults to ``'skip'``.
        bad_files (str): ``'error'`` or ``'skip'``; see
            :class:`~mmchest.engine.bad_files.BadFilesMixin`. Defaults to ``'error'``.
        exclude_file (str, optional): Files to leave out (``path[<TAB>reason]`` lines).
            Defaults to None.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = dict(classes=('background', 'pneumothorax'), palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 ann_file: str = 'train-rle.csv',
                 layout: str = 'dicom',
                 data_prefix: Optional[dict] = None,
                 img_suffix: Optional[str] = None,
                 seg_map_suffix: str = '.png',
                 rle_format: str = 'relative',
                 split: Optional[str] = None,
                 split_file: Optional[str] = None,
                 split_ratios: Optional[dict] = None,
                 split_seed: int = 0,
                 missing: str = 'skip',
                 bad_files: str = 'error',
                 exclude_file: Optional[str] = None,
                 **kwargs) -> None:
        self._init_bad_files(bad_files, exclude_file)
        if layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
        if missing not in MISSING_POLICIES:
            raise ValueError(f'missing must be one of {MISSING_POLICIES}, got {missing!r}')
        if rle_format not in ('relative', 'absolute'):
            raise ValueError(f"rle_format must be 'relative' or 'absolute', got {rle_format!r}")
        if data_prefix is None:
            data_prefix = (dict(img_path='dicom-images-train') if layout == 'dicom' else
                           dict(img_path='images/train', seg_map_path='masks/train'))
        self.layout = layout
        self.rle_format = rle_format
        self.split = split
        self.split_file = split_file
        self.split_ratios = split_ratios or dict(train=0.9, val=0.1)
        self.split_seed = split_seed
        self.missing = missing
        self.missing_report: Dict[str, int] = {}
        if layout == 'png':
            ann_file = ''
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix,
            img_suffix=img_suffix or ('.dcm' if layout == 'dicom' else '.png'),
            seg_map_suffix=seg_map_suffix,
            **kwargs)

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        """Build plain, picklable entries: paths, ImageId, RLE rows, positive flag."""
        img_dir = self.data_prefix.get('img_path', '')
        paths = [img_dir] + ([self.ann_file] if self.ann_file else [])
        if self.layout == 'png':
            paths.append(self.data_prefix.get('seg_map_path', ''))
        require_paths(paths, 'SIIM-ACR pneumothorax', README)
        if self.layout == 'dicom':
            data_list = self._load_dicom_layout(img_dir)
        else:
            data_list = self._load_png_layout(img_dir, self.data_prefix['seg_map_path'])
        own = self._apply_split(data_list)
        if not own:
            raise ValueError(f'SIIM dataset under {img_dir!r} is empty after '
                             f'split={self.split!r}; check data_root, ann_file and split')
        mine = {id(d) for d in own}
        own = self._screen_files(
            own, [d for d in data_list if id(d) not in mine], extra=self._rle_problem,
            files_of=lambda d: [d['img_path']] + ([d['seg_map_path']]
                                                   if d.get('seg_map_path') else []))
        return own

    def _rle_problem(self, info: dict, check: ImageCheck) -> Optional[str]:
        """An RLE row whose runs end past the image's Rows x Columns, named by CSV line."""
        if not info.get('rle') or not check.height or not check.width:
            return None
        num_pixels = check.height * check.width
        for row, rle in zip(info['rle_rows'], info['rle']):
            try:
                end = rle_extent(rle, relative=info.get('rle_relative', True))
            except RLEError as exc:
                return f'{self.ann_file}, line {row} (ImageId {info["image_id"]}): {exc}'
            if end > num_pixels:
                return (f'{self.ann_file}, line {row} (ImageId {info["image_id"]}): RLE runs '
                        f'end at pixel {end:,}, past Rows x Columns = {check.height} x '
                        f'{check.width} = {num_pixels:,} of the image')
        return None

    def _find_images(self, img_dir: str) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for root, _, files in os.walk(img_dir, followlinks=True):
            for name in files:
                if name.endswith(self.img_suffix):
                    found[name[:-len(self.img_suffix)]] = osp.join(root, name)
        return dict(sorted(found.items()))

    def _base_info(self, image_id: str, img_path: str) -> dict:
        return dict(img_path=img_path, image_id=image_id, label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label, seg_fields=[])

    def _load_dicom_layout(self, img_dir: str) -> List[dict]:
        on_disk = self._find_images(img_dir)
        if not self.ann_file:  # unlabelled images (test set)
            return [dict(self._base_info(i, p), rle=[], rle_rows=[], has_lesion=None,
                         rle_relative=self.rle_format == 'relative')
                    for i, p in on_disk.items()]
        labels = read_siim_csv(self.ann_file)
        not_on_disk = [i for i in labels if i not in on_disk]
        not_in_csv = [i for i in on_disk if i not in labels]
        self._report_missing(not_on_disk, not_in_csv, img_dir)
        data_list = []
        for image_id, rows in labels.items():
            if image_id not in on_disk:
                continue
            rles = [r for _, r in rows if not is_empty_rle(r)]
            data_list.append(dict(
                self._base_info(image_id, on_disk[image_id]),
                rle=rles,
                rle_rows=[n for n, r in rows if not is_empty_rle(r)],
                rle_relative=self.rle_format == 'relative',
                has_lesion=bool(rles)))
        return data_list

    def _load_png_layout(self, img_dir: str, mask_dir: str) -> List[dict]:
        images = self._find_images(img_dir)
        masks = {osp.relpath(p, mask_dir)[:-len(self.seg_map_suffix)]: p
                 for p in self._walk(mask_dir, self.seg_map_suffix)}
        images = {osp.relpath(p, img_dir)[:-len(self.img_suffix)]: p for p in images.values()}
        not_on_disk = [i for i in masks if i not in images]
        no_mask = [i for i in images if i not in masks]
        self._report_missing(not_on_disk, no_mask, img_dir, what='mask')
        return [dict(self._base_info(osp.basename(k), images[k]), seg_map_path=masks[k],
                     has_lesion=None) for k in sorted(images) if k in masks]

    @staticmethod
    def _walk(folder: str, suffix: str) -> List[str]:
        return sorted(osp.join(r, n) for r, _, fs in os.walk(folder, followlinks=True)
                      for n in fs if n.endswith(suffix))

    def _report_missing(self, not_on_disk: Sequence[str], unlabelled: Sequence[str],
                        img_dir: str, what: str = 'CSV row') -> None:
        self.missing_report = {'labelled_but_missing_image': len(not_on_disk),
                               f'image_without_{what.replace(" ", "_").lower()}':
                               len(unlabelled)}
        if not not_on_disk and not unlabelled:
            return
        msg = (f'SIIM: {len(not_on_disk)} labelled image(s) not found under {img_dir!r} '
               f'(first: {list(not_on_disk[:3])}), {len(unlabelled)} image(s) without a '
               f'{what} (first: {list(unlabelled[:3])})')
        if self.missing == 'error':
            raise FileNotFoundError(msg + "; set missing='skip' to drop them")
        print_log(msg + '; skipped (missing=\'skip\')', logger='current', level=30)

    # ------------------------------------------------------------------- splits
    def _apply_split(self, data_list: List[dict]) -> List[dict]:
        if self.split is None and self.split_file is None:
            return data_list
        if self.split_file is not None:
            keep = set(self._read_split_file())
            unknown = len(keep - {d['image_id'] for d in data_list})
            if unknown:
                print_log(f'SIIM: {unknown} id(s) in {self.split_file!r} are not in the '
                          'dataset', logger='current', level=30)
            return [d for d in data_list if d['image_id'] in keep]
        if self.split not in self.split_ratios:
            raise ValueError(f'split={self.split!r} is not one of {list(self.split_ratios)} '
                             '(split_ratios)')
        labels = self._positive_flags_of(data_list)
        subsets = grouped_stratified_split(labels, self.split_ratios, seed=self.split_seed)
        return [data_list[i] for i in subsets[self.split]]

    def _read_split_file(self) -> List[str]:
        path = self.split_file
        if self.data_root and not osp.isabs(path):
            path = osp.join(self.data_root, path)
        require_paths([path], 'SIIM-ACR split file', README)
        if path.endswith('.json'):
            with open(path) as f:
                table = json.load(f)
            if not isinstance(table, dict) or self.split not in table:
                raise ValueError(f'{path}: expected a JSON object with key {self.split!r}')
            return [str(i) for i in table[self.split]]
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]

    # -------------------------------------------------------------- positives
    @staticmethod
    def _mask_is_positive(path: str) -> bool:
        import cv2
        mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise ValueError(f'{path}: cannot read mask PNG')
        return bool(mask.any())

    def _positive_flags_of(self, data_list: List[dict]) -> List[int]:
        return [int(d['has_lesion'] if d.get('has_lesion') is not None else
                    self._mask_is_positive(d['seg_map_path'])) for d in data_list]

    def get_positive_flags(self) -> np.ndarray:
        """Whether each sample has pneumothorax (for ``PositiveRatioSampler``).

        Returns:
            np.ndarray: bool array of length ``len(self)``. The png layout reads each mask
            once, on the first call.
        """
        if getattr(self, '_positive_flags', None) is None:
            infos = [self.get_data_info(i) for i in range(len(self))]
            if any(d.get('has_lesion') is None and 'seg_map_path' not in d for d in infos):
                raise ValueError('SIIM: positive flags need labels (ann_file or masks)')
            self._positive_flags = np.array(self._positive_flags_of(infos), dtype=bool)
        return self._positive_flags
