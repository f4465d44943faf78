"""Every patch mmchest makes to mmengine and torch, each gated on the versions it fixes.

A :class:`Patch` names what it changes, the mmengine and torch versions it is written for
(``packaging`` specifiers, checked against the installed versions) and, in its function's
docstring, what it fixes and when it can go. :func:`install` (called once by ``import mmchest``)
applies the patches whose gate holds and leaves the others out, so a newer mmengine runs with
its own behaviour until a patch is checked against it and its gate widened. :func:`status`
says which patches are in.

The patches only route mmengine's calls; the code they route to is mmchest's own and stays
in its modules: :mod:`mmchest.engine.safe_checkpoint` (``weights_only=True`` loading, the
allow-list, the refusal messages) and :mod:`mmchest.engine.checkpoint_fit` (the fit check).

=========================================  ==================  ==========
patch                                      mmengine            torch
=========================================  ==================  ==========
``mmengine_checkpoint_globals``            ``<=0.10.7``        ``>=2.6``
``mmengine_safe_checkpoint_loader``        ``<=0.10.7``        any
``mmengine_strict_evaluation_load``        ``<=0.10.7``        any
``mmengine_cpu_distributed``               ``<=0.10.7``        any
=========================================  ==================  ==========
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

__all__ = ['Patch', 'PATCHES', 'ACCELERATORS', 'installed_versions', 'install', 'status',
           'accelerator_present']

#: The newest mmengine the patches below were checked against.
MMENGINE_CHECKED = '0.10.7'

#: Device kinds mmengine can drive (``mmengine.device.is_<kind>_available``).
ACCELERATORS: Tuple[str, ...] = ('cuda', 'npu', 'mlu', 'musa', 'mps', 'dipu')


@dataclass(frozen=True)
class Patch:
    """One patch of mmengine/torch behaviour and the versions it applies to.

    Args:
        name (str): Identifier, as :func:`status` reports it.
        apply (Callable[[], None]): Installs the patch (idempotent); its docstring says what
            it fixes and when it can go.
        mmengine (str): ``packaging`` specifier of the affected mmengine versions; '' = any.
            Defaults to ''.
        torch (str): Specifier of the affected torch versions; '' = any. Defaults to ''.
    """

    name: str
    apply: Callable[[], None]
    mmengine: str = ''
    torch: str = ''

    def applies(self, versions: Mapping[str, Version]) -> bool:
        """Whether the installed ``versions`` (``{'mmengine': ..., 'torch': ...}``) are affected."""
        for package in ('mmengine', 'torch'):
            spec = getattr(self, package)
            if spec and not SpecifierSet(spec).contains(versions[package], prereleases=True):
                return False
        return True

    @property
    def doc(self) -> str:
        """What the patch fixes and when it can go (its function's docstring)."""
        return ' '.join((self.apply.__doc__ or '').split())


def _mmengine_checkpoint_globals() -> None:
    """Let torch's ``weights_only`` loading read mmengine's own checkpoints.

    Fixes: torch >= 2.6 loads with ``weights_only=True`` by default and refuses what mmengine
    <= 0.10.7 pickles into ``message_hub`` (``HistoryBuffer``, numpy arrays, dtypes and
    scalars, ``getattr(HistoryBuffer, 'min')``), so ``--resume``, ``load_from`` and
    ``mim test --checkpoint`` fail. Registers exactly those types
    (:func:`mmchest.engine.safe_checkpoint.register_safe_globals`). Can go when mmengine
    saves plain types or registers its own safe globals.
    """
    from mmchest.engine.safe_checkpoint import register_safe_globals
    register_safe_globals()


def _mmengine_safe_checkpoint_loader() -> None:
    """Route mmengine's checkpoint loading through mmchest's ``weights_only=True`` loader.

    Fixes: mmengine <= 0.10.7's ``CheckpointLoader.load_from_local`` calls ``torch.load``
    without ``weights_only``: on torch < 2.6 a checkpoint can run code, on torch >= 2.6 a
    refused file surfaces as torch's advice to switch the weights-only unpickler off, and
    an empty or truncated file as a bare ``EOFError``. Local files now go through
    :func:`~mmchest.engine.safe_checkpoint.safe_torch_load` and the other schemes (http,
    ``open-mmlab://`` ...) explain refusals. Covers ``Runner.resume``, ``load_from`` and
    ``load_checkpoint``. Can go when mmengine loads with ``weights_only=True`` and reports
    refusals itself.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmchest.engine.safe_checkpoint import explain_refusals, safe_torch_load

    def load_from_local(filename, map_location):
        return safe_torch_load(filename, map_location)

    load_from_local._mmchest_wrapped = True  # type: ignore[attr-defined]
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, '_mmchest_wrapped', False):
            continue
        new = load_from_local if prefix == '' else explain_refusals(loader)
        CheckpointLoader.register_scheme(prefix, new, force=True)


def _mmengine_strict_evaluation_load() -> None:
    """Make evaluation loads refuse a checkpoint that does not fit the model.

    Fixes: mmengine <= 0.10.7 loads every checkpoint with ``strict=False``, so ``mim test``
    and the inference loaders evaluate a checkpoint of another model with random weights
    where it lacks some, after a warning. ``Runner.load_checkpoint`` of a runner that is not
    training, and mmengine's ``load_state_dict`` inside
    :func:`~mmchest.engine.checkpoint_fit.require_fit`, now run
    :func:`~mmchest.engine.checkpoint_fit.check_fit` first. Training loads (``load_from``,
    ``--resume``, ``Pretrained``) stay lenient. Can go when mmengine can load strictly for
    evaluation.
    """
    import mmengine.runner.checkpoint as ckpt_module
    from mmengine.runner import Runner

    from mmchest.engine.checkpoint_fit import check_required_fit, is_training, require_fit

    original_load_state_dict = ckpt_module.load_state_dict
    if not getattr(original_load_state_dict, '_mmchest_fit', False):

        def load_state_dict(module, state_dict, strict=False, logger=None):
            check_required_fit(module, state_dict)
            return original_load_state_dict(module, state_dict, strict, logger)

        load_state_dict.__doc__ = original_load_state_dict.__doc__
        load_state_dict._mmchest_fit = True  # type: ignore[attr-defined]
        ckpt_module.load_state_dict = load_state_dict

    original_runner_load = Runner.load_checkpoint
    if not getattr(original_runner_load, '_mmchest_fit', False):

        def runner_load_checkpoint(self, filename, *args, **kwargs):
            if is_training(self):
                return original_runner_load(self, filename, *args, **kwargs)
            with require_fit(filename, getattr(self.cfg, 'filename', None)):
                return original_runner_load(self, filename, *args, **kwargs)

        runner_load_checkpoint.__doc__ = original_runner_load.__doc__
        runner_load_checkpoint._mmchest_fit = True  # type: ignore[attr-defined]
        Runner.load_checkpoint = runner_load_checkpoint


def accelerator_present() -> Optional[str]:
    """The first of :data:`ACCELERATORS` that mmengine detects, or None on a CPU-only machine.

    Returns:
        str | None: e.g. 'cuda' or 'npu'; None when mmengine sees no accelerator.
    """
    from mmengine import device
    for kind in ACCELERATORS:
        available = getattr(device, f'is_{kind}_available', None)
        if available is not None and available():
            return kind
    return None


def _mmengine_cpu_distributed() -> None:
    """Let ``--launcher pytorch`` run on machines without any accelerator (gloo).

    Fixes: mmengine <= 0.10.7's ``mmengine.dist.utils._init_dist_pytorch`` calls
    ``torch.cuda.set_device(local_rank)`` whenever no NPU/MLU/MUSA is found, so
    ``torchrun ... --launcher pytorch`` dies with "Found no NVIDIA driver" on a CPU-only
    machine even with ``env_cfg.dist_cfg.backend='gloo'``. When mmengine detects no
    accelerator at all (:func:`accelerator_present`) and ``init_backend`` is 'torch', the
    process group is initialised without touching a device, and ``nccl`` (the OpenMMLab
    runtime default, which needs GPUs) becomes ``gloo`` with a warning. With an accelerator,
    or another ``init_backend`` ('deepspeed', 'colossalai'), mmengine's own function runs.
    Can go when mmengine initialises CPU process groups itself.
    """
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mmchest_cpu_patch', False):
        return

    def _init_dist_pytorch(backend: str, init_backend: str = 'torch', **kwargs) -> None:
        if init_backend != 'torch' or accelerator_present() is not None:
            return original(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        if backend == 'nccl':
            from mmengine.logging import print_log
            print_log('no accelerator found: using the gloo backend instead of nccl',
                      logger='current', level=30)
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']), **kwargs)

    _init_dist_pytorch.__doc__ = original.__doc__
    _init_dist_pytorch._mmchest_cpu_patch = True  # type: ignore[attr-defined]
    _init_dist_pytorch._mmchest_original = original  # type: ignore[attr-defined]
    dist_utils._init_dist_pytorch = _init_dist_pytorch


#: The patches, in the order :func:`install` applies them.
PATCHES: Tuple[Patch, ...] = (
    Patch('mmengine_checkpoint_globals', _mmengine_checkpoint_globals,
          mmengine=f'<={MMENGINE_CHECKED}', torch='>=2.6'),
    Patch('mmengine_safe_checkpoint_loader', _mmengine_safe_checkpoint_loader,
          mmengine=f'<={MMENGINE_CHECKED}'),
    Patch('mmengine_strict_evaluation_load', _mmengine_strict_evaluation_load,
          mmengine=f'<={MMENGINE_CHECKED}'),
    Patch('mmengine_cpu_distributed', _mmengine_cpu_distributed,
          mmengine=f'<={MMENGINE_CHECKED}'),
)

_INSTALLED: Dict[str, bool] = {}


def installed_versions() -> Dict[str, Version]:
    """The installed mmengine and torch versions.

    Returns:
        dict[str, Version]: ``{'mmengine': ..., 'torch': ...}``.
    """
    import mmengine
    import torch
    return {'mmengine': Version(mmengine.__version__), 'torch': Version(torch.__version__)}


def install(versions: Optional[Mapping[str, Version]] = None) -> List[str]:
    """Apply every patch whose gate holds for the installed versions (idempotent).

    Args:
        versions (Mapping[str, Version], optional): Versions to gate on; None reads the
            installed ones (:func:`installed_versions`). Defaults to None.

    Returns:
        list[str]: Names of the patches whose gate holds (applied now, or already in).
    """
    versions = installed_versions() if versions is None else versions
    applied = []
    for patch in PATCHES:
        if patch.applies(versions):
            patch.apply()
            _INSTALLED[patch.name] = True
            applied.append(patch.name)
    return applied


def status() -> Dict[str, bool]:
    """Which patches are installed in this process.

    Returns:
        dict[str, bool]: Patch name -> installed; all False before :func:`install` ran.
    """
    return {patch.name: _INSTALLED.get(patch.name, False) for patch in PATCHES}
