"""Image-level threshold analysis of any mmchest model on a labelled split: report + plots.

One image score per image from the inference API (:func:`mmchest.apis.init_inferencer`):

* classifier (mmpretrain): the pneumonia class probability;
* detector (mmdet): the highest box score (0 without a box);
* segmentor (mmseg): the highest foreground pixel probability (``seg_score='probability'``)
  or whether the post-processed mask is non-empty (``seg_score='mask'``: 1.0 / 0.0).

The image's label: the classifier's ground-truth class is the positive class; the detector's
image has boxes; the segmentor's label map has foreground. The maths is
:func:`mmchest.evaluation.threshold_analysis.threshold_analysis`; this module collects the
scores and writes ``report.md``, ``report.json`` and PNG plots (``roc.png``, ``pr.png``,
``metrics_vs_threshold.png``, ``confusion_matrix.png``; matplotlib, Agg backend).
"""
from __future__ import annotations

import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmchest.evaluation.threshold_analysis import DEFAULT_THRESHOLDS, threshold_analysis

__all__ = ['SEG_SCORES', 'collect_image_scores', 'write_threshold_report',
           'run_threshold_analysis', 'REPORT_FILES']

#: Segmentor image scores.
SEG_SCORES: Tuple[str, ...] = ('probability', 'mask')
#: Files :func:`write_threshold_report` writes.
REPORT_FILES: Tuple[str, ...] = ('report.md', 'report.json', 'roc.png', 'pr.png',
                                 'metrics_vs_threshold.png', 'confusion_matrix.png')
_SCORE_NAMES = {'cls': 'probability of the pneumonia class',
                'det': 'highest box score per image (0 without a box)',
                'seg': 'highest foreground pixel probability',
                'seg-mask': 'post-processed mask non-empty (1) or empty (0)'}


def _image_label(task: str, info: dict, pred: Any, positive_index: int) -> bool:
    if task == 'cls':
        label = pred.extra.get('gt_label', info.get('gt_label'))
        if label is None:
            raise ValueError(f"{info.get('img_path')}: no gt_label in the dataset")
        return int(label) == positive_index
    if task == 'det':
        if 'instances' in info:
            return any(not inst.get('ignore_flag', 0) for inst in info['instances'])
        return pred.gt_boxes is not None and len(pred.gt_boxes) > 0
    if pred.gt_mask is None:
        raise ValueError(f"{info.get('img_path')}: the dataset gives no label map")
    gt = np.asarray(pred.gt_mask)
    return bool(((gt > 0) & (gt != 255)).any())


