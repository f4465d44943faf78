"""Pneumonia segmentation with frontal and lateral views, each annotated by three experts."""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmchest.data_root import require_paths
from mmchest.evaluation.agreement import FUSE_MODES
from mmchest.io.expert_masks import find_expert_mask
from mmchest.io.multi_expert_layout import (CLASS_DIRS, SPLITS, VIEWS, id_sort_key, load_json,
                                            parse_dup_list, parse_indices, scan_images,
                                            split_leaks)

__all__ = ['MultiExpertPneumoniaDataset', 'MissingExpertMaskError', 'SplitLeakWarning',
           'FUSIONS', 'expert_name']

README = 'datasets/multi_expert_pneumonia/README.md'
#: ``fusion`` values: one expert, each expert as its own sample, or a :func:`fuse_masks` mode.
FUSIONS: Tuple[str, ...] = ('single', 'each') + FUSE_MODES
MISSING_POLICIES = ('error', 'skip')


class MissingExpertMaskError(FileNotFoundError):
    """A pneumonia image lacks a mask from one of the requested experts."""


class SplitLeakWarning(UserWarning):
    """Same-patient studies of the requested split also sit in another split."""


def expert_name(expert: Union[int, str]) -> str:
    """Folder name of an expert: ``1``, ``'1'`` and ``'expert1'`` all give ``'expert1'``."""
    if isinstance(expert, bool) or not isinstance(expert, (int, str)):
        raise ValueError(f'experts must be integers or names like "expert1", got {expert!r}')
    text = str(expert)
    return f'expert{text}' if text.isdigit() else text


def _views(views: Union[str, Sequence[str]]) -> List[str]:
    if isinstance(views, str):
        views = list(VIEWS) if views == 'both' else [views]
    out = list(dict.fromkeys(views))
    if not out or any(v not in VIEWS for v in out):
        raise ValueError(f"views must be 'pa', 'lat', 'both' or a list of them, got {views!r}")
    return out


