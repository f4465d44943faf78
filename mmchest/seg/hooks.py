"""Visualisation that can read the DICOMs the datasets point at."""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from mmengine.runner import Runner
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from mmchest.transforms.loading import LoadDicomImageFromFile, load_rgb


@HOOKS.register_module()
class DicomSegVisualizationHook(SegVisualizationHook):
    """``SegVisualizationHook`` that reads DICOM (and PNG/JPEG) radiographs.

    mmseg's hook decodes ``img_path`` with ``mmcv.imfrombytes``, which cannot read DICOM, so
    ``mim test ... --show-dir`` fails on the SIIM download. This hook loads the image with
    ``LoadDicomImageFromFile`` (the same reader as the pipelines) and draws the ground truth
    and the prediction side by side, as mmseg's visualizer does. Arguments as in
    :class:`mmseg.engine.hooks.SegVisualizationHook`, except that ``interval`` defaults to 1:
    ``mim test ... --show-dir DIR`` draws every test image (mmseg's default of 50 drew one
    in fifty). Drawing stays off during training unless ``draw=True``.

    Args:
        interval (int): Draw every ``interval``-th batch. Defaults to 1.
        *args, **kwargs: Passed to :class:`mmseg.engine.hooks.SegVisualizationHook`.
    """

    def __init__(self, *args, interval: int = 1, **kwargs) -> None:
        super().__init__(*args, interval=interval, **kwargs)
        self._loader = LoadDicomImageFromFile(backend_args=self.backend_args)

    def _after_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                    outputs: Sequence[SegDataSample], mode: str = 'val') -> None:
        if self.draw is False or mode == 'train':
            return
        if self.every_n_inner_iters(batch_idx, self.interval):
            for output in outputs:
                img = load_rgb(self._loader, output.img_path)
                self._visualizer.add_datasample(
                    f'{mode}_{osp.splitext(osp.basename(output.img_path))[0]}', img,
                    data_sample=output, show=self.show, wait_time=self.wait_time,
                    step=runner.iter)
