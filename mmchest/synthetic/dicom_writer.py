"""Writers of synthetic DICOM files: Kaggle-style chest X-rays, raw test files, a deflate bomb.

Pure module (numpy, pydicom and simplejpeg; no OpenMMLab imports).

* :func:`write_dicom`: what SIIM-ACR and RSNA ship (8-bit JPEG Baseline by default, 12/16-bit,
  MONOCHROME1, rescale tags); deterministic: the same image and arguments give the same bytes.
* :func:`dicom_dataset` + :func:`save_dicom`: a minimal Secondary Capture data set holding an
  array's values exactly as given (8/16-bit, signed, RGB, several frames, any transfer syntax
  or pre-encoded frames, any extra tags), saved with or without file meta. For tests and
  benchmarks of readers: they may edit the data set before saving it.
* :func:`write_deflate_bomb`: a tiny file that inflates to gigabytes.
"""
from __future__ import annotations

import os
import os.path as osp
import zlib
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
import pydicom
import simplejpeg
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage,
                         generate_uid)

from .seeding import PathLike, synthetic_uid

__all__ = ['write_dicom', 'dicom_dataset', 'save_dicom', 'write_deflate_bomb']

_SYNTHETIC_NAME = 'anon^synthetic'


def write_dicom(path: PathLike,
                image: np.ndarray,
                *,
                sop_instance_uid: Optional[str] = None,
                study_instance_uid: Optional[str] = None,
                series_instance_uid: Optional[str] = None,
                patient_id: str = 'anon-synthetic',
                patient_name: str = _SYNTHETIC_NAME,
                patient_sex: str = 'M',
                patient_age: str = '045Y',
                view_position: str = 'PA',
                modality: str = 'CR',
                pixel_spacing: Tuple[float, float] = (0.168, 0.168),
                photometric: str = 'MONOCHROME2',
                compressed: bool = True,
                bits_stored: int = 8,
                rescale_slope: Optional[float] = None,
                rescale_intercept: Optional[float] = None,
                quality: int = 95) -> Dataset:
    """Write a greyscale image as a Kaggle-style chest X-ray DICOM file.

    The default is what SIIM-ACR and RSNA ship: Secondary Capture, Modality CR, 8-bit
    MONOCHROME2, JPEG Baseline (1.2.840.10008.1.2.4.50) encoded with libjpeg-turbo, identifiers
    present (here synthetic) so that readers can be tested for hiding them.

    Stored values: ``image`` is what a viewer should show (bright = dense). With
    ``bits_stored`` 12 or 16 it is scaled to ``0..2**bits_stored - 1``; with ``'MONOCHROME1'``
    it is then inverted (``max - value``) so an inverting reader gets the image back.
    RescaleSlope / RescaleIntercept are written as given and do not change the stored values
    (modality values = slope * stored + intercept).

    Args:
        path (str | os.PathLike): output file; parent folders are created.
        image (np.ndarray): uint8 (H, W) image.
        sop_instance_uid (str, optional): SOPInstanceUID; derived from the file name if None.
        study_instance_uid (str, optional): StudyInstanceUID; derived likewise if None.
        series_instance_uid (str, optional): SeriesInstanceUID; derived likewise if None.
        patient_id (str): PatientID. Defaults to 'anon-synthetic'.
        patient_name (str): PatientName. Defaults to 'anon^synthetic'.
        patient_sex (str): 'M' or 'F'. Defaults to 'M'.
        patient_age (str): DICOM age string, e.g. '045Y'. Defaults to '045Y'.
        view_position (str): 'PA' or 'AP' (or 'LL' for laterals). Defaults to 'PA'.
        modality (str): 'CR' or 'DX'. Defaults to 'CR'.
        pixel_spacing (tuple[float, float]): row, column spacing in mm.
            Defaults to (0.168, 0.168).
        photometric (str): 'MONOCHROME2' or 'MONOCHROME1'. Defaults to 'MONOCHROME2'.
        compressed (bool): JPEG Baseline if True, else uncompressed Explicit VR Little Endian.
            Defaults to True.
        bits_stored (int): 8, 12 or 16; above 8 needs ``compressed=False`` (JPEG Baseline is
            8-bit only) and stores 16-bit words. Defaults to 8.
        rescale_slope (float, optional): RescaleSlope tag. Defaults to None (absent).
        rescale_intercept (float, optional): RescaleIntercept tag. Defaults to None (absent).
        quality (int): JPEG quality. Defaults to 95.

    Returns:
        pydicom.Dataset: the data set as written.

    Raises:
        ValueError: on a non-uint8 or non-2-D image or an unsupported option combination.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f'image must be a 2-D uint8 array, got {image.dtype} {image.shape}')
    if photometric not in ('MONOCHROME1', 'MONOCHROME2'):
        raise ValueError(f"photometric must be 'MONOCHROME1' or 'MONOCHROME2', got {photometric!r}")
    if bits_stored not in (8, 12, 16):
        raise ValueError(f'bits_stored must be 8, 12 or 16, got {bits_stored}')
    if compressed and bits_stored != 8:
        raise ValueError('JPEG Baseline is 8-bit only: use compressed=False for bits_stored > 8')
    if modality not in ('CR', 'DX'):
        raise ValueError(f"modality must be 'CR' or 'DX', got {modality!r}")
    path = os.fspath(path)
    name = osp.basename(path)

    max_value = 2**bits_stored - 1
    if bits_stored == 8:
        stored = image.copy()
    else:
        stored = np.round(image.astype(np.float64) * (max_value / 255.0)).astype(np.uint16)
    if photometric == 'MONOCHROME1':
        stored = (max_value - stored).astype(stored.dtype)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid or synthetic_uid('file', name, 'sop')
    meta.TransferSyntaxUID = JPEGBaseline8Bit if compressed else ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = '19010101'
    ds.StudyTime = '000000.00'
    ds.AccessionNumber = ''
    ds.Modality = modality
    ds.ConversionType = 'WSD'
    ds.ReferringPhysicianName = ''
    ds.SeriesDescription = f'view: {view_position}'
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ''
    ds.PatientSex = patient_sex
    ds.PatientAge = patient_age
    ds.BodyPartExamined = 'CHEST'
    ds.ViewPosition = view_position
    ds.StudyInstanceUID = study_instance_uid or synthetic_uid('file', name, 'study')
    ds.SeriesInstanceUID = series_instance_uid or synthetic_uid('file', name, 'series')
    ds.StudyID = ''
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ''
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = image.shape
    ds.PixelSpacing = [f'{pixel_spacing[0]:.6g}', f'{pixel_spacing[1]:.6g}']
    ds.BitsAllocated = 8 if bits_stored == 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if rescale_slope is not None or rescale_intercept is not None:
        ds.RescaleIntercept = f'{0.0 if rescale_intercept is None else rescale_intercept:g}'
        ds.RescaleSlope = f'{1.0 if rescale_slope is None else rescale_slope:g}'
        ds.RescaleType = 'US'
    if compressed:
        frame = _encode_jpeg(stored, quality)
        ds.LossyImageCompression = '01'
        ds.LossyImageCompressionRatio = f'{stored.nbytes / len(frame):.2f}'
        ds.LossyImageCompressionMethod = 'ISO_10918_1'
        ds.PixelData = encapsulate([frame])
        ds['PixelData'].VR = 'OB'
    else:
        ds.PixelData = stored.astype('<u2' if bits_stored > 8 else np.uint8).tobytes()
        ds['PixelData'].VR = 'OW' if bits_stored > 8 else 'OB'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return ds


def _write_tagged_dicom(path: PathLike, image: np.ndarray, tags: Mapping[str, str],
                        pixel_spacing: Tuple[float, float]) -> Dataset:
    """:func:`write_dicom` with the UIDs, patient and view of a layout case's ``tags``."""
    return write_dicom(path, image, sop_instance_uid=tags['SOPInstanceUID'],
                       study_instance_uid=tags['StudyInstanceUID'],
                       series_instance_uid=tags['SeriesInstanceUID'],
                       patient_id=tags['PatientID'], patient_sex=tags['PatientSex'],
                       patient_age=tags['PatientAge'], view_position=tags['ViewPosition'],
                       pixel_spacing=pixel_spacing)


