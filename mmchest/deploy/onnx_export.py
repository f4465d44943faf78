"""Export an mmchest segmentation model to ONNX, its preprocessing stored in the file.

The graph (opset :data:`DEFAULT_OPSET`, TorchScript exporter) holds what runs on the device
in ``mim test``: the data preprocessor's BGR->RGB swap and mean/std normalisation, the
encoder-decoder, and the head's upsampling to the input size; it returns the foreground
``probability`` (sigmoid of the one-channel head, softmax class 1 of a two-class head) and
the foreground ``logit`` it comes from (the logit for ``probability = sigmoid(logit)``,
i.e. ``l1 - l0`` for a two-class softmax head):

- input ``image``: float32 ``(N, 3, H, W)``, BGR, 0..255, i.e. the loader's uint8 image
  after the test pipeline's resize (and the data preprocessor's test-time padding, if the
  config has one), cast to float; ``N``, ``H`` and ``W`` are dynamic;
- outputs ``probability`` and ``logit``: float32 ``(N, 1, H, W)``.

What happens outside the graph (reading DICOM with the display normalisation, the keep-ratio
resize, padding, resizing the logits back to the original size, then the sigmoid, the
threshold or triplet thresholding) is described in the model's ``metadata_props`` under the
key :data:`METADATA_KEY` as JSON, and :mod:`mmchest.deploy.onnxruntime_backend` replays it
without mmcv/mmseg. Fields: ``format_version``, ``task``, ``config``, ``cfg_options``,
``checkpoint``, ``checkpoint_sha256``, ``mmchest_version``, ``opset``, ``input``,
``outputs``, ``loader`` (the pipeline's image loader and its arguments, e.g.
``norm='auto'``), ``resize`` (mmcv ``Resize`` arguments and the rule), ``normalization``
(``mean``/``std`` in RGB order, ``bgr_to_rgb``, applied in the graph), ``pad``,
``align_corners``, ``head`` (channels, activation, threshold), ``triplet``
(``model.test_cfg.triplet`` or null) and ``classes``.

Detection configs (Mask R-CNN / Faster R-CNN) are refused with :class:`OnnxExportError`
stating what blocks them (see :data:`DETECTOR_BLOCKER`).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import os.path as osp
import warnings
from typing import Any, Iterator, Optional

import numpy as np
import torch
import torch.nn as nn

__all__ = ['DEFAULT_OPSET', 'METADATA_KEY', 'DETECTOR_BLOCKER', 'OnnxExportError',
           'SegmentorForExport', 'preprocessing_metadata', 'export_onnx', 'file_sha256',
           'read_metadata']

#: ONNX opset of the exported graphs (Resize-11+ semantics; onnxruntime >= 1.12 runs it).
DEFAULT_OPSET = 17
#: ``metadata_props`` key holding the preprocessing/post-processing JSON.
METADATA_KEY = 'mmchest'
FORMAT_VERSION = 1
#: Pipeline steps that load labels (dropped at inference, as in the inference API).
LABEL_LOADERS = ('LoadAnnotations', 'LoadRLEMask', 'LoadExpertMasks')
#: Steps that only pack results into data samples.
PACKERS = ('PackSegInputs', 'PackSegInputsUint8')
IMAGE_LOADERS = ('LoadDicomImageFromFile', 'LoadImageFromFile')
#: Why the detectors are not exported: found with torch 2.14's TorchScript exporter and its
#: dynamo exporter on configs/demo/mask_rcnn_rsna_synthetic.py (mmdet 3.3.0, mmcv 2.1.0);
#: docs/deploy.md has the details.
DETECTOR_BLOCKER = (
    'ONNX export of the mmdet detectors (Mask R-CNN / Faster R-CNN) is not supported. '
    "(1) Under torch.onnx.export, mmdet 3.3's DeltaXYWHBBoxCoder.decode switches to its "
    "MMDetection-2.x ONNX path, which imports the removed module 'mmdet.core.export': both "
    'exporters (dynamo=False and dynamo=True) stop with ModuleNotFoundError. (2) With that '
    "import stubbed, the TorchScript trace finishes but is not a usable model: mmcv's "
    'batched_nms leaves no NonMaxSuppression node (the kept boxes of the example image are '
    'frozen into the graph), the numbers of proposals and detections are traced as '
    "constants (24 TracerWarnings), and mmcv's RoIAlign symbolic writes an opset-11 Squeeze "
    "with an 'axes' attribute into the opset-17 graph, which onnxruntime refuses to load "
    '(INVALID_GRAPH). Deploy a detector with MMDeploy (its mmdet rewriters replace these '
    'ops) or run it with the PyTorch backend.')


class OnnxExportError(RuntimeError):
    """The config/model cannot be exported (the message says why)."""


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """Config values -> JSON-able Python (tuples -> lists, ConfigDict -> dict)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


