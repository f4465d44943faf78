"""What DICOM SEG and SR outputs share: the source header, the algorithm, the finding codes.

Pure module (pydicom, highdicom, hashlib; no registry, no OpenMMLab imports), used by
:mod:`mmchest.io.dicom_seg` and :mod:`mmchest.io.dicom_sr`.

A derived object (PS3.3 C.7.6.1.1.3, "derived image") belongs to the patient and study of its
source, so highdicom copies the source's Patient and Study module attributes into it (the same
IEs, as the standard requires) and nothing else of the header; every object gets new UIDs
(``highdicom.UID()``, a ``2.25`` UUID form) and references its source by SOP Class / SOP
Instance UID (and Series / Study Instance UID).

Coded concepts (SNOMED CT, scheme designator ``SCT``; DICOM ``DCM`` codes from PS3.16):

* Pneumothorax ``36118008`` (``pydicom.sr.codedict.codes.SCT.Pneumothorax``);
* Pneumonia ``233604007`` (SNOMED CT "Pneumonia (disorder)"; not in pydicom's dictionary);
* any other class name: Finding ``404684003`` (``codes.SCT.Finding``) with the name as label;
* segmented property category: Morphologically Abnormal Structure ``49755003`` (CID 7150);
* algorithm family: Artificial Intelligence ``DCM 123110`` (CID 7162).
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from mmchest.version import __version__

__all__ = [
    'AlgorithmInfo', 'DerivedObjectError', 'FINDING_CODES', 'PNEUMONIA', 'finding_code',
    'read_source_header', 'sha256_file', 'dciodvfy'
]

PathLike = Union[str, 'os.PathLike[str]']

#: SNOMED CT "Pneumonia (disorder)" (pydicom's code dictionary has no keyword for it).
PNEUMONIA: Code = Code('233604007', 'SCT', 'Pneumonia')
#: Finding codes by (lower-case) class name, as the dataset metainfo spells the classes.
FINDING_CODES: Dict[str, Code] = {
    'pneumothorax': codes.SCT.Pneumothorax,  # SCT 36118008
    'pneumonia': PNEUMONIA,  # SCT 233604007
    'lung opacity': PNEUMONIA,  # RSNA's "Lung Opacity" boxes are the pneumonia findings
}
# Attributes a source must carry to be referenced by a derived object.
_REQUIRED = ('SOPClassUID', 'SOPInstanceUID', 'StudyInstanceUID', 'SeriesInstanceUID', 'Rows',
             'Columns')


class DerivedObjectError(ValueError):
    """A SEG/SR cannot be built: the source is not a DICOM image, or the prediction is bad.

    Messages name the problem, never a patient identifier.
    """


def finding_code(name: str) -> Code:
    """The coded concept of a class name.

    Args:
        name (str): class name, e.g. ``'pneumothorax'`` (case-insensitive).

    Returns:
        pydicom.sr.coding.Code: :data:`FINDING_CODES` entry, or SCT ``404684003`` "Finding"
        for any other name.
    """
    return FINDING_CODES.get(str(name).strip().lower(), codes.SCT.Finding)


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks.

    Args:
        path (str | os.PathLike): the file.
        chunk (int): read size in bytes. Defaults to 1 MiB.

    Returns:
        str: 64 lower-case hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class AlgorithmInfo:
    """Identification of the model that made a prediction (written into every SEG/SR).

    Written as the Algorithm Identification macro (PS3.3 Table 10-19: AlgorithmName,
    AlgorithmVersion, AlgorithmFamilyCodeSequence, AlgorithmSource, AlgorithmParameters) in a
    SEG, and as TID 4019 "Algorithm Identification" in an SR. The parameters are
    ``config=<file name>,config_sha256=<hex>,checkpoint=<file name>,checkpoint_sha256=<hex>``
    plus ``extra``; an untrained (randomly initialised) model has ``checkpoint=none``.

    Attributes:
        model_name (str): the config's stem, e.g. ``'unet_siim'`` (Manufacturer's Model Name).
        config_name (str): the config file's name, e.g. ``'unet_siim.py'``.
        config_sha256 (str): SHA-256 of the config file.
        checkpoint_name (str, optional): the checkpoint file's name; None when untrained.
        checkpoint_sha256 (str, optional): SHA-256 of the checkpoint; None when untrained.
        extra (dict[str, str]): further parameters, e.g. ``{'score_thr': '0.5'}``.
        name (str): algorithm name. Defaults to 'mmchest'.
        version (str): algorithm version. Defaults to mmchest's version.
    """
    model_name: str
    config_name: str
    config_sha256: str
    checkpoint_name: Optional[str] = None
    checkpoint_sha256: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)
    name: str = 'mmchest'
    version: str = __version__

    @classmethod
    def from_files(cls,
                   config: PathLike,
                   checkpoint: Optional[PathLike] = None,
                   extra: Optional[Dict[str, str]] = None) -> 'AlgorithmInfo':
        """Hash a config file (and checkpoint) into an :class:`AlgorithmInfo`.

        Args:
            config (str | os.PathLike): the config file.
            checkpoint (str | os.PathLike, optional): the checkpoint; None for an untrained
                model. Defaults to None.
            extra (dict[str, str], optional): further parameters. Defaults to None.

        Returns:
            AlgorithmInfo: the identification.
        """
        config = os.fspath(config)
        return cls(
            model_name=osp.splitext(osp.basename(config))[0],
            config_name=osp.basename(config),
            config_sha256=sha256_file(config),
            checkpoint_name=None if checkpoint is None else osp.basename(os.fspath(checkpoint)),
            checkpoint_sha256=None if checkpoint is None else sha256_file(checkpoint),
            extra={str(k): str(v) for k, v in (extra or {}).items()})

    @property
    def parameters(self) -> Dict[str, str]:
        """dict[str, str]: the Algorithm Parameters, in a fixed order."""
        params = {
            'config': self.config_name,
            'config_sha256': self.config_sha256,
            'checkpoint': self.checkpoint_name or 'none',
            'checkpoint_sha256': self.checkpoint_sha256 or 'none',
        }
        params.update(self.extra)
        return params

    @property
    def serial_number(self) -> str:
        """str: Device Serial Number: the first 16 hex digits of the checkpoint's SHA-256
        (``'untrained'`` without a checkpoint), so two weights files never share one."""
        return self.checkpoint_sha256[:16] if self.checkpoint_sha256 else 'untrained'

    @property
    def device_uid(self) -> str:
        """str: a UID for the model as an SR observer device (``2.25.<int>`` of the first 128
        bits of the checkpoint's, or else the config's, SHA-256; stable for the same files)."""
        digest = self.checkpoint_sha256 or self.config_sha256
        return f'2.25.{int(digest[:32], 16)}'


def read_source_header(source: Union[PathLike, Dataset]) -> Dataset:
    """The header of the DICOM image a SEG/SR will reference (pixel data not read).

    Args:
        source (str | os.PathLike | pydicom.Dataset): the DICOM file, or its data set.

    Returns:
        pydicom.Dataset: the header.

    Raises:
        DerivedObjectError: when the file is not DICOM, or lacks an attribute a reference
            needs (SOP Class/Instance, Study/Series Instance UIDs, Rows, Columns).
    """
    if isinstance(source, Dataset):
        ds = source
    else:
        try:
            ds = dcmread(os.fspath(source), stop_before_pixels=True)
        except (InvalidDicomError, EOFError) as err:
            raise DerivedObjectError(
                'not a DICOM file: a DICOM SEG/SR output references a DICOM source image '
                f'({type(err).__name__})') from None
    missing = [kw for kw in _REQUIRED if not str(ds.get(kw, '') or '').strip()]
    if missing:
        raise DerivedObjectError(
            f'the DICOM source lacks {", ".join(missing)}: a derived object cannot reference it')
    if int(ds.get('NumberOfFrames', 1) or 1) != 1:
        raise DerivedObjectError(
            f'the DICOM source has {ds.NumberOfFrames} frames: only single-frame radiographs '
            'are supported')
    return ds


def dciodvfy(path: PathLike, executable: str = 'dciodvfy',
             timeout: float = 60.0) -> Tuple[List[str], List[str]]:
    """Check a DICOM file against its IOD with dicom3tools' ``dciodvfy`` (David Clunie).

    Args:
        path (str | os.PathLike): the file.
        executable (str): the program (Debian package ``dicom3tools``). Defaults to 'dciodvfy'.
        timeout (float): seconds before giving up. Defaults to 60.

    Returns:
        tuple[list[str], list[str]]: the lines starting with ``Error`` and with ``Warning``.

    Raises:
        FileNotFoundError: when the program is not installed.
    """
    proc = subprocess.run([executable, os.fspath(path)], check=False, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors='replace',
                          timeout=timeout)
    lines = [line.strip() for line in proc.stdout.splitlines()]
    return ([line for line in lines if line.startswith('Error')],
            [line for line in lines if line.startswith('Warning')])