def _encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """Greyscale JPEG Baseline with libjpeg-turbo."""
    return simplejpeg.encode_jpeg(np.ascontiguousarray(image[..., None]), quality=quality,
                                  colorspace='GRAY')


def _jpeg_pixels(image: np.ndarray, quality: int = 95) -> np.ndarray:
    """What a reader decodes from :func:`write_dicom`'s default JPEG frame."""
    return simplejpeg.decode_jpeg(_encode_jpeg(image, quality), colorspace='GRAY')[..., 0]


def dicom_dataset(pixels: np.ndarray,
                  transfer_syntax: str = ExplicitVRLittleEndian,
                  *,
                  bits_stored: Optional[int] = None,
                  photometric: Optional[str] = None,
                  signed: bool = False,
                  frames: int = 1,
                  encoded_frames: Optional[Sequence[bytes]] = None,
                  sop_instance_uid: Optional[str] = None,
                  **tags) -> Dataset:
    """A minimal Secondary Capture data set holding ``pixels`` as stored values.

    Nothing is scaled, inverted or encoded: ``PixelData`` is ``pixels.tobytes()`` (so a
    ``'>u2'`` array gives big-endian words for Explicit VR Big Endian), ``BitsAllocated`` is
    the item size, and ``transfer_syntax`` is only declared; pass ``encoded_frames`` to store
    compressed frames (encapsulated, VR OB) instead.

    Args:
        pixels (np.ndarray): ``(H, W)`` greyscale, ``(H, W, 3)`` colour (``frames=1``) or
            ``(F, H, W)`` frames; uint8, uint16 or int16 (any byte order).
        transfer_syntax (str): TransferSyntaxUID. Defaults to Explicit VR Little Endian.
        bits_stored (int, optional): BitsStored (HighBit = BitsStored - 1). Defaults to the
            item size in bits.
        photometric (str, optional): PhotometricInterpretation. Defaults to 'RGB' for colour,
            else 'MONOCHROME2'.
        signed (bool): PixelRepresentation 1. Defaults to False.
        frames (int): NumberOfFrames (written when > 1). Defaults to 1.
        encoded_frames (Sequence[bytes], optional): Compressed frames to store instead of
            the raw values. Defaults to None.
        sop_instance_uid (str, optional): SOPInstanceUID. Defaults to a new random UID.
        **tags: Further elements by keyword (e.g. ``RescaleSlope='2'``, ``PatientID=...``).

    Returns:
        pydicom.Dataset: The data set, with its file meta.
    """
    arr = np.asarray(pixels)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = transfer_syntax
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid or generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    color = arr.ndim == 3 and frames == 1
    ds.Rows, ds.Columns = arr.shape[-3:-1] if color else arr.shape[-2:]
    ds.SamplesPerPixel = 3 if color else 1
    ds.PhotometricInterpretation = photometric or ('RGB' if color else 'MONOCHROME2')
    if color:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(signed)
    if encoded_frames is None:
        ds.PixelData = arr.tobytes()
    else:
        ds.PixelData = encapsulate(list(encoded_frames))
        ds['PixelData'].VR = 'OB'
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


