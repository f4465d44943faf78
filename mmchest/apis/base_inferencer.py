"""The shared part of mmchest's inferencers, on mmengine's ``BaseInferencer``.

Like mmseg's ``MMSegInferencer`` and mmdet's ``DetInferencer``, an inferencer builds the model
from a config, ``preprocess``-es inputs with the config's test pipeline, ``forward``-s them
through ``model.test_step``, and ``visualize``/``postprocess`` the results into plain data.
What differs from the hosts:

- the pipeline is exactly the one ``mim test`` runs, ``test_dataloader.dataset.pipeline``
  after ``cfg_options`` (:func:`mmchest.apis.pipeline.mim_test_pipeline`), with its label
  loaders dropped and ``LoadImageFromFile`` swapped for ``LoadDicomImageFromFile`` (which reads
  DICOM and falls back to mmcv for PNG/JPEG), so DICOM files are read as in training;
- the checkpoint must fit the model (:func:`mmchest.engine.checkpoint_fit.require_fit`):
  one of another model raises ``CheckpointMismatchError`` instead of leaving random weights;
- results are :class:`~mmchest.apis.prediction.Prediction` objects at the original size
  (with the radiograph as loaded, for overlays), or plain dicts from ``__call__``.

The hosts' inferencers are not subclassed: their loaders (``InferencerLoader``) do not read
DICOM, and their weight loading and visualizers default to Cityscapes/COCO metadata that
means nothing for chest X-rays. Subclasses (one per host) fill in :meth:`_build_model`,
:meth:`_to_prediction` and :meth:`_dataset_registry`, and import their host lazily.
"""
from __future__ import annotations

import copy
import os
from abc import abstractmethod
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config
from mmengine.infer import BaseInferencer

from .inputs import input_paths
from .pipeline import inference_pipeline, mim_test_pipeline
from .prediction import Prediction
from .visualization import to_display

__all__ = ['ChestInferencer', 'load_config']

ConfigLike = Union[str, os.PathLike, Config]