def collect_image_scores(inferencer: Any, split: str = 'val', data_root: Optional[str] = None,
                         seg_score: str = 'probability', batch_size: int = 1
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """One score and one binary label per image of a labelled split.

    Args:
        inferencer: A :class:`mmchest.apis.ChestInferencer` (``task`` 'cls', 'det' or 'seg').
        split (str): ``'train'``, ``'val'`` or ``'test'`` dataloader's dataset.
            Defaults to 'val'.
        data_root (str, optional): Replaces the dataset's ``data_root``. Defaults to None.
        seg_score (str): Segmentor score, one of :data:`SEG_SCORES`.
            Defaults to 'probability'.
        batch_size (int): Images per forward pass. Defaults to 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 scores and bool labels, dataset order.
    """
    if seg_score not in SEG_SCORES:
        raise ValueError(f'seg_score must be one of {SEG_SCORES}, got {seg_score!r}')
    task = inferencer.task
    positive_index = getattr(inferencer, 'positive_index', 1)
    scores: List[float] = []
    labels: List[bool] = []
    for info, pred in inferencer.predict_dataset(split=split, data_root=data_root,
                                                 batch_size=batch_size):
        if task == 'seg' and seg_score == 'mask':
            scores.append(float(pred.mask is not None and bool(np.asarray(pred.mask).any())))
        else:
            scores.append(float(pred.probability))
        labels.append(_image_label(task, info, pred, positive_index))
    return np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return 'nan' if math.isnan(value) else f'{value:.{digits}f}'
    return str(value)


def _json_ready(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) else ('inf' if math.isinf(obj) else obj)
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    return obj


def _markdown(result: Dict[str, Any], title: str, score_name: str,
              table_step: float) -> str:
    chosen = result['chosen']
    lines = [f'# {title}', '',
             f"Images: {result['n']} ({result['n_positive']} positive, "
             f"{result['n_negative']} negative). Image score: {score_name}; an image is "
             'called positive when its score is **strictly above** the threshold.', '',
             f"- ROC AUC (Mann-Whitney rank formula, ties count half): "
             f"{_fmt(result['roc_auc'])}",
             f"- PR AUC as average precision (sum of (R_n - R_n-1) P_n, no interpolation): "
             f"{_fmt(result['average_precision'])}"]
    if result['recall_target'] is not None:
        lines.append(f"- Highest threshold with recall >= {result['recall_target']:g}: "
                     f"{_fmt(result['recall_target_threshold'], 2)}")
    lines += [f"- **Chosen threshold: {chosen['threshold']:g}** ({chosen['how']}): "
              f"recall {_fmt(chosen['recall'])}, precision {_fmt(chosen['precision'])}, "
              f"specificity {_fmt(chosen['specificity'])}, F1 {_fmt(chosen['f1'])}, "
              f"accuracy {_fmt(chosen['accuracy'])}", '',
              f"## Confusion matrix at {chosen['threshold']:g}", '',
              '| | predicted negative | predicted positive |', '|---|---:|---:|',
              f"| **negative** | {chosen['tn']} (TN) | {chosen['fp']} (FP) |",
              f"| **positive** | {chosen['fn']} (FN) | {chosen['tp']} (TP) |", '',
              '## Per threshold', '',
              f'Every {table_step:g} and the chosen threshold (all thresholds: report.json).',
              '', '| threshold | TP | FP | FN | TN | precision | recall | specificity | F1 '
              '| accuracy |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for row in result['table']:
        on_grid = abs(row['threshold'] / table_step - round(row['threshold'] / table_step)) \
            < 1e-6
        is_chosen = abs(row['threshold'] - chosen['threshold']) < 1e-12
        if not (on_grid or is_chosen):
            continue
        mark = '**' if is_chosen else ''
        lines.append(f"| {mark}{row['threshold']:g}{mark} | {row['tp']} | {row['fp']} | "
                     f"{row['fn']} | {row['tn']} | {_fmt(row['precision'])} | "
                     f"{_fmt(row['recall'])} | {_fmt(row['specificity'])} | "
                     f"{_fmt(row['f1'])} | {_fmt(row['accuracy'])} |")
    lines += ['', 'Plots: roc.png, pr.png, metrics_vs_threshold.png, confusion_matrix.png', '']
    return '\n'.join(lines)


def _plots(result: Dict[str, Any], out_dir: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    roc, pr, chosen = result['roc'], result['pr'], result['chosen']
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(roc['fpr'], roc['tpr'], drawstyle='default', label=f"AUC {_fmt(result['roc_auc'], 3)}")
    ax.plot([0, 1], [0, 1], ':', color='grey')
    ax.scatter([1 - chosen['specificity']], [chosen['recall']], color='red', zorder=3,
               label=f"threshold {chosen['threshold']:g}")
    ax.set(xlabel='false positive rate (1 - specificity)', ylabel='recall (sensitivity)',
           title=f'ROC: {title}', xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'roc.png'), dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.step(pr['recall'], pr['precision'], where='post',
            label=f"AP {_fmt(result['average_precision'], 3)}")
    ax.scatter([chosen['recall']], [chosen['precision']], color='red', zorder=3,
               label=f"threshold {chosen['threshold']:g}")
    ax.set(xlabel='recall', ylabel='precision', title=f'PR: {title}', xlim=(0, 1.02),
           ylim=(0, 1.02))
    ax.legend(loc='lower left')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'pr.png'), dpi=100)
    plt.close(fig)

    thr = [r['threshold'] for r in result['table']]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in ('precision', 'recall', 'specificity', 'f1', 'accuracy'):
        ax.plot(thr, [r[key] for r in result['table']], label=key)
    ax.axvline(chosen['threshold'], color='red', ls='--', lw=1, label='chosen')
    if result['recall_target'] is not None:
        ax.axhline(result['recall_target'], color='grey', ls=':', lw=1, label='recall target')
    ax.set(xlabel='threshold (positive: score > threshold)', ylabel='value',
           title=f'Metrics vs threshold: {title}', ylim=(0, 1.02))
    ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'metrics_vs_threshold.png'), dpi=100)
    plt.close(fig)

    cm = np.asarray(chosen['confusion_matrix'])
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.imshow(cm, cmap='Blues')
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha='center', va='center',
                color='white' if v > cm.max() / 2 else 'black', fontsize=14)
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=['negative', 'positive'],
           yticklabels=['negative', 'positive'], xlabel='predicted', ylabel='true',
           title=f"threshold {chosen['threshold']:g}")
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'confusion_matrix.png'), dpi=100)
    plt.close(fig)


