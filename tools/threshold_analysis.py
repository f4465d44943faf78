#!/usr/bin/env python
"""Image-level threshold analysis of a classifier, detector or segmentor on a labelled split.

    python tools/threshold_analysis.py configs/demo/resnet18_rsna_cls_synthetic.py \
        work_dirs/resnet18_rsna_cls_synthetic/epoch_8.pth --split val --recall-target 0.9 \
        --out work_dirs/resnet18_rsna_cls_synthetic/thresholds

One score per image (classifier: pneumonia probability; detector: highest box score;
segmentor: highest pixel probability, or ``--seg-score mask``: the post-processed mask's
presence), from the config's ``{split}_dataloader`` dataset as ``mim test`` builds it. Writes
into ``--out``: ``report.md`` (per-threshold precision/recall/specificity/F1/accuracy, ROC
AUC, average precision, confusion matrix at the chosen threshold), ``report.json`` and
``roc.png``, ``pr.png``, ``metrics_vs_threshold.png``, ``confusion_matrix.png``. The chosen
threshold is ``--threshold`` if given, else the highest threshold (0.00..1.00 by 0.01) whose
recall reaches ``--recall-target``.

A command line over :func:`mmchest.analysis.threshold_report.run_threshold_analysis`.
"""
import argparse
import sys

from mmchest.arg_types import add_run_args, run_kwargs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', default='val', choices=['train', 'val', 'test'],
                        help="the config's dataloader to analyse (default: %(default)s)")
    parser.add_argument('--recall-target', type=float, default=0.9,
                        help='choose the highest threshold with at least this recall '
                        '(default: %(default)s)')
    parser.add_argument('--threshold', type=float, default=None,
                        help='use this decision threshold instead of choosing one')
    parser.add_argument('--seg-score', default='probability', choices=['probability', 'mask'],
                        help='segmentor image score (default: %(default)s)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--batch-size', type=int, default=1)
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not 0.0 <= args.recall_target <= 1.0:
        print(f'--recall-target must be in [0, 1], got {args.recall_target}', file=sys.stderr)
        return 2
    from mmchest.analysis.threshold_report import run_threshold_analysis
    result = run_threshold_analysis(
        args.config, args.checkpoint, args.out, split=args.split,
        recall_target=args.recall_target, threshold=args.threshold,
        seg_score=args.seg_score, batch_size=args.batch_size, **run_kwargs(args))
    chosen = result['chosen']
    print(f"{result['n']} images ({result['n_positive']} positive): ROC AUC "
          f"{result['roc_auc']:.4f}, average precision {result['average_precision']:.4f}")
    print(f"chosen threshold {chosen['threshold']:g} ({chosen['how']}): recall "
          f"{chosen['recall']:.4f}, precision {chosen['precision']:.4f}, specificity "
          f"{chosen['specificity']:.4f}, accuracy {chosen['accuracy']:.4f}")
    print(f'report: {args.out}/report.md (and report.json, roc.png, pr.png, '
          'metrics_vs_threshold.png, confusion_matrix.png)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
