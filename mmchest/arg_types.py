"""Argument types shared by the command-line tools."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

__all__ = ['float_range', 'add_run_args', 'run_kwargs']

CFG_OPTIONS_HELP = 'override config settings, as in mim test'
_DEVICE_HELP = {'cpu': 'e.g. cpu or cuda:0', None: "e.g. 'cuda:0' or 'cpu' (default: auto)"}
_DEFAULT = object()


def float_range(spec: str) -> List[float]:
    """Parse a list of floats: ``'0.5:0.95:0.05'`` -> [0.5, 0.55, ..., 0.95] (stop included),
    ``'0.3,0.5'`` -> [0.3, 0.5].

    Args:
        spec (str): ``start:stop:step`` or comma-separated values.

    Returns:
        list[float]: The values, rounded to 6 decimals for ``start:stop:step``.
    """
    if ':' in spec:
        start, stop, step = (float(x) for x in spec.split(':'))
        if step <= 0:
            raise ValueError(f'step must be positive in {spec!r}')
        return [round(v, 6) for v in np.arange(start, stop + step / 2, step)]
    return [float(x) for x in spec.split(',')]


def add_run_args(parser, device: str | None = 'cpu', device_help: Any = _DEFAULT,
                 cfg_options_help: str = CFG_OPTIONS_HELP) -> None:
    """Add the last two options of every tool that runs a model: ``--device`` and
    ``--cfg-options`` (mmengine's ``DictAction``, as ``mim test`` takes it).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        device (str | None): The default device (None: the inferencer picks one).
        device_help (str | None): Help of ``--device``; by default the one for ``device``.
        cfg_options_help (str): Help of ``--cfg-options``.
    """
    from mmengine.config import DictAction
    if device_help is _DEFAULT:
        device_help = _DEVICE_HELP[device]
    parser.add_argument('--device', default=device, help=device_help)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)


def run_kwargs(args) -> Dict[str, Any]:
    """The options :func:`add_run_args` added, as keyword arguments of an inferencer."""
    return dict(device=args.device, cfg_options=args.cfg_options)