class SegmentorForExport(nn.Module):
    """An mmseg ``EncoderDecoder`` as one tensor-in, tensors-out module.

    ``forward(image)`` with ``image`` float32 ``(N, 3, H, W)`` BGR 0..255 (already resized
    and padded) does the data preprocessor's channel swap and normalisation, then
    ``extract_feat`` and ``decode_head.predict`` (the head's logits upsampled to ``(H, W)``
    as ``mim test`` does), and returns ``(probability, logit)``, each ``(N, 1, H, W)``.

    Args:
        model (nn.Module): An mmseg segmentor (``EncoderDecoder`` or subclass) in eval mode.

    Raises:
        OnnxExportError: The head has more than two classes, or ``test_cfg.mode`` is not
            ``'whole'``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        mode = (model.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise OnnxExportError(f"model.test_cfg.mode={mode!r}: only 'whole' inference is "
                                  'exported (sliding windows are not in the graph)')
        out_channels = model.decode_head.out_channels
        if out_channels not in (1, 2):
            raise OnnxExportError(
                f'the head has {out_channels} output channels: the export returns a foreground '
                'probability, for binary heads (1 channel sigmoid or 2 channel softmax)')
        self.model = model
        self.out_channels = out_channels
        pre = model.data_preprocessor
        self.bgr_to_rgb = bool(getattr(pre, 'channel_conversion', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        if self.normalize:
            self.register_buffer('mean', pre.mean.detach().clone().float().reshape(1, -1, 1, 1))
            self.register_buffer('std', pre.std.detach().clone().float().reshape(1, -1, 1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0]]
        if self.normalize:
            x = (x - self.mean) / self.std
        feats = self.model.extract_feat(x)
        metas = [dict(img_shape=x.shape[2:])]
        logits = self.model.decode_head.predict(feats, metas, self.model.test_cfg)
        if self.out_channels == 1:
            logit = logits[:, :1]
        else:  # softmax(l)[1] == sigmoid(l1 - l0); resizing commutes with the difference
            logit = logits[:, 1:2] - logits[:, 0:1]
        return torch.sigmoid(logit), logit


def _default_args(kind: str) -> dict:
    """The constructor defaults of a registered transform (recorded, so that the metadata
    states e.g. the loader's ``norm='auto'`` even when the config leaves it implicit)."""
    import inspect

    from mmengine.registry import TRANSFORMS
    cls = TRANSFORMS.get(kind)
    if cls is None:
        return {}
    skip = {'self', 'backend_args', 'ignore_empty', 'args', 'kwargs'}
    params = inspect.signature(cls.__init__).parameters.items()
    return {name: _plain(p.default) for name, p in params
            if name not in skip and p.default is not inspect.Parameter.empty}


def _checkpoint_classes(checkpoint: Optional[str]) -> Optional[list]:
    """``meta.dataset_meta.classes`` saved in a checkpoint (None when absent)."""
    if not checkpoint:
        return None
    try:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
        classes = ckpt.get('meta', {}).get('dataset_meta', {}).get('classes')
    except Exception:  # noqa: BLE001 - the class names are informative only
        return None
    return _plain(list(classes)) if classes else None


@contextlib.contextmanager
def traceable_upsample() -> Iterator[None]:
    """Make mmseg's ``Upsample`` (the UNet backbone's decoder) keep a dynamic input size.

    ``mmseg.models.utils.Upsample.forward`` computes ``int(t * scale_factor)`` from the
    input's shape: the ``int()`` freezes the traced size into a constant, so the exported
    graph only runs at the example input's size. For an integral ``scale_factor`` the same
    size is ``t * int(scale_factor)``, which the tracer keeps symbolic. Patched only while
    tracing (the export then checks onnxruntime against the unpatched model).
    """
    try:
        from mmseg.models.utils import resize
        from mmseg.models.utils.wrappers import Upsample
    except ImportError:  # pragma: no cover - mmseg is there whenever a model is exported
        yield
        return
    original = Upsample.forward

    def forward(self, x):
        factor = self.scale_factor
        if not self.size and isinstance(factor, float) and factor.is_integer():
            k = int(factor)
            return resize(x, [t * k for t in x.shape[-2:]], None, self.mode, self.align_corners)
        return original(self, x)

    Upsample.forward = forward
    try:
        yield
    finally:
        Upsample.forward = original


def _pipeline_parts(pipeline: list) -> tuple[dict, Optional[dict]]:
    """The loader and the (single) Resize of a test pipeline, refusing anything else."""
    loader: Optional[dict] = None
    resize: Optional[dict] = None
    for index, step in enumerate(pipeline):
        kind = step.get('type')
        kind = (kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))
                ).split('.')[-1]
        args = {k: _plain(v) for k, v in step.items() if k != 'type'}
        if kind in IMAGE_LOADERS:
            if loader is not None:
                raise OnnxExportError(f'test pipeline step {index}: a second image loader')
            if args.get('backend_args'):
                raise OnnxExportError(f'test pipeline step {index} ({kind}): backend_args are '
                                      'not supported by the onnxruntime backend (local files)')
            args.pop('backend_args', None)
            args.pop('ignore_empty', None)
            loader = dict(type=kind, **{**_default_args(kind), **args})
        elif kind == 'Resize':
            if resize is not None:
                raise OnnxExportError(f'test pipeline step {index}: a second Resize')
            if args.get('backend', 'cv2') != 'cv2':
                raise OnnxExportError(f"test pipeline step {index}: Resize backend "
                                      f"{args['backend']!r} (only 'cv2' is replayed)")
            resize = dict(scale=args.get('scale'), scale_factor=args.get('scale_factor'),
                          keep_ratio=bool(args.get('keep_ratio', False)),
                          interpolation=args.get('interpolation', 'bilinear'), backend='cv2')
            if resize['scale'] is None and resize['scale_factor'] is None:
                raise OnnxExportError(f'test pipeline step {index}: Resize without scale')
        elif kind in LABEL_LOADERS or kind in PACKERS:
            continue
        else:
            raise OnnxExportError(
                f'test pipeline step {index} ({kind}) is not replayed by the onnxruntime '
                f'backend (supported: {", ".join(IMAGE_LOADERS)}, Resize, label loaders, '
                f'{", ".join(PACKERS)})')
    if loader is None:
        raise OnnxExportError('the test pipeline has no image loader '
                              f'({" or ".join(IMAGE_LOADERS)})')
    return loader, resize


