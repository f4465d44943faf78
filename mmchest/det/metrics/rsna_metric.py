"""RSNA Pneumonia Detection metric for mmdet: competition mAP, image-level stats, COCO bbox mAP.

The maths lives in :mod:`mmchest.evaluation.rsna_map` (competition score, image-level stats)
and :mod:`mmchest.evaluation.rsna_thresholds` (which boxes count at a score threshold);
COCO bbox mAP is mmdet's own :class:`~mmdet.evaluation.CocoMetric`, fed in memory (no
annotation json needed). This class only collects per-image arrays and reports.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmchest.engine.bad_files import skipped_note
from mmchest.evaluation.rsna_map import RSNA_IOU_THRESHOLDS, image_level_detection_stats
from mmchest.evaluation.rsna_thresholds import image_max_scores, rsna_map_above
from mmchest.evaluation.threshold_analysis import auc_recall_metrics

__all__ = ['RSNAMetric']


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    elif hasattr(value, 'tensor'):  # mmdet BaseBoxes
        value = value.tensor.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class RSNAMetric(BaseMetric):
    """RSNA Pneumonia Detection evaluation (prefix ``rsna``).

    Reports:
        * ``rsna/mAP``: the competition score: per image, TP / (TP + FP + FN) averaged over
          IoU thresholds 0.40:0.05:0.75 with greedy matching in descending score order; images
          with neither ground truth nor predictions are left out; mean over images (see
          :func:`mmchest.evaluation.rsna_map.rsna_map`). Only predictions with
          ``score > score_thr`` count, as in a submission. NaN when no image counts.
        * ``rsna/best_mAP`` and ``rsna/best_score_thr``, when ``score_thr_grid`` is given:
          the best score over those thresholds (choose it on validation data, not test).
        * ``rsna/img_{precision,recall,f1}@{t}`` for each ``t`` of ``image_thrs``: an image
          is called positive when its highest box score is ``> t`` (no box: 0).
        * ``rsna/auc`` (ROC AUC of the highest box score per image, NaN with one class) and
          ``rsna/recall@{t}`` for each ``t`` of ``recall_thrs`` (the keys ``cls/`` and
          ``siim/`` report too; the same recall as ``img_recall@{t}``).
        * ``rsna/bbox_mAP``, ``rsna/bbox_mAP_50``, ... : COCO bbox mAP of all predictions,
          computed by mmdet's ``CocoMetric`` from the collected ground truth.

    Ground truth is read from ``data_sample['instances']`` (the dataset's boxes in
    original-image coordinates; add ``'instances'`` to ``PackDetInputs(meta_keys=...)``)
    or, failing that, from ``gt_instances`` (then ``LoadAnnotations`` must come after
    ``Resize`` in the test pipeline, so the boxes stay in original coordinates). Predictions
    are mmdet's ``pred_instances`` (rescaled to the original image); every label counts as
    pneumonia; ignored ground truth (``ignore_flag=1``) is left out.

    Args:
        score_thr (float): Predictions with ``score > score_thr`` count in ``rsna/mAP``.
            Defaults to 0.5.
        score_thr_grid (Sequence[float], optional): Also report the best ``rsna/mAP`` over
            these score thresholds. Defaults to None.
        image_thrs (Sequence[float]): Score thresholds of the image-level stats.
            Defaults to (0.2, 0.5).
        iou_thrs (Sequence[float]): IoU thresholds of ``rsna/mAP``. Defaults to
            :data:`~mmchest.evaluation.rsna_map.RSNA_IOU_THRESHOLDS`.
        coco_bbox (bool): Also compute COCO bbox mAP. Defaults to True.
        recall_thrs (Sequence[float]): Thresholds of ``rsna/recall@{t}``. Defaults to (0.5,).
        collect_device (str): 'cpu' or 'gpu', for collecting results across ranks.
            Defaults to 'cpu'.
        prefix (str, optional): Metric-name prefix. Defaults to None (``'rsna'``).
    """

    default_prefix: Optional[str] = 'rsna'

    def __init__(self,
                 score_thr: float = 0.5,
                 score_thr_grid: Optional[Sequence[float]] = None,
                 image_thrs: Sequence[float] = (0.2, 0.5),
                 iou_thrs: Sequence[float] = RSNA_IOU_THRESHOLDS,
                 coco_bbox: bool = True,
                 recall_thrs: Sequence[float] = (0.5, ),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.score_thr = float(score_thr)
        self.score_thr_grid = (None if score_thr_grid is None
                               else [float(t) for t in score_thr_grid])
        self.image_thrs = [float(t) for t in image_thrs]
        self.iou_thrs = tuple(float(t) for t in iou_thrs)
        self.coco_bbox = coco_bbox
        self.recall_thrs = tuple(float(t) for t in recall_thrs)

    @staticmethod
    def _ground_truth(sample: dict) -> np.ndarray:
        """(M, 4) xyxy ground-truth boxes of one sample, ignored ones left out."""
        if 'instances' in sample:
            boxes = [inst['bbox'] for inst in sample['instances']
                     if not inst.get('ignore_flag', 0)]
            return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        gt = sample.get('gt_instances')
        if gt is None or 'bboxes' not in gt:
            raise KeyError('RSNAMetric needs ground truth: add "instances" to PackDetInputs '
                           'meta_keys, or LoadAnnotations(with_bbox=True) after Resize in the '
                           'test pipeline')
        return _to_numpy(gt['bboxes']).astype(np.float64).reshape(-1, 4)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Collect predictions and ground truth of one batch.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples with ``pred_instances``.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            boxes = _to_numpy(pred['bboxes']).astype(np.float64).reshape(-1, 4)
            scores = _to_numpy(pred['scores']).astype(np.float64).reshape(-1)
            labels = (_to_numpy(pred['labels']).astype(np.int64).reshape(-1)
                      if 'labels' in pred else np.zeros(len(scores), dtype=np.int64))
            height, width = sample['ori_shape'][:2]
            self.results.append(dict(
                img_id=sample['img_id'], height=int(height), width=int(width),
                pred_boxes=boxes, pred_scores=scores, pred_labels=labels,
                gt_boxes=self._ground_truth(sample)))

    def _coco(self, results: List[dict]) -> Dict[str, float]:
        """COCO bbox metrics from mmdet's CocoMetric, fed the collected arrays."""
        metric = CocoMetric(ann_file=None, metric='bbox')
        metric.dataset_meta = dict(self.dataset_meta or {}) or dict(classes=('pneumonia',))
        classes = metric.dataset_meta.get('classes') or ('pneumonia',)
        metric.dataset_meta['classes'] = classes
        pairs = []
        for i, r in enumerate(results):
            img_id = r['img_id'] if isinstance(r['img_id'], int) else i
            anns = [dict(bbox=b.tolist(), bbox_label=0, ignore_flag=0) for b in r['gt_boxes']]
            gt = dict(width=r['width'], height=r['height'], img_id=img_id, anns=anns)
            labels = np.clip(r['pred_labels'], 0, len(classes) - 1)
            pred = dict(img_id=img_id, bboxes=r['pred_boxes'].astype(np.float32),
                        scores=r['pred_scores'].astype(np.float32), labels=labels)
            pairs.append((gt, pred))
        if not any(len(r['gt_boxes']) for r in results):
            print_log('RSNAMetric: no ground-truth box, COCO bbox mAP skipped',
                      logger=MMLogger.get_current_instance())
            return {}
        if not any(len(r['pred_boxes']) for r in results):
            return dict(bbox_mAP=0.0, bbox_mAP_50=0.0, bbox_mAP_75=0.0)
        return dict(metric.compute_metrics(pairs))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Reduce the collected per-image results.

        Args:
            results (list[dict]): Gathered output of :meth:`process`.

        Returns:
            dict[str, float]: Metric name (without prefix) -> value.
        """
        out: Dict[str, float] = {}
        items = [(r['pred_boxes'], r['pred_scores'], r['gt_boxes']) for r in results]
        out['mAP'] = rsna_map_above(items, self.score_thr, self.iou_thrs)
        if self.score_thr_grid:
            scores = [(rsna_map_above(items, t, self.iou_thrs), t) for t in self.score_thr_grid]
            best, thr = max(scores, key=lambda s: (-math.inf if math.isnan(s[0]) else s[0]))
            out['best_mAP'] = best
            out['best_score_thr'] = thr
        max_scores = image_max_scores(items)
        has_gt = np.array([len(r['gt_boxes']) > 0 for r in results], dtype=bool)
        for thr, stats in image_level_detection_stats(max_scores, has_gt,
                                                      self.image_thrs).items():
            for key in ('precision', 'recall', 'f1'):
                out[f'img_{key}@{thr:g}'] = float(stats[key])
        out.update(auc_recall_metrics(max_scores, has_gt, self.recall_thrs))
        if self.coco_bbox:
            out.update(self._coco(results))
        n_counted = sum(1 for r in results if len(r['gt_boxes'])
                        or (r['pred_scores'] > self.score_thr).any())
        print_log(f'RSNAMetric: {len(results)} images ({int(has_gt.sum())} with boxes), '
                  f'{n_counted} count in mAP at score_thr={self.score_thr:g}'
                  f'{skipped_note(self.dataset_meta)}',
                  logger=MMLogger.get_current_instance())
        return out
