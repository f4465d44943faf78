"""Seeds, identifiers and size limits shared by the synthetic-data modules.

Pure module (numpy and the standard library). Everything downstream is deterministic from the
seed parts given here: the same parts give the same generator, UID and patient id on every run
(UIDs are ``2.25.<UUID>`` built from a seeded UUID, patient ids seeded UUID4 strings).
"""
from __future__ import annotations

import os
import uuid
import zlib
from typing import Callable, Optional, Union

import numpy as np

__all__ = ['MIN_SIZE', 'MAX_SIZE', 'synthetic_uid', 'synthetic_patient_id']

PathLike = Union[str, 'os.PathLike[str]']
Progress = Optional[Callable[[], None]]

#: Smallest and largest supported image side, in pixels.
MIN_SIZE: int = 64
MAX_SIZE: int = 512

_UID_NAMESPACE = 'mmchest.synthetic'


def _key(part: Union[int, str]) -> int:
    """Turn a seed part into a non-negative int (strings through CRC-32, stable across runs)."""
    if isinstance(part, (int, np.integer)):
        return int(part) & 0xFFFFFFFF
    return zlib.crc32(str(part).encode('utf-8'))


def _rng(*parts: Union[int, str]) -> np.random.Generator:
    """A generator seeded from several parts, independent of call order."""
    return np.random.default_rng([_key(p) for p in parts])


def synthetic_uid(*parts: Union[int, str]) -> str:
    """A deterministic DICOM UID (``2.25.<int>``) derived from ``parts``.

    Args:
        *parts (int | str): anything identifying the object, e.g. ``(seed, 'siim', 3, 'sop')``.

    Returns:
        str: the UID.
    """
    # pydicom's generate_uid(prefix=None) ignores entropy_srcs (it always uses uuid4), so the
    # 2.25 form (PS3.5 B.2: a UUID as a decimal integer) is built from a seeded UUID here.
    return f'2.25.{uuid.UUID(bytes=_rng(_UID_NAMESPACE, *parts).bytes(16), version=4).int}'


def synthetic_patient_id(*parts: Union[int, str]) -> str:
    """A deterministic UUID4-looking id (like RSNA's ``patientId``) derived from ``parts``.

    Args:
        *parts (int | str): anything identifying the patient.

    Returns:
        str: e.g. ``'0004cfab-14fd-4e49-80ba-63a80b6bddd6'``.
    """
    return str(uuid.UUID(bytes=_rng('patient-id', *parts).bytes(16), version=4))


def _check_size(size: int) -> int:
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f'size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}')
    return size


def _check_count(name: str, value: int) -> int:
    value = int(value)
    if value < 0:
        raise ValueError(f'{name} must be >= 0, got {value}')
    return value
