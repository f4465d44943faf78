"""Let mmengine 0.10.7's ``--launcher pytorch`` run on CPU-only machines (gloo backend).

``mmengine.dist.utils._init_dist_pytorch`` calls ``torch.cuda.set_device(local_rank)``
unconditionally, so ``torchrun ... --launcher pytorch`` dies with "Found no NVIDIA driver"
on a machine without a GPU, even with ``env_cfg.dist_cfg.backend='gloo'``. When CUDA is not
available this patch initialises the process group without touching CUDA; ``nccl`` (the
default of the OpenMMLab runtime configs) is replaced by ``gloo`` with a warning, because
``nccl`` cannot work without GPUs. With CUDA available mmengine's own function runs
unchanged.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as torch_dist


def install() -> None:
    """Patch ``mmengine.dist.utils._init_dist_pytorch`` (idempotent)."""
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mmchest_cpu_patch', False):
        return

    def _init_dist_pytorch(backend: str, init_backend: str = 'torch', **kwargs) -> None:
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            from mmengine.logging import print_log
            print_log('CUDA is not available: using the gloo backend instead of nccl',
                      logger='current', level=30)
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']), **kwargs)

    _init_dist_pytorch._mmchest_cpu_patch = True  # type: ignore[attr-defined]
    dist_utils._init_dist_pytorch = _init_dist_pytorch
