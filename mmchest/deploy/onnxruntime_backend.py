"""Run an exported segmentation model with onnxruntime: no torch model, no mmcv/mmseg/mmdet.

    from mmchest.deploy.onnxruntime_backend import OnnxSegInferencer
    inferencer = OnnxSegInferencer('work_dirs/unet_siim.onnx')
    pred = inferencer.predict_file('image.dcm')   # the API's Prediction: mask, probability...

The model file carries its preprocessing (:mod:`mmchest.deploy.onnx_export`); this module
replays it with numpy/cv2 (:mod:`mmchest.deploy.preprocessing`: DICOM through
:mod:`mmchest.io.dicom` with the training loader's display normalisation, mmcv's resize
rule and cv2 call), runs the graph, resizes the foreground logit back to the original size,
applies the sigmoid, and turns it into the mask as the PyTorch model does: SIIM triplet
thresholding (:func:`mmchest.postprocessing.triplet_threshold.triplet_threshold`) when the
config has one, else the head's threshold. It returns the same
:class:`~mmchest.apis.prediction.Prediction` as the PyTorch inferencer
(:class:`~mmchest.apis.ChestSegInferencer`), so the tools work with either.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmchest.deploy.preprocessing import pad_image, read_image, resize_image, resize_logit, sigmoid
from mmchest.postprocessing.triplet_threshold import triplet_threshold

__all__ = ['OnnxSegInferencer', 'METADATA_KEY', 'load_metadata', 'init_onnx_inferencer']

#: Same key as :data:`mmchest.deploy.onnx_export.METADATA_KEY` (not imported: that module
#: needs torch).
METADATA_KEY = 'mmchest'
SUPPORTED_FORMAT_VERSIONS = (1,)

#: One loaded input: (source, display image (H, W, 3) uint8 BGR, network input
#: (3, Hp, Wp) float32, resized (h, w), original (H, W)).
_Item = Tuple[str, np.ndarray, np.ndarray, Tuple[int, int], Tuple[int, int]]


def load_metadata(session: Any, path: str = '') -> dict:
    """The mmchest metadata of an onnxruntime ``InferenceSession``.

    Raises:
        ValueError: The model has no (or an unsupported version of the) metadata.
    """
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise ValueError(f'{path or "the model"}: no {METADATA_KEY!r} metadata: export it '
                         'with tools/export.py')
    meta = json.loads(props[METADATA_KEY])
    if meta.get('format_version') not in SUPPORTED_FORMAT_VERSIONS:
        raise ValueError(f'{path}: metadata format_version {meta.get("format_version")!r} is '
                         f'not supported (this mmchest reads {SUPPORTED_FORMAT_VERSIONS})')
    if meta.get('task') != 'segmentation':
        raise ValueError(f'{path}: task {meta.get("task")!r}: only segmentation models run '
                         'on the onnxruntime backend')
    return meta


def _providers(device: Optional[str]) -> Tuple[list, str]:
    """onnxruntime providers for ``'cpu'``/None or ``'cuda'``/``'cuda:N'``."""
    if device is None or str(device).startswith('cpu'):
        return ['CPUExecutionProvider'], 'cpu'
    if str(device).startswith('cuda'):
        index = int(str(device).split(':')[1]) if ':' in str(device) else 0
        return [('CUDAExecutionProvider', {'device_id': index}), 'CPUExecutionProvider'], \
            f'cuda:{index}'
    raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")


class OnnxSegInferencer:
    """Segmentation inferencer on onnxruntime, for models written by ``tools/export.py``.

    Mirrors :class:`~mmchest.apis.ChestSegInferencer`: ``predict_file``, ``predict_files``
    and ``__call__`` give the same :class:`~mmchest.apis.prediction.Prediction` (mask after
    the config's post-processing, probability map at the original size, image-level
    probability = its maximum).

    Args:
        model (str | PathLike): The ``.onnx`` file.
        device (str, optional): ``'cpu'`` (None) or ``'cuda[:N]'`` (needs
            onnxruntime-gpu). Defaults to None.
        triplet (bool): Apply the exported triplet thresholding (if any); False uses the
            head's threshold instead. Defaults to True.
        max_pixels (int, optional): Pixel budget of the DICOM reader; None keeps the
            exported loader's. Defaults to None.
        num_threads (int, optional): onnxruntime intra-op threads; None: its default.
        score_thr (float): Accepted for the API's signature (detection only); unused.
        cfg_options (dict, optional): ``--cfg-options`` of the PyTorch inferencer; after
            export only the triplet thresholds can change (``model.test_cfg.triplet.<key>``
            or a nested dict, e.g. the values ``tools/search_thresholds.py`` prints).
            Anything else raises ValueError. Defaults to None.
        show_progress (bool): Accepted for the API's signature; unused.

    Attributes:
        metadata (dict): The model's preprocessing/post-processing description.
        task (str): ``'seg'``.
        config_name (str): The exported config.

    Raises:
        FileNotFoundError: No such file.
        ValueError: onnxruntime cannot load the file, it has no mmchest metadata, or it is
            not a segmentation model.
    """

    task = 'seg'

    def __init__(self, model: Union[str, os.PathLike], device: Optional[str] = None,
                 triplet: bool = True, max_pixels: Optional[int] = None,
                 num_threads: Optional[int] = None, score_thr: float = 0.5,
                 show_progress: bool = False, cfg_options: Optional[dict] = None) -> None:
        import onnxruntime as ort
        path = os.fspath(model)
        if not osp.isfile(path):
            raise FileNotFoundError(f'ONNX model not found: {path}')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        providers, self.device = _providers(device)
        try:
            self.session = ort.InferenceSession(path, sess_options=options,
                                                providers=providers)
        except Exception as err:  # noqa: BLE001 - onnxruntime's own error types
            raise ValueError(f'{path}: onnxruntime cannot load it ({err})') from None
        self.model_path = path
        self.metadata = load_metadata(self.session, path)
        self.config_name = self.metadata.get('config', '')
        self.loader = dict(self.metadata['loader'])
        if max_pixels is not None:
            self.loader['max_pixels'] = max_pixels
        self.resize = self.metadata.get('resize')
        self.pad = self.metadata.get('pad')
        self.align_corners = bool(self.metadata.get('align_corners', False))
        self.head = self.metadata['head']
        self.triplet = self.metadata.get('triplet') if triplet else None
        #: The config (``init_onnx_inferencer`` loads it when it can); else a dict made from
        #: the metadata, enough for the DICOM outputs (class names, config name).
        self.cfg: Any = MetadataConfig(self.metadata)
        if cfg_options:
            self.triplet = _triplet_options(self.triplet if triplet else None, cfg_options)
        self.score_thr = float(score_thr)

    # ------------------------------------------------------------------ the pipeline
    def _load(self, path: Union[str, os.PathLike]) -> _Item:
        """Read, resize and pad one file (the test pipeline of the exported config)."""
        path = os.fspath(path)
        img = read_image(path, self.loader)
        display = img if img.dtype == np.uint8 else _to_display(img)
        ori = img.shape[:2]
        resized = resize_image(img, self.resize)
        shape = resized.shape[:2]
        net = resized.astype(np.float32)
        if self.pad:
            net = pad_image(net, self.pad, self.pad['input_value'])
        return path, display, np.ascontiguousarray(net.transpose(2, 0, 1)), shape, ori

    def run(self, images: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The graph itself: ``(probability, logit)``, each ``(N, 1, H, W)``, for a float32
        ``(N, 3, H, W)`` BGR 0..255 batch (already resized and padded)."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        prob, logit = self.session.run(['probability', 'logit'], {'image': images})
        return prob, logit

    def _postprocess(self, item: _Item, logit: np.ndarray):
        from mmchest.apis.prediction import Prediction
        source, display, _, (h, w), ori = item
        resized = resize_logit(logit[:h, :w], ori, self.align_corners)
        prob = sigmoid(resized)
        if self.triplet:
            mask = triplet_threshold(prob, **self.triplet)
        elif self.head.get('channels') == 2:  # softmax argmax: class 1 wins
            mask = (resized > 0).astype(np.uint8)
        else:
            mask = (prob > float(self.head.get('threshold', 0.5))).astype(np.uint8)
        return Prediction(source=source, image=display,
                          probability=float(prob.max()) if prob.size else 0.0,
                          has_finding=bool(mask.any()), mask=mask, probability_map=prob)

    def forward(self, items: Sequence[_Item]) -> list:
        """Predictions of loaded items; items whose network inputs have the same size run
        as one batch."""
        preds: List[Any] = [None] * len(items)
        groups: dict = {}
        for i, item in enumerate(items):
            groups.setdefault(item[2].shape, []).append(i)
        for indices in groups.values():
            batch = np.stack([items[i][2] for i in indices])
            _, logits = self.run(batch)
            for i, logit in zip(indices, logits):
                preds[i] = self._postprocess(items[i], logit[0])
        return preds

    # ------------------------------------------------------------- the API's forms
    def predict_file(self, path: Union[str, os.PathLike]):
        """Predict one file (DICOM, PNG or JPEG); returns and raises as
        :meth:`mmchest.apis.base_inferencer.ChestInferencer.predict_file`."""
        return self.forward([self._load(path)])[0]

    predict = predict_file

    def predict_files(self, paths: Iterable[Union[str, os.PathLike]], batch_size: int = 1
                      ) -> Iterator[Any]:
        """Predict files in order, up to ``batch_size`` per session run; yields Predictions.

        Raises:
            OSError, ValueError, cv2.error: A file cannot be read.
        """
        chunk: List[_Item] = []
        for path in paths:
            chunk.append(self._load(path))
            if len(chunk) >= max(1, int(batch_size)):
                yield from self.forward(chunk)
                chunk = []
        if chunk:
            yield from self.forward(chunk)

    def __call__(self, inputs: Union[str, os.PathLike, Sequence[str]], batch_size: int = 1,
                 return_vis: bool = False, return_datasamples: bool = False) -> dict:
        """Predict files or folders, as :meth:`ChestSegInferencer.__call__
        <mmchest.apis.ChestSegInferencer.__call__>`.

        Returns:
            dict: ``predictions`` (plain dicts, or Predictions with ``return_datasamples``)
            and ``visualization`` (overlays when ``return_vis``, else ``[]``).
        """
        from mmchest.apis.inputs import input_paths
        preds = list(self.predict_files(input_paths(inputs), batch_size))
        return dict(predictions=preds if return_datasamples else [p.to_dict() for p in preds],
                    visualization=[p.overlay() for p in preds] if return_vis else [])

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(model={self.model_path!r}, device={self.device!r}, '
                f'config={self.config_name!r})')


class MetadataConfig(dict):
    """The few config fields the tools read, from the exported metadata (no mmengine):
    ``test_dataloader.dataset.metainfo.classes``, ``filename`` and ``pretty_text``."""

    def __init__(self, metadata: dict) -> None:
        classes = metadata.get('classes')
        super().__init__(test_dataloader=dict(dataset=dict(
            metainfo=dict(classes=classes) if classes else {})))
        self.filename = metadata.get('config') or None
        self.pretty_text = json.dumps(metadata, sort_keys=True)


def init_onnx_inferencer(config: Optional[Union[str, os.PathLike]],
                         model: Union[str, os.PathLike], device: Optional[str] = None,
                         cfg_options: Optional[dict] = None, **kwargs) -> OnnxSegInferencer:
    """``init_inferencer(..., backend='onnxruntime')``: the exported model of a config.

    Args:
        config (str | PathLike, optional): The config the model was exported from. Its
            file name must match the one in the model's metadata; it is loaded (when
            mmengine and its ``_base_`` hosts are installed) for the tools that read it,
            e.g. the DICOM outputs. None: use the metadata alone.
        model (str | PathLike): The ``.onnx`` file from ``tools/export.py``.
        device (str, optional): ``'cpu'`` (None) or ``'cuda[:N]'``.
        cfg_options (dict, optional): Only ``model.test_cfg.triplet.*`` (see
            :class:`OnnxSegInferencer`).
        **kwargs: :class:`OnnxSegInferencer` arguments (``triplet``, ``max_pixels``,
            ``score_thr``, ...).

    Returns:
        OnnxSegInferencer: The inferencer.

    Raises:
        ValueError: Not an ONNX model exported by mmchest, or exported from another config.
    """
    path = os.fspath(model)
    if not path.lower().endswith('.onnx'):
        raise ValueError(f'--backend onnxruntime runs an exported model (.onnx from '
                         f'tools/export.py), got {path!r}')
    inferencer = OnnxSegInferencer(path, device=device, cfg_options=cfg_options, **kwargs)
    exported = inferencer.metadata.get('config') or ''
    if config is not None:
        given = osp.basename(os.fspath(config))
        if exported and osp.basename(exported) != given:
            raise ValueError(f'{path} was exported from {osp.basename(exported)}, not {given}')
        try:  # the real config when it can be read (mmengine + the hosts of its _base_)
            from mmchest.apis.base_inferencer import load_config
            inferencer.cfg = load_config(os.fspath(config), cfg_options)
        except Exception:  # noqa: BLE001 - the metadata stands in for it
            inferencer.cfg.filename = os.fspath(config)
    return inferencer


def _flatten(options: dict, prefix: str = '') -> dict:
    flat = {}
    for key, value in options.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(_flatten(value, name + '.'))
        else:
            flat[name] = value
    return flat


def _triplet_options(triplet: Optional[dict], cfg_options: dict) -> Optional[dict]:
    """Apply ``model.test_cfg.triplet`` overrides to the exported triplet (see ``__init__``).

    Raises:
        ValueError: An option other than the triplet thresholds, or an incomplete triplet.
    """
    prefix = 'model.test_cfg.triplet'
    out = dict(triplet or {})
    for key, value in _flatten(dict(cfg_options)).items():
        if key == prefix and value is None:  # model.test_cfg.triplet=None removes it
            out = {}
        elif key.startswith(prefix + '.') and key.count('.') == 3:
            out[key.rsplit('.', 1)[1]] = value
        else:
            raise ValueError(f'cfg_options {key!r}: an exported model only takes '
                             f'{prefix}.<top_score_threshold|min_area|bottom_threshold>; '
                             'other settings are fixed at export (tools/export.py --cfg-options)')
    if not out:
        return None
    needed = {'top_score_threshold', 'min_area', 'bottom_threshold'}
    if set(out) != needed:
        raise ValueError(f'triplet needs exactly {sorted(needed)}, got {sorted(out)}')
    return out


def _to_display(img: np.ndarray) -> np.ndarray:
    """An 8-bit copy of a float image (min-max), as the API's ``to_display``."""
    from mmchest.apis.visualization import to_display
    return to_display(img)