def load_config(config: ConfigLike, cfg_options: Optional[dict] = None) -> Config:
    """A config file (or a copy of a ``Config``) with ``cfg_options`` merged, as ``mim test``.

    Args:
        config (str | PathLike | Config): Config file or object.
        cfg_options (dict, optional): Overrides (``--cfg-options``). Defaults to None.

    Returns:
        Config: A new config.
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = Config.fromfile(os.fspath(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


class ChestInferencer(BaseInferencer):
    """Base of the mmchest inferencers (see the module docstring).

    Args:
        model (str | PathLike | Config): Config file or object of this project.
        weights (str, optional): Checkpoint; None keeps the initial weights.
            Defaults to None.
        device (str, optional): e.g. ``'cuda:0'``; None picks CUDA when available.
        cfg_options (dict, optional): Overrides merged into the config first, as
            ``--cfg-options`` of ``mim test``. Defaults to None.
        score_thr (float): Detection: boxes with ``score > score_thr`` count as findings.
            Segmentation thresholds live in the config. Defaults to 0.5.
        max_pixels (int, optional): Pixel budget of the DICOM loader (Rows x Columns x
            frames x samples from the header); None keeps the config's (8192 x 8192).
            Defaults to None.
        show_progress (bool): Progress bar in ``__call__``. Defaults to False.

    Raises:
        CheckpointMismatchError: The checkpoint leaves weights of the model unset or has
            other shapes (:mod:`mmchest.engine.checkpoint_fit`); nothing is loaded.

    Attributes:
        task (str): ``'seg'``, ``'det'`` (``'cls'`` for a classifier).
        device (str): Where the model runs.
        cfg (Config): The config, after ``cfg_options``.
    """

    task: str = ''
    #: The config's ``default_scope`` this inferencer serves.
    default_scope: str = ''

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'return_vis'}
    postprocess_kwargs: set = set()

    def __init__(self, model: ConfigLike, weights: Optional[str] = None,
                 device: Optional[str] = None, cfg_options: Optional[dict] = None,
                 score_thr: float = 0.5, max_pixels: Optional[int] = None,
                 show_progress: bool = False) -> None:
        import torch
        from mmengine.registry import init_default_scope

        import mmchest  # noqa: F401  (registers transforms, datasets, models; safe loading)
        cfg = load_config(model, cfg_options)
        scope = cfg.get('default_scope', None)
        name = cfg.filename or str(model)
        if scope != self.default_scope:
            raise ValueError(f'{name}: {type(self).__name__} needs default_scope '
                             f'{self.default_scope!r}, got {scope!r} (init_inferencer picks '
                             'the inferencer from the scope)')
        self.config_name = name
        self.score_thr = float(score_thr)
        self.max_pixels = max_pixels
        self.device = device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
        self._prepare_cfg(cfg)
        init_default_scope(scope)
        super().__init__(model=cfg, weights=weights, device=self.device, scope=scope,
                         show_progress=show_progress)
        init_default_scope(scope)

    # ----------------------------------------------------------------- for subclasses
    def _prepare_cfg(self, cfg: Config) -> None:
        """Adjust the config before the model is built (in place). Default: nothing."""

    @abstractmethod
    def _build_model(self, cfg: Config, weights: Optional[str], device: str):
        """Build the model of ``cfg`` and load ``weights`` (the host's ``init_model``)."""

    @abstractmethod
    def _to_prediction(self, source: str, image: np.ndarray, sample: Any) -> Prediction:
        """Turn one data sample of ``model.test_step`` into a :class:`Prediction`."""

    @abstractmethod
    def _dataset_registry(self):
        """The host's ``DATASETS`` registry."""

    # ------------------------------------------------------------ BaseInferencer hooks
    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu'):
        from mmengine.model import revert_sync_batchnorm

        from mmchest.engine.checkpoint_fit import require_fit
        with require_fit(weights, self.config_name):
            model = self._build_model(cfg, weights, device)
        if str(device).startswith('cpu'):
            model = revert_sync_batchnorm(model)
        return model

    def _init_pipeline(self, cfg: Config):
        from mmcv.transforms import Compose
        steps = Compose(inference_pipeline(mim_test_pipeline(cfg), self.max_pixels)).transforms
        self._load, self._rest = steps[0], Compose(steps[1:])
        return Compose(steps)

    def _init_collate(self, cfg: Config):
        from mmengine.dataset import pseudo_collate
        return pseudo_collate

    def _init_visualizer(self, cfg: Config):
        return None  # overlays are drawn by mmchest.apis.visualization

    def _inputs_to_list(self, inputs: Any) -> list:
        """Paths: a folder is searched recursively for DICOM/PNG files (sorted)."""
        return input_paths(inputs)

    def preprocess(self, inputs: Sequence[str], batch_size: int = 1, **kwargs
                   ) -> Iterator[List[Tuple[str, np.ndarray, dict]]]:
        """Chunks of ``(source, display image, pipeline output)``, ``batch_size`` each."""
        yield from self._get_chunk_data(map(self._load_file, inputs), batch_size)

    def forward(self, inputs: List[Tuple[str, np.ndarray, dict]], **kwargs) -> List[Prediction]:
        """Run ``model.test_step`` on one chunk of :meth:`preprocess`."""
        import torch
        with torch.no_grad():
            samples = self.model.test_step(self.collate_fn([data for _, _, data in inputs]))
        return [self._to_prediction(source, image, sample)
                for (source, image, _), sample in zip(inputs, samples)]

    def visualize(self, inputs: list, preds: List[Prediction], return_vis: bool = False,
                  **kwargs) -> List[np.ndarray]:
        """The overlays (``(H, W, 3)`` uint8 BGR) when ``return_vis``, else ``[]``."""
        return [pred.overlay() for pred in preds] if return_vis else []

    def postprocess(self, preds: List[Prediction], visualization: List[np.ndarray],
                    return_datasample: bool = False, **kwargs) -> dict:
        """``{'predictions': [dict, ...], 'visualization': [...]}`` (see ``__call__``)."""
        return dict(predictions=list(preds) if return_datasample
                    else [pred.to_dict() for pred in preds],
                    visualization=list(visualization or []))

    def __call__(self, inputs: Union[str, os.PathLike, Sequence[str]], batch_size: int = 1,
                 return_vis: bool = False, return_datasamples: bool = False) -> dict:
        """Predict files or folders.

        Args:
            inputs (str | PathLike | Sequence): Files (DICOM, PNG, JPEG) and folders
                (searched recursively for ``*.dcm``, ``*.dicom``, ``*.png``).
            batch_size (int): Images per ``test_step``. Defaults to 1.
            return_vis (bool): Also return the overlays. Defaults to False.
            return_datasamples (bool): Return :class:`Prediction` objects instead of
                dicts. Defaults to False.

        Returns:
            dict: ``predictions``: one plain dict per image
            (:meth:`Prediction.to_dict`: ``source``, ``probability``, ``has_finding`` and
            ``mask``/``probability_map`` or ``boxes``/``scores``); ``visualization``: the
            overlays when ``return_vis``, else ``[]``.

        Raises:
            OSError, ValueError, cv2.error: A file cannot be read.
        """
        return super().__call__(inputs, return_datasamples=return_datasamples,
                                batch_size=batch_size, return_vis=return_vis)

    # ------------------------------------------------------------- convenient forms
    def _load_file(self, path: str) -> Tuple[str, np.ndarray, dict]:
        path = os.fspath(path)
        results = self._load(dict(img_path=path, img_id=0, seg_fields=[]))
        if results is None:
            raise ValueError(f'{path}: cannot be read')
        return path, to_display(results['img']), self._rest(results)

    def predict_file(self, path: Union[str, os.PathLike]) -> Prediction:
        """Predict one file.

        Args:
            path (str | PathLike): DICOM or image file.

        Returns:
            Prediction: The result at the file's original size.

        Raises:
            OSError, ValueError, cv2.error: The file cannot be read (DicomReadError is a
                ValueError).
        """
        return self.forward([self._load_file(path)])[0]

    def predict_files(self, paths: Iterable[Union[str, os.PathLike]], batch_size: int = 1
                      ) -> Iterator[Prediction]:
        """Predict files in order, ``batch_size`` per ``test_step``; yields Predictions.

        Raises:
            OSError, ValueError, cv2.error: A file cannot be read.
        """
        for chunk in self.preprocess(list(paths), batch_size):
            yield from self.forward(chunk)

    def build_dataset(self, split: str = 'val', data_root: Optional[str] = None):
        """The config's ``{split}_dataloader`` dataset (its pipeline included), as
        ``mim test`` builds it.

        Args:
            split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to 'val'.
            data_root (str, optional): Replaces the dataset's ``data_root``.

        Returns:
            The dataset.
        """
        from mmengine.registry import init_default_scope
        ds_cfg = copy.deepcopy(self.cfg[f'{split}_dataloader']['dataset'])
        if data_root is not None:
            ds_cfg['data_root'] = data_root
        init_default_scope(self.default_scope)
        return self._dataset_registry().build(ds_cfg)

    def predict_dataset(self, split: str = 'val', data_root: Optional[str] = None,
                        indices: Optional[Iterable[int]] = None, batch_size: int = 1,
                        dataset: Any = None) -> Iterator[Tuple[dict, Prediction]]:
        """Predict a dataset of the config, as ``mim test`` would, with its labels.

        The dataset's own pipeline runs (labels included, so ``Prediction.gt_mask`` /
        ``gt_boxes`` are set when it has them).

        Args:
            split (str): Which ``{split}_dataloader`` dataset. Defaults to 'val'.
            data_root (str, optional): Replaces the dataset's ``data_root``.
            indices (Iterable[int], optional): The images to predict, in order; None: all.
            batch_size (int): Images per ``test_step``. Defaults to 1.
            dataset (optional): An already built dataset (or a dataset config dict) to use
                instead of the config's ``split``.

        Yields:
            tuple[dict, Prediction]: The ``data_info`` and the prediction of each image.
        """
        if dataset is None:
            dataset = self.build_dataset(split, data_root)
        elif isinstance(dataset, dict):
            dataset = self._dataset_registry().build(copy.deepcopy(dataset))
        from mmcv.transforms import Compose
        steps = list(dataset.pipeline.transforms)
        load, rest = steps[0], Compose(steps[1:])
        idxs = range(len(dataset)) if indices is None else indices

        def item(idx: int):
            info = dataset.get_data_info(idx)
            results = load(dict(info))
            if results is None:
                raise ValueError(f"{info.get('img_path')}: cannot be read")
            return info, to_display(results['img']), rest(results)

        import torch
        for chunk in self._get_chunk_data(map(item, idxs), batch_size):
            with torch.no_grad():
                samples = self.model.test_step(self.collate_fn([d for _, _, d in chunk]))
            for (info, image, _), sample in zip(chunk, samples):
                yield info, self._to_prediction(str(info.get('img_path', '')), image, sample)