@DATASETS.register_module()
class MultiExpertPneumoniaDataset(BaseSegDataset):
    """Multi-expert pneumonia segmentation: frontal (pa) and lateral (lat) radiographs.

    Layout under ``data_root`` (see ``datasets/multi_expert_pneumonia/README.md``)::

        images/{pneumonia,norma}/<id>_{pa,lat}.png
        masks/expert{1,2,3}/<id>_<view>.png|.npz     # 1 = pneumonia; pneumonia images only
        indices.json                                 # {split: {class: [ids]}}
        masks/dup_list.json                          # {"case_N": [same-patient pneumonia ids]}

    Ids repeat across the class folders (``pneumonia/2`` and ``norma/2`` are different
    patients): masks are looked up for pneumonia images only, and normal images always get
    empty masks, even when ``masks/expertN/2_pa.png`` exists.

    Each ``data_list`` entry holds paths only (the masks are read and fused by
    ``LoadExpertMasks``): ``img_path``, ``seg_map_path`` (None), ``label_map``,
    ``reduce_zero_label``, ``seg_fields``, ``expert_mask_paths`` (expert folder to mask path,
    None for normal images, for every requested expert), ``mask_experts`` (experts whose
    masks make this sample's target), ``fusion`` (how ``LoadExpertMasks`` combines them),
    ``image_class`` ('pneumonia' | 'norma'), ``view`` ('pa' | 'lat') and ``study``
    ('<class>/<id>', a file id, not a patient identifier).

    Args:
        ann_file (str): Split file, ``indices.json`` shaped; '' uses every image found under
            ``images/``. Relative to ``data_root``. Defaults to 'indices.json'.
        split (str, optional): 'train', 'val' or 'test'; None takes every split of
            ``ann_file``. Defaults to None.
        views (str | Sequence[str]): 'pa', 'lat', 'both' or a list. Defaults to 'pa'.
        experts (Sequence[int | str]): Experts to use, e.g. ``[1, 2, 3]`` or
            ``['expert2']``. Defaults to (1, 2, 3).
        fusion (str): How the experts' masks become the target: 'single' (exactly one
            expert in ``experts``), 'each' (one sample per image and expert, as the dataset's
            authors trained; normal images are repeated too so the class ratio is unchanged),
            'majority' (strictly more than half, 2 of 3), 'union', 'intersection' or 'mean'
            (soft target, encoded as an integer vote count: train it with
            ``SoftVoteCrossEntropyLoss``). Defaults to 'majority'.
        missing_mask (str): A pneumonia image without a mask from a requested expert:
            'error' raises :class:`MissingExpertMaskError`; 'skip' drops the image (all its
            samples) and counts it in ``num_skipped`` / ``missing_masks``.
            Defaults to 'error'.
        dup_list (str, optional): Same-patient groups, relative to ``data_root``; when it
            exists a :class:`SplitLeakWarning` reports groups of ``split`` that also sit in
            another split. None skips the check. Defaults to 'masks/dup_list.json'.
        data_prefix (dict): ``img_path`` (image folder) and ``seg_map_path`` (mask folder).
            Defaults to ``dict(img_path='images', seg_map_path='masks')``.
        **kwargs: Passed to ``BaseSegDataset`` (``pipeline``, ``data_root``, ...).

    Attributes:
        missing_masks (dict[str, int]): Masks missing per expert (``missing_mask='skip'``).
        num_skipped (int): Images dropped for a missing mask.
        num_missing_views (int): Requested views absent from disk (skipped).
        leaking_groups (dict): ``dup_list`` groups of ``split`` spanning several splits.
    """

    METAINFO = dict(classes=('background', 'pneumonia'), palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 ann_file: str = 'indices.json',
                 split: Optional[str] = None,
                 views: Union[str, Sequence[str]] = 'pa',
                 experts: Sequence[Union[int, str]] = (1, 2, 3),
                 fusion: str = 'majority',
                 missing_mask: str = 'error',
                 dup_list: Optional[str] = 'masks/dup_list.json',
                 img_suffix: str = '.png',
                 data_prefix: dict = dict(img_path='images', seg_map_path='masks'),
                 **kwargs) -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS} or None, got {split!r}')
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got {fusion!r}')
        if missing_mask not in MISSING_POLICIES:
            raise ValueError(f'missing_mask must be one of {MISSING_POLICIES}, '
                             f'got {missing_mask!r}')
        if isinstance(experts, (str, int)):
            experts = [experts]
        self.experts = list(dict.fromkeys(expert_name(e) for e in experts))
        if not self.experts:
            raise ValueError('experts must name at least one expert')
        if fusion == 'single' and len(self.experts) != 1:
            raise ValueError(f"fusion='single' needs exactly one expert, got {self.experts}; "
                             "use fusion='each' for one sample per expert")
        self.split = split
        self.views = _views(views)
        self.fusion = fusion
        self.missing_mask = missing_mask
        self.dup_list = dup_list
        self.missing_masks: Dict[str, int] = {e: 0 for e in self.experts}
        self.num_skipped = 0
        self.num_missing_views = 0
        self.leaking_groups: dict = {}
        super().__init__(ann_file=ann_file, img_suffix=img_suffix, data_prefix=data_prefix,
                         **kwargs)

    # ------------------------------------------------------------------ loading
    def _studies(self, img_dir: str) -> Dict[str, List[str]]:
        """Class to ids of the requested split (or of every image on disk)."""
        if not self.ann_file:
            found = scan_images(img_dir, self.views)
            return {cls: list(found[cls]) for cls in CLASS_DIRS}
        indices = parse_indices(load_json(self.ann_file), source=self.ann_file)
        if self.split is not None and self.split not in indices:
            raise ValueError(f'{self.ann_file}: no {self.split!r} split '
                             f'(has {sorted(indices)})')
        self._check_leaks(indices)
        chosen = [self.split] if self.split is not None else list(indices)
        return {cls: sorted((i for s in chosen for i in indices[s][cls]), key=id_sort_key)
                for cls in CLASS_DIRS}

    def _check_leaks(self, indices: dict) -> None:
        if self.dup_list is None or self.split is None:
            return
        path = self.dup_list if osp.isabs(self.dup_list) or not self.data_root else \
            osp.join(self.data_root, self.dup_list)
        if not osp.isfile(path):
            print_log(f'{path} not found: same-patient leaks across splits not checked',
                      logger='current')
            return
        groups = parse_dup_list(load_json(path), source=path)
        self.leaking_groups = split_leaks(indices, groups, split=self.split)
        if self.leaking_groups:
            every = len(split_leaks(indices, groups))
            msg = (f'{self.ann_file}: {len(self.leaking_groups)} same-patient group(s) of '
                   f'{osp.basename(path)} have studies in split {self.split!r} and in another '
                   f'split ({every} leaking group(s) in the whole file); scores may be '
                   'optimistic. Re-split by patient with tools/multi_expert_split.py.')
            warnings.warn(msg, SplitLeakWarning, stacklevel=2)
            print_log(msg, logger='current', level=30)

    def _expert_paths(self, mask_dir: str, stem: str, img_path: str) -> Optional[dict]:
        """Mask path per expert for a pneumonia image; None if skipped for a missing mask."""
        paths = {e: find_expert_mask(osp.join(mask_dir, e), stem) for e in self.experts}
        missing = [e for e, p in paths.items() if p is None]
        if not missing:
            return paths
        if self.missing_mask == 'error':
            raise MissingExpertMaskError(
                f'{img_path}: no mask from {", ".join(missing)} (looked for '
                f'{osp.join(mask_dir, missing[0], stem)}.png|.npz); pass '
                "missing_mask='skip' to drop such images (they are counted)")
        for e in missing:
            self.missing_masks[e] += 1
        return None

    def load_data_list(self) -> List[dict]:
        """Build one entry per image and view (per expert too for ``fusion='each'``).

        Returns:
            list[dict]: Picklable data infos (see the class docstring).
        """
        img_dir = self.data_prefix.get('img_path', '') or ''
        mask_dir = self.data_prefix.get('seg_map_path', '') or ''
        require_paths([img_dir] + ([self.ann_file] if self.ann_file else []),
                      'Multi-expert pneumonia', README)
        self.missing_masks = {e: 0 for e in self.experts}
        self.num_skipped = self.num_missing_views = 0
        data_list: List[dict] = []
        for cls, ids in self._studies(img_dir).items():
            for study_id in ids:
                present = 0
                for view in self.views:
                    stem = f'{study_id}_{view}'
                    img_path = osp.join(img_dir, cls, stem + self.img_suffix)
                    if not osp.isfile(img_path):
                        self.num_missing_views += 1
                        continue
                    present += 1
                    if cls == 'pneumonia':
                        paths = self._expert_paths(mask_dir, stem, img_path)
                        if paths is None:
                            self.num_skipped += 1
                            continue
                    else:  # ids repeat across classes: never look up a normal image's mask
                        paths = {e: None for e in self.experts}
                    data_list.extend(self._infos(img_path, paths, cls, view, study_id))
                if not present:
                    raise FileNotFoundError(
                        f'{self.ann_file or img_dir}: {cls}/{study_id} has no image for '
                        f'view(s) {self.views} under {osp.join(img_dir, cls)}')
        self._report()
        return data_list

    def _infos(self, img_path: str, paths: dict, cls: str, view: str,
               study_id: str) -> List[dict]:
        base = dict(img_path=img_path, seg_map_path=None, label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label, seg_fields=[],
                    expert_mask_paths=dict(paths), image_class=cls, view=view,
                    study=f'{cls}/{study_id}')
        if self.fusion == 'each':
            return [dict(base, expert_mask_paths=dict(paths), seg_fields=[],
                         mask_experts=[e], fusion='single') for e in self.experts]
        return [dict(base, mask_experts=list(self.experts), fusion=self.fusion)]

    def get_positive_flags(self) -> np.ndarray:
        """Whether each sample is a pneumonia image (for ``PositiveRatioSampler``).

        Returns:
            np.ndarray: bool array, one flag per sample.
        """
        return np.array([self.get_data_info(i)['image_class'] == 'pneumonia'
                         for i in range(len(self))], dtype=bool)

    def _report(self) -> None:
        if self.num_skipped:
            counts = ', '.join(f'{e}: {n}' for e, n in self.missing_masks.items() if n)
            print_log(f'{type(self).__name__}: skipped {self.num_skipped} pneumonia image(s) '
                      f'with a missing expert mask ({counts})', logger='current', level=30)
        if self.num_missing_views:
            print_log(f'{type(self).__name__}: {self.num_missing_views} requested view '
                      'image(s) not on disk, skipped', logger='current', level=30)
