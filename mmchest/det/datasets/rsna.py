"""RSNA Pneumonia Detection as an mmdet dataset (reads the Kaggle CSVs and DICOMs directly).

The parsing, box cleaning and the split are done by framework-free cores
(:mod:`mmchest.io.rsna_labels`, :mod:`mmchest.splits`); this class only turns their output into
mmdet's ``data_list`` (see mmdet/datasets/xml_style.py for the contract).
"""
from __future__ import annotations

import os.path as osp
from typing import List, Mapping, Optional, Sequence

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.logging import MMLogger, print_log

from mmchest.data_root import require_paths
from mmchest.engine.bad_files import BadFilesMixin
from mmchest.io.rsna_labels import RSNA_CLASSES, RSNA_DETAILED_CLASSES, BoxReport
from mmchest.io.rsna_records import (DEFAULT_SPLIT_FRACTIONS, check_split, class_info_path,
                                     load_rsna_records, rsna_split_patients)

__all__ = ['RSNAPneumoniaDataset', 'DEFAULT_SPLIT_FRACTIONS', 'rsna_split_patients']

README = 'datasets/rsna/README.md'


@DATASETS.register_module()
class RSNAPneumoniaDataset(BadFilesMixin, BaseDetDataset):
    """RSNA Pneumonia Detection Challenge (Kaggle, stage 2) for mmdet, one class.

    Reads ``stage_2_train_labels.csv`` (``patientId,x,y,width,height,Target``), optionally
    ``stage_2_detailed_class_info.csv``, and the DICOM headers
    (``<data_prefix.img>/<patientId>.dcm``). Each patient is one image; its boxes become
    ``instances`` with a filled rectangular polygon ``mask`` (for Mask R-CNN). Target=0
    patients are kept as images without instances: training drops them only with
    ``filter_cfg=dict(filter_empty_gt=True)``, and ``test_mode=True`` always keeps them. Bad
    boxes are clipped or rejected and a per-reason report is logged (:attr:`box_report`).

    Every labelled patient's DICOM (all splits) gets a header check when the dataset is built
    (:mod:`mmchest.engine.bad_files`: readable, pixel data complete, a decoder installed,
    under the loader's ``max_pixels``; cached); its Rows/Columns clip the boxes.

    Each ``data_info`` holds ``img_path``, ``img_id`` (int, position in this dataset),
    ``height``, ``width``, ``instances=[{bbox (x1,y1,x2,y2), bbox_label=0, ignore_flag=0,
    mask=[[x1,y1,x2,y1,x2,y2,x1,y2]]}]``, ``target`` (0/1), ``class_label`` (one of
    :data:`RSNA_DETAILED_CLASSES` or None), ``class_label_id`` (its index, -1 if unknown) and
    ``view_position`` ('PA'/'AP' from the DICOM header, or None). Add the last keys to
    ``PackDetInputs(meta_keys=...)`` to see them in the data samples.

    Args:
        ann_file (str): The labels CSV, relative to ``data_root``.
            Defaults to 'stage_2_train_labels.csv'.
        class_info_file (str, optional): The detailed class CSV, relative to ``data_root``;
            skipped when None or absent. Defaults to 'stage_2_detailed_class_info.csv'.
        data_prefix (dict): ``img``: the DICOM folder relative to ``data_root``.
            Defaults to ``dict(img='stage_2_train_images')``.
        split (str, optional): Keep one split of the patients (see
            :func:`rsna_split_patients`). Defaults to None (all patients).
        split_fractions (dict): Split name -> relative size. Defaults to
            :data:`DEFAULT_SPLIT_FRACTIONS`.
        split_seed (int): Seed of the split. Defaults to 0.
        image_size (tuple[int, int], optional): Use this (height, width) for every image
            instead of reading each DICOM header (all stage-2 images are 1024x1024); then
            ``view_position`` is None. Defaults to None.
        min_box_size (float): Boxes with less than this width/height inside the image are
            rejected. Defaults to 1.0.
        strict (bool): Raise on the first bad label row instead of clipping/rejecting.
            Defaults to False.
        bad_files (str): ``'error'`` or ``'skip'``; see
            :class:`~mmchest.engine.bad_files.BadFilesMixin`. Defaults to ``'error'``.
        exclude_file (str, optional): Files to leave out (``path[<TAB>reason]`` lines).
            Defaults to None.
        **kwargs: :class:`mmdet.datasets.BaseDetDataset` arguments (``data_root``,
            ``metainfo``, ``filter_cfg``, ``pipeline``, ``test_mode``, ...).
    """

    METAINFO = dict(classes=RSNA_CLASSES, palette=[(220, 20, 60)])

    def __init__(self,
                 ann_file: str = 'stage_2_train_labels.csv',
                 class_info_file: Optional[str] = 'stage_2_detailed_class_info.csv',
                 data_prefix: dict = dict(img='stage_2_train_images'),
                 split: Optional[str] = None,
                 split_fractions: Mapping[str, float] = DEFAULT_SPLIT_FRACTIONS,
                 split_seed: int = 0,
                 image_size: Optional[Sequence[int]] = None,
                 min_box_size: float = 1.0,
                 strict: bool = False,
                 bad_files: str = 'error',
                 exclude_file: Optional[str] = None,
                 **kwargs) -> None:
        self._init_bad_files(bad_files, exclude_file)
        self.class_info_file = class_info_file
        self.split = split
        self.split_seed = split_seed
        self.image_size = (None if image_size is None else
                           (int(image_size[0]), int(image_size[1])))
        self.min_box_size = min_box_size
        self.strict = strict
        self.box_report: Optional[BoxReport] = None
        self.split_fractions = check_split(split, split_fractions)
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _class_info_path(self) -> Optional[str]:
        path = class_info_path(self.class_info_file, self.data_root)
        return path if path and osp.isfile(path) else None

    def load_data_list(self) -> List[dict]:
        """Parse the label CSV(s) and DICOM headers into mmdet ``data_list`` entries.

        Returns:
            list[dict]: One entry per kept patient (see the class docstring).
        """
        img_dir = self.data_prefix.get('img', '')
        require_paths([self.ann_file, img_dir], 'RSNA Pneumonia Detection', README)
        found = load_rsna_records(
            self.ann_file, img_dir, self._screen_files, class_info=self._class_info_path(),
            split=self.split, split_fractions=self.split_fractions, split_seed=self.split_seed,
            image_size=self.image_size, min_box_size=self.min_box_size, strict=self.strict)
        records, report = found.records, found.report
        self.box_report = report
        if not records:
            where = f'split {self.split!r} of ' if self.split is not None else ''
            raise ValueError(f'RSNAPneumoniaDataset: {where}{self.ann_file} holds no patient '
                             f'with a usable label')
        print_log(report.summary(), logger=MMLogger.get_current_instance())

        data_list = []
        for img_id, rec in enumerate(records):
            height, width, view = found.headers[rec.patient_id]
            instances = []
            for x1, y1, x2, y2 in rec.boxes.tolist():
                instances.append(dict(bbox=[x1, y1, x2, y2], bbox_label=0, ignore_flag=0,
                                      mask=[[x1, y1, x2, y1, x2, y2, x1, y2]]))
            data_list.append(dict(
                img_path=osp.join(img_dir, f'{rec.patient_id}.dcm'), img_id=img_id,
                height=height, width=width, instances=instances, target=rec.target,
                class_label=rec.class_label,
                class_label_id=(RSNA_DETAILED_CLASSES.index(rec.class_label)
                                if rec.class_label in RSNA_DETAILED_CLASSES else -1),
                view_position=view))
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop images without boxes (``filter_cfg.filter_empty_gt``) or smaller than
        ``filter_cfg.min_size``, in training only; ``test_mode`` keeps every image.

        Returns:
            list[dict]: The kept ``data_list`` entries.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = [d for d in self.data_list
                if not (filter_empty_gt and not d['instances'])
                and min(d['width'], d['height']) >= min_size]
        if not kept:
            raise ValueError(f'RSNAPneumoniaDataset: filter_cfg {self.filter_cfg} left no image '
                             f'of {len(self.data_list)}')
        return kept