def preprocessing_metadata(model: nn.Module, *, config: str = '', checkpoint: Optional[str] = None,
                           cfg_options: Optional[dict] = None, opset: int = DEFAULT_OPSET
                           ) -> dict:
    """The metadata JSON (as a dict) for an exported mmseg model.

    Args:
        model (nn.Module): The segmentor, with ``cfg`` (after ``--cfg-options``) attached.
        config (str): The config file name as given. Defaults to ''.
        checkpoint (str, optional): Checkpoint file (its name and SHA-256 are recorded).
        cfg_options (dict, optional): The overrides used. Defaults to None.
        opset (int): The ONNX opset. Defaults to :data:`DEFAULT_OPSET`.

    Returns:
        dict: JSON-able metadata (fields in the module docstring).
    """
    from mmchest.apis.pipeline import inference_pipeline, mim_test_pipeline
    from mmchest.version import __version__
    cfg = model.cfg
    # the pipeline the inference API runs: `mim test`'s, labels dropped, DICOM-aware loader
    pipeline = inference_pipeline(copy.deepcopy(mim_test_pipeline(cfg)))
    loader, resize = _pipeline_parts(pipeline)
    pre = model.data_preprocessor
    mean = pre.mean.flatten().tolist() if getattr(pre, '_enable_normalize', False) else None
    std = pre.std.flatten().tolist() if getattr(pre, '_enable_normalize', False) else None
    bgr_to_rgb = bool(getattr(pre, 'channel_conversion', False))
    pad_val = float(getattr(pre, 'pad_val', 0))
    test_pad = _plain(getattr(pre, 'test_cfg', None) or {})
    pad = None
    if test_pad.get('size') is not None or test_pad.get('size_divisor'):
        size = test_pad.get('size')
        if isinstance(size, int):
            size = [size, size]
        # the graph normalises; a raw pixel v of input channel c becomes (v - m) / s with
        # m, s of RGB channel (2 - c) when the channels are swapped
        order = [2, 1, 0] if bgr_to_rgb else [0, 1, 2]
        value = ([mean[j] + pad_val * std[j] for j in order] if mean is not None else
                 [pad_val] * 3)
        pad = dict(size=size, size_divisor=test_pad.get('size_divisor'), pad_val=pad_val,
                   input_value=value)
    head = model.decode_head
    triplet = (model.test_cfg or {}).get('triplet') if type(model).__name__ == \
        'TripletEncoderDecoder' else None
    if resize is None:
        rule = 'none: the network sees the image at its original size'
    elif resize['keep_ratio'] and resize['scale'] is not None:
        rule = ('keep ratio: factor = min(max(scale) / max(h, w), min(scale) / min(h, w)), '
                'new (w, h) = (int(w * factor + 0.5), int(h * factor + 0.5)), '
                f"cv2.resize with {resize['interpolation']} (mmcv.imrescale)")
    else:
        rule = f"cv2.resize to scale (w, h) with {resize['interpolation']} (mmcv.imresize)"
    meta = dict(
        format_version=FORMAT_VERSION,
        task='segmentation',
        config=str(config),
        cfg_options=_plain(cfg_options or {}),
        checkpoint=osp.basename(checkpoint) if checkpoint else None,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
        mmchest_version=__version__,
        opset=int(opset),
        input=dict(name='image', dtype='float32', shape=['N', 3, 'H', 'W'], channel_order='BGR',
                   value_range=[0, 255],
                   note='the loader image after the resize (and padding), cast to float; '
                        'normalisation is inside the graph'),
        outputs=dict(probability='float32 (N, 1, H, W) foreground probability',
                     logit='float32 (N, 1, H, W) foreground logit, probability = sigmoid(logit)'),
        loader=loader,
        resize=dict(resize, rule=rule) if resize is not None else None,
        normalization=dict(in_graph=True, bgr_to_rgb=bgr_to_rgb, mean=mean, std=std,
                           formula='(rgb - mean) / std' if mean is not None else None),
        pad=pad,
        postprocess=('crop the padding, resize the logit bilinearly to the original (H, W) '
                     '(align_corners as below), sigmoid; mask: triplet thresholding when '
                     "'triplet' is set, else probability > head.threshold"),
        align_corners=bool(head.align_corners),
        head=dict(channels=int(head.out_channels),
                  activation='sigmoid' if head.out_channels == 1 else 'softmax',
                  threshold=float(head.threshold) if head.out_channels == 1 and
                  getattr(head, 'threshold', None) is not None else 0.5),
        triplet=_plain(triplet) if triplet else None,
        classes=_checkpoint_classes(checkpoint),
    )
    return meta


