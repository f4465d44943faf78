"""One-line, actionable errors when a dataset is not where a config expects it."""
from __future__ import annotations

import os.path as osp
from typing import Iterable

SYNTHETIC_HINT = 'python tools/make_synthetic_data.py --out datasets/synthetic'


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files a config points at do not exist."""


def require_paths(paths: Iterable[str], dataset: str, readme: str) -> None:
    """Raise :class:`DatasetNotFoundError` (one line) if any path is missing.

    Args:
        paths (Iterable[str]): Files or folders the dataset needs.
        dataset (str): Human name, e.g. ``'SIIM-ACR pneumothorax'``.
        readme (str): Repository-relative README explaining how to obtain the data.

    Raises:
        DatasetNotFoundError: Naming the first missing path, the README and the
            synthetic-data generator.
    """
    for path in paths:
        if not osp.exists(path):
            raise DatasetNotFoundError(
                f'{dataset} data not found: {path!r} does not exist. Download and lay it out '
                f'as {readme} explains (or point data_root elsewhere with --cfg-options), '
                f'or generate a synthetic set with `{SYNTHETIC_HINT}`.')