def save_dicom(ds: Dataset, path: PathLike, *, file_meta: bool = True,
               implicit_vr: bool = False) -> str:
    """Save a data set (e.g. from :func:`dicom_dataset`), creating parent folders.

    Args:
        ds (pydicom.Dataset): The data set.
        path (str | os.PathLike): Output file.
        file_meta (bool): Write a DICOM file (preamble, ``DICM``, file meta). False writes
            the bare data set, little endian, as old or broken writers do (``ds.file_meta``
            is removed). Defaults to True.
        implicit_vr (bool): Encoding of a bare data set. Defaults to False.

    Returns:
        str: ``path``.
    """
    path = os.fspath(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if file_meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        if hasattr(ds, 'file_meta'):
            del ds.file_meta
        pydicom.dcmwrite(path, ds, implicit_vr=implicit_vr, little_endian=True)
    return path


def write_deflate_bomb(path: PathLike,
                       rows: int = 20000,
                       columns: int = 20000,
                       *,
                       pixel_rows: Optional[int] = None) -> int:
    """Write a Deflated Explicit VR Little Endian DICOM whose pixels inflate to a huge size.

    The data set is deflated as it is generated, so writing it needs no memory: a 20000 x 20000
    8-bit image of zeros (400 MB of pixel data) is a file of about 390 KB. Used to test that
    readers check the pixel budget before inflating or decoding.

    Args:
        path (str | os.PathLike): Output file; parent folders are created.
        rows (int): Rows declared in the header. Defaults to 20000.
        columns (int): Columns declared in the header. Defaults to 20000.
        pixel_rows (int, optional): Rows of pixel data actually written (a header that lies
            about its size when different from ``rows``). Defaults to ``rows``.

    Returns:
        int: The size of the written file in bytes.
    """
    pixel_rows = rows if pixel_rows is None else pixel_rows
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = synthetic_uid('bomb', rows, columns)
    ds.Modality = 'OT'
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    header = pydicom.filebase.DicomBytesIO()
    header.is_implicit_VR, header.is_little_endian = False, True
    pydicom.filewriter.write_dataset(header, ds)
    nbytes = pixel_rows * columns
    header.write(b'\xe0\x7f\x10\x00OB\x00\x00' + int(nbytes + nbytes % 2).to_bytes(4, 'little'))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = '1.2.840.10008.1.2.1.99'  # Deflated Explicit VR Little Endian
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    with open(path, 'wb') as f:
        f.write(b'\x00' * 128 + b'DICM')
        pydicom.filewriter.write_file_meta_info(f, meta, enforce_standard=True)
        f.write(deflater.compress(header.getvalue()))
        zeros, left = bytes(1 << 20), nbytes + nbytes % 2
        while left:
            chunk = min(left, len(zeros))
            f.write(deflater.compress(zeros[:chunk]))
            left -= chunk
        f.write(deflater.flush())
        return f.tell()
