"""RSNA Pneumonia Detection as an image-level classification dataset for MMPretrain.

Reads the same Kaggle files, the same seeded patient split and the same build-time DICOM
checks as the detection dataset (all in :func:`mmchest.io.rsna_records.load_rsna_records`);
this class only turns each patient into one ``gt_label``.
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.logging import MMLogger, print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ...data_root import require_paths
from ...engine.bad_files import BadFilesMixin
from ...io.rsna_labels import BoxReport
from ...io.rsna_records import (DEFAULT_SPLIT_FRACTIONS, check_split, class_info_path,
                                load_rsna_records)

__all__ = ['RSNAClassificationDataset', 'RSNA_CLS_CLASSES', 'POSITIVE_CLASS']

#: Classes per ``target``.
RSNA_CLS_CLASSES: Dict[str, Tuple[str, ...]] = {
    'binary': ('normal', 'pneumonia'),
    'detailed': ('Normal', 'No Lung Opacity / Not Normal', 'Lung Opacity'),
}
#: The class that means pneumonia, per ``target`` (the image-level score's class).
POSITIVE_CLASS: Dict[str, str] = {'binary': 'pneumonia', 'detailed': 'Lung Opacity'}
README = 'datasets/rsna/README.md'


@DATASETS.register_module()
class RSNAClassificationDataset(BadFilesMixin, BaseDataset):
    """RSNA Pneumonia Detection Challenge (Kaggle, stage 2), one label per image.

    ``target='binary'``: classes ``('normal', 'pneumonia')``, pneumonia = the patient has
    boxes (``Target=1`` after box cleaning). ``target='detailed'``: classes ``('Normal',
    'No Lung Opacity / Not Normal', 'Lung Opacity')`` from
    ``stage_2_detailed_class_info.csv`` (required; patients absent from it are dropped and
    counted in the log). Patients, split (``split``/``split_fractions``/``split_seed``, the
    same patients as :class:`mmchest.det.RSNAPneumoniaDataset` with the same arguments) and the
    build-time check of every labelled DICOM (``bad_files``/``exclude_file``) are shared with
    the detection dataset.

    Each ``data_info`` holds ``img_path``, ``gt_label`` (int), ``target`` (0/1),
    ``class_label`` (detailed class or None) and ``view_position`` ('PA'/'AP' or None).

    Args:
        ann_file (str): The labels CSV, relative to ``data_root``.
            Defaults to 'stage_2_train_labels.csv'.
        class_info_file (str, optional): The detailed class CSV, relative to ``data_root``;
            needed for ``target='detailed'``. Defaults to 'stage_2_detailed_class_info.csv'.
        target (str): ``'binary'`` or ``'detailed'``. Defaults to 'binary'.
        data_prefix (dict | str): ``img_path``: the DICOM folder relative to ``data_root``.
            Defaults to ``dict(img_path='stage_2_train_images')``.
        split (str, optional): Keep one split of the patients. Defaults to None (all).
        split_fractions (dict): Split name -> relative size.
            Defaults to :data:`mmchest.io.rsna_records.DEFAULT_SPLIT_FRACTIONS`.
        split_seed (int): Seed of the split. Defaults to 0.
        image_size (tuple[int, int], optional): Skip reading the header's size (as the
            detection dataset). Defaults to None.
        bad_files (str): ``'error'`` or ``'skip'`` (see :mod:`mmchest.engine.bad_files`).
            Defaults to 'error'.
        exclude_file (str, optional): Files to leave out. Defaults to None.
        **kwargs: :class:`mmpretrain.datasets.BaseDataset` arguments (``data_root``,
            ``pipeline``, ``test_mode``, ...). ``metainfo``/``classes`` must match ``target``.
    """

    def __init__(self,
                 ann_file: str = 'stage_2_train_labels.csv',
                 class_info_file: Optional[str] = 'stage_2_detailed_class_info.csv',
                 target: str = 'binary',
                 data_prefix=dict(img_path='stage_2_train_images'),
                 split: Optional[str] = None,
                 split_fractions: Mapping[str, float] = DEFAULT_SPLIT_FRACTIONS,
                 split_seed: int = 0,
                 image_size: Optional[Sequence[int]] = None,
                 bad_files: str = 'error',
                 exclude_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if target not in RSNA_CLS_CLASSES:
            raise ValueError(f'target must be one of {list(RSNA_CLS_CLASSES)}, got {target!r}')
        self._init_bad_files(bad_files, exclude_file)
        self.target = target
        self.class_info_file = class_info_file
        self.split = split
        self.split_seed = split_seed
        self.image_size = image_size
        self.box_report: Optional[BoxReport] = None
        self.split_fractions = check_split(split, split_fractions)
        classes = RSNA_CLS_CLASSES[target]
        metainfo = dict(metainfo or {})
        given = metainfo.get('classes', kwargs.get('classes'))
        if given is not None and tuple(given) != classes:
            raise ValueError(f"target={target!r} has classes {classes}; metainfo/classes "
                             f'say {tuple(given)}')
        metainfo.update(classes=classes)
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, metainfo=metainfo,
                         **kwargs)

    def _class_info_path(self) -> Optional[str]:
        path = class_info_path(self.class_info_file, self.data_root)
        if path is None or osp.isfile(path):
            return path
        if self.target == 'detailed':
            raise FileNotFoundError(f"RSNAClassificationDataset(target='detailed') needs the "
                                    f'detailed class file {path} (see {README})')
        return None

    def load_data_list(self) -> List[dict]:
        """Parse the label CSV(s) and DICOM headers into ``data_list`` entries.

        Returns:
            list[dict]: One entry per kept patient (see the class docstring).
        """
        img_dir = self.data_prefix.get('img_path', '')
        require_paths([self.ann_file, img_dir], 'RSNA Pneumonia Detection', README)
        if self.target == 'detailed' and not self.class_info_file:
            raise ValueError("target='detailed' needs class_info_file "
                             "(stage_2_detailed_class_info.csv)")
        found = load_rsna_records(
            self.ann_file, img_dir, self._screen_files, class_info=self._class_info_path(),
            split=self.split, split_fractions=self.split_fractions, split_seed=self.split_seed,
            image_size=self.image_size)
        self.box_report = found.report
        logger = MMLogger.get_current_instance()
        print_log(found.report.summary(), logger=logger)
        classes = RSNA_CLS_CLASSES[self.target]
        data_list, unlabelled = [], 0
        for rec in found.records:
            if self.target == 'binary':
                label = rec.target
            elif rec.class_label in classes:
                label = classes.index(rec.class_label)
            else:
                unlabelled += 1
                continue
            data_list.append(dict(img_path=found.img_path(rec.patient_id), gt_label=int(label),
                                  target=rec.target, class_label=rec.class_label,
                                  view_position=found.headers[rec.patient_id][2]))
        if unlabelled:
            print_log(f'RSNAClassificationDataset: {unlabelled} patient(s) without a detailed '
                      'class left out', logger=logger, level=30)
        if not data_list:
            where = f'split {self.split!r} of ' if self.split is not None else ''
            raise ValueError(f'RSNAClassificationDataset: {where}{self.ann_file} holds no '
                             f'patient with a usable label')
        return data_list