def write_threshold_report(scores: np.ndarray, labels: np.ndarray, out_dir: str,
                           thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                           threshold: Optional[float] = None,
                           recall_target: Optional[float] = 0.9,
                           title: str = 'image-level analysis',
                           score_name: str = 'image score',
                           meta: Optional[Dict[str, Any]] = None,
                           table_step: float = 0.05) -> Dict[str, Any]:
    """Analyse one score per image and write :data:`REPORT_FILES` into ``out_dir``.

    Args:
        scores (np.ndarray): Shape (N,), one score per image.
        labels (np.ndarray): Shape (N,), bool or 0/1.
        out_dir (str): Output folder (created).
        thresholds (Sequence[float]): The sweep. Defaults to 0.00..1.00 by 0.01.
        threshold (float, optional): Fixed decision threshold; None chooses the highest one
            meeting ``recall_target`` (else 0.5). Defaults to None.
        recall_target (float, optional): Recall to meet. Defaults to 0.9.
        title (str): Report and plot title. Defaults to 'image-level analysis'.
        score_name (str): What the score is, for the report. Defaults to 'image score'.
        meta (dict, optional): Written into ``report.json['meta']`` (config, split, ...).
        table_step (float): The Markdown table shows thresholds on this grid (plus the
            chosen one). Defaults to 0.05.

    Returns:
        dict: The analysis (see :func:`threshold_analysis`) with ``meta``, ``files`` and the
        per-image ``scores`` and ``labels`` (dataset order).
    """
    os.makedirs(out_dir, exist_ok=True)
    result = threshold_analysis(scores, labels, thresholds=thresholds, threshold=threshold,
                                recall_target=recall_target)
    result['meta'] = dict(meta or {}, score=score_name, title=title)
    # per image, dataset order (no identifiers): the table can be recomputed from these
    result['scores'] = np.asarray(scores, dtype=np.float64).tolist()
    result['labels'] = np.asarray(labels).astype(int).tolist()
    with open(osp.join(out_dir, 'report.md'), 'w', encoding='utf-8') as f:
        f.write(_markdown(result, title, score_name, table_step))
    _plots(result, out_dir, title)
    result['files'] = [osp.join(out_dir, name) for name in REPORT_FILES]
    with open(osp.join(out_dir, 'report.json'), 'w', encoding='utf-8') as f:
        json.dump(_json_ready(result), f, indent=1)
    return result


def run_threshold_analysis(config: str, checkpoint: Optional[str], out_dir: str,
                           split: str = 'val', recall_target: Optional[float] = 0.9,
                           threshold: Optional[float] = None,
                           cfg_options: Optional[dict] = None, device: Optional[str] = None,
                           seg_score: str = 'probability', data_root: Optional[str] = None,
                           thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                           batch_size: int = 1) -> Dict[str, Any]:
    """Run a model on a labelled split and write the threshold report (the tool's body).

    Args:
        config (str): Config file (mmpretrain, mmdet or mmseg scope).
        checkpoint (str, optional): Checkpoint (must fit the model); None: initial weights.
        out_dir (str): Output folder.
        split (str): Dataloader whose dataset is analysed. Defaults to 'val'.
        recall_target (float, optional): See :func:`write_threshold_report`. Defaults to 0.9.
        threshold (float, optional): Fixed threshold. Defaults to None.
        cfg_options (dict, optional): ``--cfg-options``. Defaults to None.
        device (str, optional): e.g. 'cpu'. Defaults to None (CUDA when available).
        seg_score (str): Segmentor score, one of :data:`SEG_SCORES`.
            Defaults to 'probability'.
        data_root (str, optional): Replaces the dataset's data_root. Defaults to None.
        thresholds (Sequence[float]): The sweep. Defaults to 0.00..1.00 by 0.01.
        batch_size (int): Images per forward pass. Defaults to 1.

    Returns:
        dict: See :func:`write_threshold_report`.
    """
    from mmchest.apis import init_inferencer
    inferencer = init_inferencer(config, checkpoint, device=device, cfg_options=cfg_options)
    scores, labels = collect_image_scores(inferencer, split=split, data_root=data_root,
                                          seg_score=seg_score, batch_size=batch_size)
    task = inferencer.task
    key = 'seg-mask' if task == 'seg' and seg_score == 'mask' else task
    name = osp.splitext(osp.basename(str(config)))[0]
    return write_threshold_report(
        scores, labels, out_dir, thresholds=thresholds, threshold=threshold,
        recall_target=recall_target, title=f'{name} ({split} split)',
        score_name=_SCORE_NAMES[key],
        meta=dict(config=str(config), checkpoint=checkpoint, split=split, task=task,
                  seg_score=seg_score if task == 'seg' else None))