def read_metadata(path: str | os.PathLike) -> dict:
    """The :data:`METADATA_KEY` JSON of an exported model (onnx only, no onnxruntime)."""
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise OnnxExportError(f'{path}: no {METADATA_KEY!r} metadata (not exported by mmchest)')


def _dummy_size(meta: dict) -> tuple[int, int]:
    """(H, W) of the example input: the resize target, else 256 x 256."""
    resize = meta.get('resize') or {}
    scale = resize.get('scale')
    if isinstance(scale, (int, float)):
        h = w = int(scale)
    elif scale:
        w, h = int(scale[0]), int(scale[1])
        if resize.get('keep_ratio'):  # a square image within the bound
            h = w = min(w, h)
    else:
        h = w = 256
    pad = meta.get('pad') or {}
    if pad.get('size'):
        h, w = max(h, pad['size'][0]), max(w, pad['size'][1])
    if pad.get('size_divisor'):
        d = int(pad['size_divisor'])
        h, w = -(-h // d) * d, -(-w // d) * d
    return h, w


def _max_diff(path: str, wrapper: nn.Module, image: torch.Tensor) -> float:
    """Largest |probability| difference between onnxruntime and PyTorch on ``image``."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = wrapper(image)[0].numpy()
    try:
        got = session.run(['probability'], {'image': image.numpy()})[0]
    except Exception as err:  # noqa: BLE001 - e.g. a size frozen into the graph
        raise OnnxExportError(f'{path}: onnxruntime cannot run an input of shape '
                              f'{tuple(image.shape)} ({err}); dynamic batch/height/width '
                              'did not survive the export') from None
    if got.shape != expected.shape:
        raise OnnxExportError(f'{path}: output shape {got.shape} != {expected.shape}')
    return float(np.abs(got - expected).max())


def export_onnx(config: str, checkpoint: Optional[str], out: str, *,
                cfg_options: Optional[dict] = None, opset: int = DEFAULT_OPSET,
                verify: bool = True, atol: float = 1e-4) -> dict:
    """Export a segmentation config + checkpoint to an ONNX file with its metadata.

    Args:
        config (str): mmchest segmentation config (mmseg scope).
        checkpoint (str, optional): Checkpoint (loaded safely, refused if it does not fit
            the model); None exports the initial weights.
        out (str): Output ``.onnx`` path (its folder is created).
        cfg_options (dict, optional): ``--cfg-options`` overrides. Defaults to None.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.
        verify (bool): Run the file with onnxruntime on the example input (batch 2) and on
            one of another height and width (batch 1) and compare with PyTorch.
            Defaults to True.
        atol (float): Largest accepted probability difference when verifying.
            Defaults to 1e-4.

    Returns:
        dict: The metadata written, plus ``'max_abs_diff'`` when verified.

    Raises:
        OnnxExportError: Detection config (:data:`DETECTOR_BLOCKER`), unsupported test
            pipeline or head, or the verification failed.
    """
    from mmengine.config import Config
    scope_cfg = Config.fromfile(config)
    if cfg_options:
        scope_cfg.merge_from_dict(cfg_options)
    scope = scope_cfg.get('default_scope', 'mmseg')
    if scope == 'mmdet':
        raise OnnxExportError(f'{config}: {DETECTOR_BLOCKER}')
    if scope != 'mmseg':
        raise OnnxExportError(f'{config}: default_scope {scope!r}: only segmentation '
                              '(mmseg) configs are exported')
    from mmchest.apis import load_segmentor
    model = load_segmentor(config, checkpoint, device='cpu', cfg_options=cfg_options)
    model.eval()
    meta = preprocessing_metadata(model, config=config, checkpoint=checkpoint,
                                  cfg_options=cfg_options, opset=opset)
    wrapper = SegmentorForExport(model).eval()
    h, w = _dummy_size(meta)
    out_dir = osp.dirname(osp.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    gen = torch.Generator().manual_seed(0)
    dummy = torch.rand((2, 3, h, w), generator=gen) * 255
    with torch.no_grad(), warnings.catch_warnings(), traceable_upsample():
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        torch.onnx.export(wrapper, (dummy,), out, dynamo=False, opset_version=opset,
                          input_names=['image'], output_names=['probability', 'logit'],
                          dynamic_axes={'image': axes, 'probability': axes, 'logit': axes},
                          do_constant_folding=True)
    import onnx
    onnx_model = onnx.load(out)
    onnx.checker.check_model(onnx_model)
    del onnx_model.metadata_props[:]
    prop = onnx_model.metadata_props.add()
    prop.key, prop.value = METADATA_KEY, json.dumps(meta, sort_keys=True)
    onnx_model.doc_string = (f'mmchest {meta["config"]}: foreground probability of '
                             'float32 BGR 0..255 (N, 3, H, W) input; preprocessing in '
                             f'metadata_props[{METADATA_KEY!r}]')
    onnx.save(onnx_model, out)
    if verify:
        # the example input (batch 2) and another size (batch 1): dynamic axes really work
        step = 32 * int((meta.get('pad') or {}).get('size_divisor') or 1)
        other = torch.rand((1, 3, max(step, h - step), w + step), generator=gen) * 255
        diff = max(_max_diff(out, wrapper, dummy), _max_diff(out, wrapper, other))
        if not diff <= atol:
            raise OnnxExportError(f'{out}: onnxruntime differs from PyTorch by {diff:.3g} '
                                  f'(> {atol}) on the example inputs')
        meta = dict(meta, max_abs_diff=diff)
    return meta
