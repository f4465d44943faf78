"""Output names that never carry a patient identifier.

The one rule the tools share (``tools/dicom_to_png.py``, ``tools/infer.py``): an output name
(or relative path) must not contain the PatientID or PatientName of the DICOM it comes from,
nor any ``^``-separated component of the name, compared case-insensitively; values shorter
than :data:`MIN_IDENTIFIER_LENGTH` characters are not searched for. ``dicom_to_png`` refuses
such a file (``--names sop`` names it by its SOPInstanceUID instead); ``infer`` names it by
:func:`safe_stem`.

The identifier values are only compared with names here, never returned to callers for
printing or storing.

Pure module: pydicom (through :mod:`mmchest.io.dicom`'s bounded header parser) and the
standard library; no registry, no OpenMMLab imports.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import warnings
from typing import NamedTuple, Optional, Sequence, Tuple

__all__ = ['MIN_IDENTIFIER_LENGTH', 'DicomIdentity', 'dicom_identity', 'contains_identifier',
           'is_dicom_file', 'content_name', 'safe_stem']

#: PatientID / PatientName values shorter than this are not searched for in names.
MIN_IDENTIFIER_LENGTH = 3
#: Name endings always treated as DICOM (lower case), as in ``LoadDicomImageFromFile``.
DICOM_SUFFIXES: Tuple[str, ...] = ('.dcm', '.dicom')


class DicomIdentity(NamedTuple):
    """What a DICOM header says about who and what it is.

    Attributes:
        sop_instance_uid (str, optional): SOPInstanceUID; None when absent.
        identifiers (tuple[str, ...]): PatientID, PatientName and its components, the
            ones at least :data:`MIN_IDENTIFIER_LENGTH` long. Compare only; never print.
    """
    sop_instance_uid: Optional[str]
    identifiers: Tuple[str, ...]


def dicom_identity(path: str | os.PathLike) -> DicomIdentity:
    """Read SOPInstanceUID, PatientID and PatientName from a DICOM header.

    The header is parsed as :func:`mmchest.io.dicom.read_dicom` parses it: up to the pixel
    data, and a deflated data set inflated in bounded steps (a decompression bomb costs no
    more than its header).

    Args:
        path (str | os.PathLike): The DICOM file (pixel data is not read).

    Returns:
        DicomIdentity: The UID and the identifier values to keep out of names.

    Raises:
        DicomReadError: The file cannot be read or is not DICOM (a ValueError).
    """
    from mmchest.io.dicom import read_dicom_header
    ds = read_dicom_header(path)

    def text(keyword: str) -> str:
        try:
            with warnings.catch_warnings():  # pydicom's value warnings may quote values
                warnings.simplefilter('ignore')
                return str(ds.get(keyword, '') or '').strip()  # decoded (character set)
        except Exception:  # noqa: BLE001 - an undecodable value: compare its raw bytes
            value = ds[keyword].value if keyword in ds else b''
            return bytes(value).decode('ascii', 'replace').strip(' \x00') \
                if isinstance(value, (bytes, bytearray)) else str(value).strip()

    values = []
    for keyword in ('PatientID', 'PatientName'):
        value = text(keyword)
        values.append(value)
        if keyword == 'PatientName':
            values.extend(part.strip() for part in value.split('^'))
    uid = text('SOPInstanceUID') or None
    return DicomIdentity(uid, tuple(v for v in values if len(v) >= MIN_IDENTIFIER_LENGTH))


def contains_identifier(name: str, identifiers: Sequence[str]) -> bool:
    """Whether an output name or relative path contains one of the identifier values.

    Args:
        name (str): Output name or path relative to the output folder.
        identifiers (Sequence[str]): Values from :func:`dicom_identity`.

    Returns:
        bool: True if any value occurs in ``name`` (case-insensitive).
    """
    low = name.lower()
    return any(v.lower() in low for v in identifiers)


def is_dicom_file(path: str | os.PathLike) -> bool:
    """Whether a file is read as DICOM: a ``.dcm``/``.dicom`` name or the ``DICM`` prefix.

    Raises:
        OSError: The file cannot be opened.
    """
    if str(path).lower().endswith(DICOM_SUFFIXES):
        return True
    with open(path, 'rb') as f:
        head = f.read(132)
    return head[128:132] == b'DICM'


def content_name(path: str | os.PathLike, digits: int = 16) -> str:
    """``'sha256-'`` plus the first ``digits`` hex digits of the file's SHA-256.

    Stable across runs and machines, and says nothing about the patient without the file.

    Raises:
        OSError: The file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return f'sha256-{digest.hexdigest()[:digits]}'


def safe_stem(path: str | os.PathLike) -> str:
    """An output name for ``path`` (without suffix) that holds no identifier of the file.

    - not a DICOM file (PNG, ...): the file's stem (there is no header to compare with);
    - a DICOM file whose stem contains none of its identifiers: the stem;
    - otherwise its SOPInstanceUID, if present and itself free of them;
    - otherwise, or when the header cannot be parsed (nothing to compare with),
      :func:`content_name` (``sha256-<16 hex digits>`` of the file).

    Args:
        path (str | os.PathLike): The input file.

    Returns:
        str: The name.

    Raises:
        OSError: The file cannot be read.
    """
    stem = osp.splitext(osp.basename(str(path)))[0] or 'image'
    if not is_dicom_file(path):
        return stem
    try:
        identity = dicom_identity(path)
    except Exception:  # noqa: BLE001  (unreadable header: the stem cannot be checked)
        return content_name(path)  # OSError if the file cannot be read at all
    if not contains_identifier(stem, identity.identifiers):
        return stem
    uid = identity.sop_instance_uid
    if uid and not contains_identifier(uid, identity.identifiers):
        return uid
    return content_name(path)
