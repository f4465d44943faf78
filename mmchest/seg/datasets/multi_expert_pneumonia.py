"""Pneumonia segmentation with frontal and lateral views, each annotated by three experts."""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmchest.data_root import DatasetNotFoundError, require_paths
from mmchest.engine.bad_files import BadFilesMixin
from mmchest.io.expert_masks import FUSE_MODES, find_expert_mask
from mmchest.io.multi_expert_layout import (CLASS_DIRS, DEFAULT_SPLIT_RATIOS, SPLITS, VIEWS,
                                            id_sort_key, load_json, parse_dup_list, parse_indices,
                                            resplit, scan_images, split_leaks)

__all__ = ['MultiExpertPneumoniaDataset', 'MissingExpertMaskError', 'SplitLeakWarning',
           'FUSIONS', 'DEFAULT_SPLIT_RATIOS', 'expert_name']

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


def _counts(indices: dict) -> str:
    """``'12/3/5'``: studies per split, in the split order of ``indices``."""
    return '/'.join(str(sum(len(ids) for ids in by_class.values()))
                    for by_class in indices.values())


@DATASETS.register_module()
class MultiExpertPneumoniaDataset(BadFilesMixin, BaseSegDataset):
    """Multi-expert pneumonia segmentation: frontal (pa) and lateral (lat) radiographs.

    Layout under ``data_root`` (see ``datasets/multi_expert_pneumonia/README.md``), as
    published on zenodo (record 5732746)::

        images/{pneumonia,norma}/<id>_{pa,lat}.png
        masks/expert{1,2,3}/<id>_<view>.png|.npz     # 1 = pneumonia; pneumonia images only
        masks/dup_list.json                          # {"case_N": [same-patient pneumonia ids]}
        indices.json                                 # optional: the authors' split (not on zenodo)

    Splits (``ann_file``):

    * ``None`` (default): a seeded split of every study under ``images/``, stratified by
      class and grouped by patient (the pneumonia studies of a ``dup_list.json`` group, and
      both views of a study, share a split), with ``split_ratios`` and ``split_seed``. It
      depends only on the files and the seed (same on every rank, and for every ``views``),
      and equals what ``tools/multi_expert_split.py`` writes with the same seed and ratios.
    * ``'indices.json'`` (or another file of that shape): that split. The authors' file comes
      from their code repository (``.src/indsices.json``, sic), not from zenodo, and puts
      same-patient groups across train/val/test: a :class:`SplitLeakWarning` counts them.
    * ``''``: every image, no split.

    Building the dataset logs which split it uses; scores on the seeded split and on the
    authors' split are not comparable.

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
        ann_file (str, optional): None for the seeded patient-grouped split; a split file
            shaped like ``indices.json`` (relative to ``data_root``), e.g. ``'indices.json'``
            for the authors' split; '' for every image found under ``images/``.
            Defaults to None.
        split (str, optional): 'train', 'val' or 'test'; None takes every study (every split
            of ``ann_file``). Defaults to None.
        split_ratios (dict, optional): Split name to relative size for ``ann_file=None``.
            Defaults to :data:`DEFAULT_SPLIT_RATIOS` (train/val/test = 0.7/0.1/0.2).
        split_seed (int): Seed of the split for ``ann_file=None``. Defaults to 0.
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
        bad_files (str): Every image of the download (all splits, requested views) gets a
            header check when the dataset is built (:mod:`mmchest.engine.bad_files`).
            ``'error'``: raise when this split holds an image that will not load, listing
            every bad image; ``'skip'``: drop this split's bad images (logged, written next
            to the log, counted by the metric). Defaults to ``'error'``.
        exclude_file (str, optional): Files to leave out (``path[<TAB>reason]`` per line,
            relative to ``data_root``), e.g. what ``tools/check_dataset.py`` writes.
            Defaults to None.
        dup_list (str, optional): Same-patient groups, relative to ``data_root``. The seeded
            split keeps each group in one split; with a split file a
            :class:`SplitLeakWarning` reports groups of ``split`` that also sit in another
            split. None ignores the groups. Defaults to 'masks/dup_list.json'.
        data_prefix (dict): ``img_path`` (image folder) and ``seg_map_path`` (mask folder).
            Defaults to ``dict(img_path='images', seg_map_path='masks')``.
        **kwargs: Passed to ``BaseSegDataset`` (``pipeline``, ``data_root``, ...).

    Attributes:
        missing_masks (dict[str, int]): Masks missing per expert (``missing_mask='skip'``).
        num_skipped (int): Images dropped for a missing mask.
        num_missing_views (int): Requested views absent from disk (skipped).
        leaking_groups (dict): ``dup_list`` groups of ``split`` spanning several splits.
        split_description (str): Which split the dataset uses (the logged line).
    """

    METAINFO = dict(classes=('background', 'pneumonia'), palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 ann_file: Optional[str] = None,
                 split: Optional[str] = None,
                 split_ratios: Optional[Dict[str, float]] = None,
                 split_seed: int = 0,
                 views: Union[str, Sequence[str]] = 'pa',
                 experts: Sequence[Union[int, str]] = (1, 2, 3),
                 fusion: str = 'majority',
                 missing_mask: str = 'error',
                 bad_files: str = 'error',
                 exclude_file: Optional[str] = None,
                 dup_list: Optional[str] = 'masks/dup_list.json',
                 img_suffix: str = '.png',
                 data_prefix: dict = dict(img_path='images', seg_map_path='masks'),
                 **kwargs) -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS} or None, got {split!r}')
        self._init_bad_files(bad_files, exclude_file)
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
        self.split_ratios = dict(DEFAULT_SPLIT_RATIOS if split_ratios is None else split_ratios)
        bad = set(self.split_ratios) - set(SPLITS)
        if bad:
            raise ValueError(f'split_ratios keys must be in {SPLITS}, got {sorted(bad)}')
        if ann_file is None and split is not None and split not in self.split_ratios:
            raise ValueError(f'split={split!r} is not one of split_ratios '
                             f'{list(self.split_ratios)}')
        self.split_seed = split_seed
        self.split_description = ''
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

    # ------------------------------------------------------------------ splits
    def _dup_groups(self) -> Optional[Dict[str, List[str]]]:
        """``dup_list.json`` groups, or None when ``dup_list`` is None or the file is absent."""
        if self.dup_list is None:
            return None
        path = self.dup_list if osp.isabs(self.dup_list) or not self.data_root else \
            osp.join(self.data_root, self.dup_list)
        if not osp.isfile(path):
            print_log(f'{path} not found: same-patient groups are not '
                      + ('kept together by the split (only both views of a study are)'
                         if self.ann_file is None else 'checked for leaks across splits'),
                      logger='current', level=30)
            return None
        return parse_dup_list(load_json(path), source=path)

    def _studies(self, img_dir: str) -> Dict[str, List[str]]:
        """Class to ids of the requested split (or of every image on disk)."""
        name = type(self).__name__
        if self.ann_file is None:
            return self._seeded_studies(img_dir)
        if not self.ann_file:
            found = scan_images(img_dir, self.views)
            self._describe(f'{name}: every image under {img_dir} (ann_file=\'\', no split)')
            return {cls: list(found[cls]) for cls in CLASS_DIRS}
        indices = parse_indices(load_json(self.ann_file), source=self.ann_file)
        if self.split is not None and self.split not in indices:
            raise ValueError(f'{self.ann_file}: no {self.split!r} split '
                             f'(has {sorted(indices)})')
        file_name = osp.basename(self.ann_file)
        what = ("the authors' split" if file_name == 'indices.json' else 'the split file')
        self._describe(
            f'{name}, split {self.split!r}: {what} {file_name} '
            f'({"/".join(indices)} = {_counts(indices)} studies); scores on it are not '
            'comparable with scores on the seeded patient-grouped split (ann_file=None)')
        self._check_leaks(indices)
        chosen = [self.split] if self.split is not None else list(indices)
        return {cls: sorted((i for s in chosen for i in indices[s][cls]), key=id_sort_key)
                for cls in CLASS_DIRS}

    def _seeded_studies(self, img_dir: str) -> Dict[str, List[str]]:
        """The seeded split, stratified by class and grouped by patient (``ann_file=None``).

        Every view is scanned, so the split is the same whatever ``views`` asks for; studies
        without a requested view are skipped later (``num_missing_views``).
        """
        found = scan_images(img_dir)
        studies = {cls: list(found[cls]) for cls in CLASS_DIRS}
        parts = resplit(studies, self._dup_groups(), self.split_ratios, seed=self.split_seed)
        ratios = '/'.join(f'{v:g}' for v in self.split_ratios.values())
        self._describe(
            f'{type(self).__name__}, split {self.split!r}: seeded patient-grouped split '
            f'(seed {self.split_seed}, {"/".join(parts)} = {ratios} -> {_counts(parts)} '
            'studies, stratified by class; same-patient groups and both views of a study '
            "kept together), NOT the authors' indices.json; scores are not comparable with "
            "the paper's or with runs on indices.json (ann_file='indices.json')")
        chosen = [self.split] if self.split is not None else list(parts)
        return {cls: sorted((i for s in chosen for i in parts[s][cls]), key=id_sort_key)
                for cls in CLASS_DIRS}

    def _describe(self, text: str) -> None:
        self.split_description = text
        print_log(text, logger='current')

    def _check_leaks(self, indices: dict) -> None:
        groups = self._dup_groups()
        if not groups:
            return
        every = split_leaks(indices, groups)
        self.leaking_groups = (every if self.split is None else
                               split_leaks(indices, groups, split=self.split))
        if not self.leaking_groups:
            return
        n = len(every)
        msg = (f'{osp.basename(self.ann_file)} puts {n} same-patient '
               f'group{"" if n == 1 else "s"} of {osp.basename(self.dup_list)} across '
               f'{"/".join(indices)}')
        if self.split is not None:
            msg += (f' ({len(self.leaking_groups)} of them with studies in split '
                    f'{self.split!r} and in another split)')
        msg += ('; scores on it may be optimistic. ann_file=None (the configs\' default) '
                'splits by patient; tools/multi_expert_split.py writes that split to a file.')
        warnings.warn(msg, SplitLeakWarning, stacklevel=2)
        print_log(msg, logger='current', level=30)

    # ------------------------------------------------------------------ loading
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
        require_paths([img_dir], 'Multi-expert pneumonia', README)
        if self.ann_file and not osp.exists(self.ann_file):
            raise DatasetNotFoundError(
                f'{self.ann_file} does not exist. The zenodo download has no split file: the '
                "authors' split is .src/indsices.json (sic) in their code repository (copy it "
                f"to {self.ann_file}; {README} explains). Or set ann_file=None (the configs' "
                'default) for a seeded split grouped by patient.')
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
                if not present and self.ann_file is not None:  # the seeded split skips it
                    raise FileNotFoundError(
                        f'{self.ann_file or img_dir}: {cls}/{study_id} has no image for '
                        f'view(s) {self.views} under {osp.join(img_dir, cls)}')
        self._report()
        mine = {d['img_path'] for d in data_list}
        others = [dict(img_path=path) for by_id in scan_images(img_dir, self.views).values()
                  for by_view in by_id.values() for path in by_view.values()
                  if path not in mine]
        return self._screen_files(data_list, others)

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
