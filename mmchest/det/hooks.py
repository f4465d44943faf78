"""Detection visualisation that can read the DICOMs the RSNA dataset points at."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.runner import Runner
from mmengine.utils import mkdir_or_exist

from mmchest.transforms.loading import LoadDicomImageFromFile, load_rgb


@HOOKS.register_module()
class DicomDetVisualizationHook(DetVisualizationHook):
    """``DetVisualizationHook`` that reads DICOM (and PNG/JPEG) radiographs.

    mmdet's hook decodes ``img_path`` with ``mmcv.imfrombytes``, which cannot read DICOM, and
    names the painted file after the input (``<patientId>.dcm``, which no image writer
    accepts), so ``mim test mmdet ... --show-dir DIR`` fails on the RSNA download. This hook
    loads the radiograph with ``LoadDicomImageFromFile`` (the reader of the pipelines) and
    writes ``DIR/<file stem>.png``: ground-truth boxes on the left, predictions with
    ``score >= score_thr`` on the right, as mmdet's visualiser draws them. In validation it
    draws the first image of every ``interval``-th batch to the visualiser's backends.
    Arguments as in :class:`mmdet.engine.hooks.DetVisualizationHook`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loader = LoadDicomImageFromFile(backend_args=self.backend_args)

    def _draw(self, name: str, sample: DetDataSample, step: int,
              out_file: Optional[str] = None) -> None:
        self._visualizer.add_datasample(
            name, load_rgb(self._loader, sample.img_path), data_sample=sample, show=self.show,
            wait_time=self.wait_time, pred_score_thr=self.score_thr, out_file=out_file,
            step=step)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence[DetDataSample]) -> None:
        if self.draw is False:
            return
        total_curr_iter = runner.iter + batch_idx
        if total_curr_iter % self.interval == 0:
            sample = outputs[0]
            name = osp.basename(sample.img_path) if self.show else 'val_img'
            self._draw(name, sample, step=total_curr_iter)

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[DetDataSample]) -> None:
        if self.draw is False:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
            mkdir_or_exist(out_dir)
        for sample in outputs:
            self._test_index += 1
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            out_file = osp.join(out_dir, f'{stem}.png') if out_dir else None
            self._draw(stem if self.show else 'test_img', sample, step=self._test_index,
                       out_file=out_file)
