"""Read one DICOM file into a numpy array plus identifier-free metadata.

Pure module: pydicom, numpy, simplejpeg and cv2 only; no registry, no OpenMMLab imports.
The ``LoadDicomImageFromFile`` transform and the command-line tools call these functions.

DICOM pixel pipeline (PS3.3 C.7.6.3 / C.11): stored values -> modality LUT (Rescale Slope /
Intercept or Modality LUT Sequence) -> optional VOI LUT (Window Center / Width or VOI LUT
Sequence) -> presentation (MONOCHROME1 = low values shown white, so it is inverted here).

Decoding: JPEG Baseline (1.2.840.10008.1.2.4.50) 8-bit frames, which is what the SIIM-ACR and
RSNA Kaggle sets ship, are decoded directly with libjpeg-turbo (``simplejpeg``), about 5x faster
than pydicom's generic path; every other transfer syntax (and any frame simplejpeg refuses)
goes through ``pydicom.pixels.pixel_array``, which picks an installed plugin (pillow,
pylibjpeg, pyjpegls, RLE, native). Each file is read from disk and parsed once.

Privacy: returned metadata is built from an allow-list of non-identifying tags, string tags
are read from their raw bytes (so pydicom never validates, warns about or logs their values),
and error messages are scrubbed of the file's PatientName / PatientID values.
"""
from __future__ import annotations

import io
import os
import re
import warnings
import zlib
from typing import Any, Literal, NamedTuple

import cv2
import numpy as np
import pydicom
import simplejpeg
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import get_frame
from pydicom.errors import InvalidDicomError
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.pixels import (apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder,
                            pixel_array)
from pydicom.uid import (UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit)

from mmchest.io.display import (apply_lut, apply_window, lut_domain, percentile_window,
                                weighted_percentiles)

__all__ = [
    'DicomReadError', 'DicomTooLargeError', 'read_dicom', 'read_dicom_header', 'read_dicom_meta',
    'decode_dicom', 'has_dicom_prefix',
    'check_options', 'normalize', 'parse_age', 'is_color', 'pixel_count', 'check_pixel_budget',
    'check_dicom_budget', 'raw_text', 'int_tag', 'missing_decoder',
    'NORM_MODES', 'META_KEYS', 'MAX_AGE_YEARS', 'DEFAULT_MAX_PIXELS'
]

NormMode = Literal['auto', 'none', 'minmax', 'percentile', 'window']
#: Accepted values of ``norm``; ``'auto'`` (the default) shows the image as a viewer does.
NORM_MODES: tuple[str, ...] = ('auto', 'none', 'minmax', 'percentile', 'window')
#: Keys of the metadata dict returned by :func:`read_dicom` / :func:`read_dicom_meta`.
META_KEYS: tuple[str, ...] = ('ViewPosition', 'PatientSex', 'PatientAge', 'PixelSpacing',
                              'Rows', 'Columns', 'Modality', 'PhotometricInterpretation',
                              'BitsStored', 'SamplesPerPixel', 'TransferSyntaxUID')
#: Ages above this many years are treated as data-entry errors and reported as ``None``.
MAX_AGE_YEARS: int = 125
#: Default pixel budget (Rows x Columns x frames x samples) checked from the header before
#: any decoding: 8192 x 8192, above the largest radiographs (full-field mammograms are about
#: 4096 x 5600, 43 x 43 cm DR detectors about 4300 x 4300). A decompression bomb (e.g. a
#: 390 KB deflated 20000 x 20000 file) is refused before a byte of its pixels is inflated.
DEFAULT_MAX_PIXELS: int = 8192 * 8192
# A deflated data set's header is inflated in chunks of this size (doubling) up to the cap.
_HEADER_CHUNK = 1 << 20
_MAX_HEADER_BYTES = 64 << 20
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})

_PIXEL_KEYWORDS = ('PixelData', 'FloatPixelData', 'DoubleFloatPixelData')
# Groups that a real DICOM data set almost always starts with; a forced parse of a
# non-DICOM file yields one or two junk elements outside these groups.
_DICOM_GROUPS = frozenset({0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x7FE0})
_COLOR_PHOTOMETRICS = frozenset({'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT',
                                 'YBR_PARTIAL_420', 'YBR_PARTIAL_422'})
_AGE_RE = re.compile(r'^(\d{1,4})([DWMY]?)$', re.IGNORECASE)
_AGE_DIVISOR = {'': 1, 'Y': 1, 'M': 12, 'W': 52, 'D': 365}
_ENCODING_TO_TSYNTAX = {
    (True, True): ImplicitVRLittleEndian,
    (False, True): ExplicitVRLittleEndian,
    (False, False): ExplicitVRBigEndian,
}


class DicomReadError(ValueError):
    """A DICOM file could not be read, parsed or decoded.

    The message names the file and the cause; it never contains patient identifiers.

    Args:
        path (str | os.PathLike): The file that failed.
        reason (str): What was wrong.

    Attributes:
        path (str): The file that failed.
        reason (str): What was wrong.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = (os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike))
                     else repr(path))
        self.reason = reason
        super().__init__(f'{self.path}: {reason}')


class DicomTooLargeError(DicomReadError):
    """The header declares more pixels than the pixel budget (``max_pixels``) allows.

    Raised before any pixel data is decoded or inflated; a server answers it with 413.
    """


# --------------------------------------------------------------------------- helpers (pure)
def parse_age(value: str | bytes | None) -> int | None:
    """Parse a DICOM Age String (VR AS) into whole years.

    DICOM AS is ``nnnD``/``nnnW``/``nnnM``/``nnnY`` (e.g. '058Y'); bare numbers such as '58'
    (as in the RSNA Kaggle files) are read as years. Days, weeks and months are floored to
    whole years ('006M' -> 0, '018M' -> 1, '400D' -> 1).

    Args:
        value (str | bytes | None): The raw PatientAge value.

    Returns:
        int | None: Age in years, or None if empty, unparseable, negative or above
        :data:`MAX_AGE_YEARS` (e.g. '412Y').
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode('ascii', 'replace')
    match = _AGE_RE.match(str(value).strip(' \x00'))
    if match is None:
        return None
    years = int(match.group(1)) // _AGE_DIVISOR[match.group(2).upper()]
    return years if years <= MAX_AGE_YEARS else None


def normalize(arr: np.ndarray,
              mode: NormMode,
              *,
              window: tuple[float, float] | None = None,
              percentiles: tuple[float, float] = (0.5, 99.5)) -> np.ndarray:
    """Map intensities to the 0..255 display range.

    ``'auto'`` is not an array mode: it needs the DICOM header (see :func:`read_dicom`).

    - ``'none'``: ``arr`` returned unchanged.
    - ``'minmax'``: the multi-expert pneumonia dataset authors' recipe,
      ``img / img.max() * 255``, clipped to [0, 255] (negative values -> 0);
      ``img.max() <= 0`` -> all zeros. Note: divides by the maximum only, the minimum is
      not subtracted.
    - ``'percentile'``: clip to the ``percentiles`` (p_low, p_high) percentiles and scale
      that interval linearly to [0, 255]; a constant image -> all zeros.
    - ``'window'``: linear window ``[center - width / 2, center + width / 2]`` -> [0, 255],
      clipped outside (the plain form, not the DICOM LINEAR ``c - 0.5`` / ``w - 1`` variant).

    Args:
        arr (np.ndarray): Intensities (any real dtype, any shape).
        mode (str): One of :data:`NORM_MODES`.
        window (tuple[float, float], optional): ``(center, width)``, required for
            ``'window'``; width must be > 0. Defaults to None.
        percentiles (tuple[float, float]): ``(p_low, p_high)`` with
            ``0 <= p_low < p_high <= 100``, used by ``'percentile'``. Defaults to (0.5, 99.5).

    Returns:
        np.ndarray: ``arr`` itself for ``'none'``, else float64 values in [0, 255]
        (not quantised).

    Raises:
        ValueError: Unknown mode, missing/invalid window or invalid percentiles.
    """
    if mode == 'none':
        return arr
    if mode == 'auto':
        raise ValueError("norm='auto' reads the DICOM header (VOI LUT, window, photometric "
                         'interpretation); use read_dicom/decode_dicom, not normalize()')
    if mode == 'minmax':
        img = arr.astype(np.float64)
        peak = float(img.max()) if img.size else 0.0
        if not peak > 0:
            return np.zeros(arr.shape, np.float64)
        return np.clip(img / peak * 255, 0, 255)
    if mode == 'percentile':
        p_low, p_high = _check_percentiles(percentiles)
        img = arr.astype(np.float64)
        if img.size == 0:
            return img
        lo, hi = np.percentile(img, (p_low, p_high))
        if not hi > lo:
            return np.zeros(arr.shape, np.float64)
        return (np.clip(img, lo, hi) - lo) / (hi - lo) * 255
    if mode == 'window':
        center, width = _check_window(window)
        lo = center - width / 2
        return np.clip((arr.astype(np.float64) - lo) / width * 255, 0, 255)
    raise ValueError(f'norm must be one of {NORM_MODES}, got {mode!r}')


def _check_percentiles(percentiles: Any) -> tuple[float, float]:
    try:
        p_low, p_high = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise ValueError(f'percentiles must be (p_low, p_high), got {percentiles!r}') from None
    if not 0 <= p_low < p_high <= 100:
        raise ValueError(f'percentiles must satisfy 0 <= p_low < p_high <= 100, '
                         f'got {percentiles!r}')
    return p_low, p_high


def _check_window(window: Any) -> tuple[float, float]:
    try:
        center, width = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f'window must be (center, width), got {window!r}') from None
    if not (np.isfinite(center) and np.isfinite(width) and width > 0):
        raise ValueError(f'window width must be > 0 and finite, got {window!r}')
    return center, width


def check_options(*,
                  norm: str = 'auto',
                  window: Any = None,
                  percentiles: Any = (0.5, 99.5),
                  voi_lut: bool = False,
                  dtype: str = 'uint8',
                  channels: int = 1,
                  frame: str = 'first',
                  max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Validate :func:`read_dicom` options without touching a file.

    Args:
        norm, window, percentiles, voi_lut, dtype, channels, frame, max_pixels: As in
            :func:`read_dicom`.

    Raises:
        ValueError: The first invalid option.
    """
    if norm not in NORM_MODES:
        raise ValueError(f'norm must be one of {NORM_MODES}, got {norm!r}')
    if window is not None:
        _check_window(window)
    _check_percentiles(percentiles)
    if dtype not in ('uint8', 'float32'):
        raise ValueError(f"dtype must be 'uint8' or 'float32', got {dtype!r}")
    if channels not in (1, 3):
        raise ValueError(f'channels must be 1 or 3, got {channels!r}')
    if frame not in ('first', 'error'):
        raise ValueError(f"frame must be 'first' or 'error', got {frame!r}")
    if voi_lut and norm == 'window':
        raise ValueError("voi_lut=True cannot be combined with norm='window'")
    if max_pixels is not None and (isinstance(max_pixels, bool)
                                   or not isinstance(max_pixels, int) or max_pixels < 1):
        raise ValueError(f'max_pixels must be a positive integer or None, got {max_pixels!r}')


# --------------------------------------------------------------------------- parsing
def _read_bytes(path: str | os.PathLike) -> bytes:
    """The whole file, or DicomReadError naming it."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise DicomReadError(path, 'file not found') from None
    except IsADirectoryError:
        raise DicomReadError(path, 'is a directory, not a file') from None
    except (OSError, TypeError, ValueError) as exc:
        raise DicomReadError(path, f'cannot read file ({type(exc).__name__}: '
                             f'{getattr(exc, "strerror", None) or exc})') from None


class _Parsed(NamedTuple):
    """A data set parsed up to (not including) its pixel data, plus where that starts."""

    ds: Dataset
    buf: bytes
    # Byte offset of the pixel data element in ``buf``; None if the file has none;
    # -1 if unknown (deflated transfer syntax: the parser read an inflated copy).
    pixel_offset: int | None


def _parse(buf: bytes, name: str | os.PathLike, max_pixels: int | None = None,
           header_only: bool = False) -> _Parsed:
    """Parse the header once, stopping before the pixel data.

    Falls back to a forced parse for data sets without file meta. The pixel data is
    read later, either directly (JPEG Baseline fast path) or by :func:`_complete`, which
    continues from the same position, so no byte is parsed twice. A deflated data set is
    inflated by :func:`_parse_deflated`, in bounded steps.
    """
    if not buf:
        raise DicomReadError(name, 'empty file')
    deflated = _parse_deflated(buf, name, max_pixels, header_only)
    if deflated is not None:
        return deflated
    fp = io.BytesIO(buf)
    try:
        ds = pydicom.dcmread(fp, stop_before_pixels=True)
    except InvalidDicomError:
        # No 128-byte preamble + 'DICM': either a bare data set without file meta
        # (older writers, ACR-NEMA style) or not DICOM at all.
        fp = io.BytesIO(buf)
        try:
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not DICOM"
            raise DicomReadError(name, f'not a DICOM file (no DICM prefix; forced parse '
                                 f'failed with {type(exc).__name__})') from None
        if not any(tag.group in _DICOM_GROUPS for tag in ds.keys()):
            raise DicomReadError(name, 'not a DICOM file (no DICM prefix and no '
                                 'recognisable DICOM elements)')
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt header
        raise DicomReadError(name, f'cannot parse DICOM header ({type(exc).__name__}: '
                             f'{_scrub(str(exc), None)})') from None
    _ensure_transfer_syntax(ds)
    offset = fp.tell() if fp.tell() + 8 <= len(buf) else None
    return _Parsed(ds, buf, offset)


def _parse_deflated(buf: bytes, name: str | os.PathLike, max_pixels: int | None,
                    header_only: bool) -> _Parsed | None:
    """Parse a Deflated Explicit VR Little Endian file without inflating it whole first.

    pydicom inflates the whole data set before parsing it, so a small file can expand to
    gigabytes. Here the header is inflated in growing chunks until the parse reaches the
    pixel data; the pixel budget is checked from that header; only then is the rest
    inflated, at most as many bytes as the header declares (plus 1 MiB for trailing
    elements). The returned buffer is the inflated data set (explicit VR little endian).

    Returns:
        _Parsed | None: None if ``buf`` is not a deflated Part 10 file.
    """
    fp = io.BytesIO(buf)
    try:
        if read_preamble(fp, False) is None:
            return None
        file_meta = _read_file_meta_info(fp)
    except Exception:  # noqa: BLE001 - not a Part 10 file: the normal parse decides
        return None
    if file_meta.get('TransferSyntaxUID') != DeflatedExplicitVRLittleEndian:
        return None
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    tail, data, limit = buf[fp.tell():], b'', _HEADER_CHUNK
    while True:
        try:
            data += inflater.decompress(tail, limit - len(data))
        except zlib.error as exc:
            raise DicomReadError(name, f'corrupt deflated data set ({exc})') from None
        tail = inflater.unconsumed_tail
        finished = not tail and len(data) < limit
        ds, pos = _parse_header_bytes(data)
        if ds is not None and (data[pos:pos + 2] == b'\xe0\x7f' or finished):
            break
        if finished or limit >= _MAX_HEADER_BYTES:
            raise DicomReadError(name, 'cannot parse the deflated data set header')
        limit *= 2
    ds.file_meta = file_meta
    has_pixels = data[pos:pos + 2] == b'\xe0\x7f'
    if header_only or not has_pixels:
        return _Parsed(ds, data, pos if has_pixels and not header_only else None)
    ints = _int_tags(ds)
    check_pixel_budget(name, ints, max_pixels)
    bits = ints['BitsAllocated'] or 16
    declared = (pixel_count(ints) * bits + 7) // 8
    try:
        data += inflater.decompress(tail, pos + declared + (1 << 20) - len(data))
    except zlib.error as exc:
        raise DicomReadError(name, f'corrupt deflated data set ({exc})') from None
    if inflater.unconsumed_tail:
        raise DicomReadError(name, f'deflated data set inflates to more than the {declared:,} '
                             'pixel bytes its header declares (decompression bomb?)')
    return _Parsed(ds, data, pos)


def _parse_header_bytes(data: bytes) -> tuple[Dataset | None, int]:
    """Explicit VR little endian elements of ``data`` up to the pixel data, and where it is."""
    fp = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            ds = read_dataset(fp, False, True,
                              stop_when=lambda tag, vr, length: tag in _PIXEL_TAGS)
    except Exception:  # noqa: BLE001 - an element cut by the chunk end: inflate more
        return None, 0
    return ds, fp.tell()


def pixel_count(ints: dict[str, int | None]) -> int:
    """Rows x Columns x frames x samples from the integer Image Pixel tags.

    Args:
        ints (dict): ``Rows``, ``Columns``, ``NumberOfFrames``, ``SamplesPerPixel``
            (absent values count as 0 rows/columns, 1 frame, 1 sample).

    Returns:
        int: The number of stored samples the pixel data holds.
    """
    return ((ints.get('Rows') or 0) * (ints.get('Columns') or 0)
            * (ints.get('NumberOfFrames') or 1) * (ints.get('SamplesPerPixel') or 1))


def check_pixel_budget(name: str | os.PathLike, ints: dict[str, int | None],
                       max_pixels: int | None) -> None:
    """Raise DicomTooLargeError if the header declares more than ``max_pixels`` samples."""
    if max_pixels is None:
        return
    count = pixel_count(ints)
    if count > max_pixels:
        raise DicomTooLargeError(
            name, f"image too large: {ints.get('Rows')} x {ints.get('Columns')} pixels x "
            f"{ints.get('NumberOfFrames') or 1} frame(s) x {ints.get('SamplesPerPixel') or 1} "
            f'sample(s) = {count:,} exceeds the pixel budget of {max_pixels:,} '
            '(max_pixels; raise it to read this file)')


def _complete(parsed: _Parsed) -> Dataset:
    """Add the pixel data (and any trailing elements) to the header-only data set."""
    ds, buf, offset = parsed
    if offset is None or any(kw in ds for kw in _PIXEL_KEYWORDS):
        return ds
    fp = io.BytesIO(buf)
    fp.seek(offset)
    implicit, little = ds.original_encoding
    rest = read_dataset(fp, bool(implicit), bool(little))
    for elem in rest.elements():
        ds[elem.tag] = elem
    return ds


def _jpeg_frame(parsed: _Parsed, n_frames: int) -> bytes | memoryview | None:
    """Frame 0 of encapsulated Pixel Data, read straight from the file bytes."""
    ds, buf, offset = parsed
    if offset is None or offset < 0 or buf[offset:offset + 4] != b'\xe0\x7f\x10\x00':
        return None  # encapsulated syntaxes are little endian: (7FE0,0010) as above
    if ds.original_encoding[0]:  # implicit VR: tag, 4-byte length
        length, start = buf[offset + 4:offset + 8], offset + 8
    else:  # explicit VR: tag, 'OB', 2 reserved bytes, 4-byte length
        length, start = buf[offset + 8:offset + 12], offset + 12
    if length != b'\xff\xff\xff\xff':
        return None  # not encapsulated
    # Common case (single frame in a single fragment, as Kaggle files): the frame is one
    # contiguous slice of ``buf``; a memoryview avoids copying it.
    item, delimiter = b'\xfe\xff\x00\xe0', b'\xfe\xff\xdd\xe0'
    if n_frames == 1 and buf[start:start + 4] == item:
        frag = start + 8 + int.from_bytes(buf[start + 4:start + 8], 'little')  # skip BOT
        if buf[frag:frag + 4] == item:
            end = frag + 8 + int.from_bytes(buf[frag + 4:frag + 8], 'little')
            if buf[end:end + 4] == delimiter:
                return memoryview(buf)[frag + 8:end]
    fp = io.BytesIO(buf)
    fp.seek(start)
    return get_frame(fp, 0, number_of_frames=n_frames)


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Give meta-less data sets the transfer syntax the parser detected."""
    if ds.file_meta is None:
        ds.file_meta = FileMetaDataset()
    if 'TransferSyntaxUID' not in ds.file_meta:
        tsyntax = _ENCODING_TO_TSYNTAX.get(tuple(ds.original_encoding))
        if tsyntax is not None:
            ds.file_meta.TransferSyntaxUID = tsyntax


def raw_text(ds: Dataset, keyword: str) -> str | None:
    """A string element's value from its raw bytes, without pydicom value conversion."""
    try:
        elem = ds.get_item(tag_for_keyword(keyword))
    except Exception:  # noqa: BLE001
        return None
    if elem is None or elem.value is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode('ascii', 'replace')
    elif isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        text = '\\'.join(str(v) for v in value)
    else:
        text = str(value)
    text = text.strip(' \x00')
    return text or None


def int_tag(ds: Dataset, keyword: str) -> int | None:
    """An integer element (VR US, or IS for NumberOfFrames); None if absent or invalid.

    Unconverted elements are decoded from their raw bytes: going through pydicom's
    value conversion costs more than the rest of the fast JPEG path's bookkeeping.
    """
    try:
        elem = ds.get_item(tag_for_keyword(keyword))
        if elem is None or elem.value is None:
            return None
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            if keyword == 'NumberOfFrames':  # IS: decimal string
                text = bytes(value).decode('ascii').strip(' \x00')
                return int(text) if text else None
            if len(value) != 2:  # US: one unsigned 16-bit value
                return None
            little = ds.original_encoding[1] is not False
            return int.from_bytes(value, 'little' if little else 'big')
        if isinstance(value, str):
            return int(value) if value.strip() else None
        return int(value)
    except Exception:  # noqa: BLE001
        return None


_INT_KEYWORDS = ('Rows', 'Columns', 'SamplesPerPixel', 'BitsAllocated', 'BitsStored',
                 'PixelRepresentation', 'NumberOfFrames')


def _int_tags(ds: Dataset) -> dict[str, int | None]:
    """The integer Image Pixel tags, each read once."""
    return {keyword: int_tag(ds, keyword) for keyword in _INT_KEYWORDS}


def _float_tag(ds: Dataset, keyword: str, default: float) -> float:
    text = raw_text(ds, keyword)
    if text is None:
        return default
    try:
        value = float(text.split('\\')[0])
    except ValueError:
        return default
    return value if np.isfinite(value) else default


def _spacing(ds: Dataset) -> tuple[float, float] | None:
    text = raw_text(ds, 'PixelSpacing')
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split('\\'))
    except ValueError:
        return None
    if len(values) != 2 or not all(np.isfinite(v) and v > 0 for v in values):
        return None
    return values  # type: ignore[return-value]


def _scrub(message: str, ds: Dataset | None) -> str:
    """Remove the file's PatientName / PatientID values from an error message."""
    if ds is None:
        return message
    for keyword in ('PatientName', 'PatientID'):
        value = raw_text(ds, keyword)
        if value:
            for part in {value, *value.split('^')}:
                part = part.strip()
                if len(part) >= 2:
                    message = message.replace(part, '<redacted>')
    return message


def _meta(ds: Dataset, ints: dict[str, int | None]) -> dict[str, Any]:
    tsyntax = ds.file_meta.get('TransferSyntaxUID') if ds.file_meta is not None else None
    return {
        'ViewPosition': raw_text(ds, 'ViewPosition'),
        'PatientSex': raw_text(ds, 'PatientSex'),
        'PatientAge': parse_age(raw_text(ds, 'PatientAge')),
        'PixelSpacing': _spacing(ds),
        'Rows': ints['Rows'],
        'Columns': ints['Columns'],
        'Modality': raw_text(ds, 'Modality'),
        'PhotometricInterpretation': raw_text(ds, 'PhotometricInterpretation'),
        'BitsStored': ints['BitsStored'],
        'SamplesPerPixel': ints['SamplesPerPixel'],
        'TransferSyntaxUID': str(tsyntax) if tsyntax else None,
    }


# --------------------------------------------------------------------------- decoding
def _decode_jpeg_baseline(parsed: _Parsed, ints: dict[str, int | None], n_frames: int,
                          samples: int, photometric: str) -> np.ndarray | None:
    """libjpeg-turbo fast path for 8-bit JPEG Baseline; None means "use pydicom"."""
    if (ints['BitsAllocated'] != 8 or ints['BitsStored'] not in (8, None)
            or ints['PixelRepresentation'] not in (0, None)):
        return None
    if samples == 1:
        colorspace = 'GRAY'
    elif samples == 3 and photometric in ('YBR_FULL_422', 'YBR_FULL'):
        # The codestream is YCbCr; libjpeg converts to RGB as pydicom does. For
        # PhotometricInterpretation RGB the JPEG may lack a colour transform: leave it
        # to pydicom, which handles that case.
        colorspace = 'RGB'
    else:
        return None
    try:
        data = _jpeg_frame(parsed, n_frames)
        if data is None:
            return None
        height, width = simplejpeg.decode_jpeg_header(data)[:2]
        if (height, width) != (ints['Rows'], ints['Columns']):
            return None  # pydicom's decoders check the header's size themselves
        img = simplejpeg.decode_jpeg(data, colorspace=colorspace)
    except Exception:  # noqa: BLE001 - fall back to pydicom's plugins
        return None
    if img.shape != (ints['Rows'], ints['Columns'], samples):
        return None
    return img[..., 0] if samples == 1 else img


def _value_range(ints: dict[str, int | None], arr: np.ndarray) -> tuple[float, float]:
    """Representable stored-value range (BitsStored, PixelRepresentation)."""
    if arr.dtype.kind == 'f':
        return float(arr.min()), float(arr.max())
    bits = ints['BitsStored'] or arr.dtype.itemsize * 8
    bits = min(bits, arr.dtype.itemsize * 8)
    if arr.dtype.kind == 'i' or ints['PixelRepresentation'] == 1:
        return float(-(2**(bits - 1))), float(2**(bits - 1) - 1)
    return 0.0, float(2**bits - 1)


def _modality(ds: Dataset, ints: dict[str, int | None],
              arr: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Apply the modality LUT; return values and their representable range."""
    lo, hi = _value_range(ints, arr)
    if 'ModalityLUTSequence' in ds and ds.ModalityLUTSequence:
        ends = apply_modality_lut(np.array([lo, hi]).astype(arr.dtype), ds)
        lut = apply_modality_lut(arr, ds)
        return lut, float(ends.min()), float(ends.max())
    slope = _float_tag(ds, 'RescaleSlope', 1.0)
    intercept = _float_tag(ds, 'RescaleIntercept', 0.0)
    if slope == 1.0 and intercept == 0.0:
        return arr, lo, hi
    ends = np.array([lo, hi]) * slope + intercept
    return arr.astype(np.float64) * slope + intercept, float(ends.min()), float(ends.max())


def _voi(ds: Dataset, arr: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, float, float]:
    """Apply the file's VOI LUT Sequence or window (pydicom semantics)."""
    voi_seq = ds.get('VOILUTSequence') if 'VOILUTSequence' in ds else None
    if voi_seq:
        out = apply_voi_lut(arr, ds, index=0, prefer_lut=True)
        bits = int(voi_seq[0].LUTDescriptor[2])
        return out, 0.0, float(2**bits - 1)
    if 'WindowCenter' in ds and 'WindowWidth' in ds:
        # pydicom maps the window onto the modality output range [lo, hi].
        return apply_voi_lut(arr, ds, index=0, prefer_lut=True), lo, hi
    return arr, lo, hi


def _tag_window(ds: Dataset) -> tuple[float, float] | None:
    center = _float_tag(ds, 'WindowCenter', float('nan'))
    width = _float_tag(ds, 'WindowWidth', float('nan'))
    if not (np.isfinite(center) and np.isfinite(width) and width > 0):
        return None
    return center, width


def _fit_uint8(path: str | os.PathLike, values: np.ndarray, lo: float,
               hi: float) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    if lo < 0 or hi > 255:
        raise DicomReadError(
            path, f"value range [{lo:g}, {hi:g}] does not fit uint8 with norm='none'; "
            "use norm='minmax', 'percentile' or 'window', or dtype='float32'")
    if values.dtype.kind == 'f' and not np.array_equal(values, np.round(values)):
        raise DicomReadError(
            path, "non-integer values (rescale slope/intercept) cannot be stored as uint8 "
            "with norm='none'; use another norm or dtype='float32'")
    return values.astype(np.uint8)


# --------------------------------------------------------------------------- public API
def read_dicom_header(path: str | os.PathLike) -> Dataset:
    """The header of a DICOM file as a pydicom Dataset, without its pixel data.

    Parsed as :func:`read_dicom` parses it (a deflated data set is inflated only up to its
    pixel data), so a decompression bomb costs no more than its header. The Dataset holds
    the file's identifiers: compare them, never log them.

    Args:
        path (str | os.PathLike): The DICOM file.

    Returns:
        pydicom.dataset.Dataset: Every element before the pixel data.

    Raises:
        DicomReadError: Missing, unreadable, non-DICOM or corrupt file.
    """
    return _parse(_read_bytes(path), path, header_only=True).ds


def read_dicom_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Read identifier-free metadata from a DICOM header (pixel data is not read).

    Args:
        path (str | os.PathLike): The DICOM file.

    Returns:
        dict: Keys :data:`META_KEYS`; absent or invalid values are None.
        ``ViewPosition``, ``PatientSex``, ``Modality``, ``PhotometricInterpretation`` (str);
        ``PatientAge`` (int years, see :func:`parse_age`); ``PixelSpacing`` ((row, col) mm
        floats); ``Rows``, ``Columns``, ``BitsStored``, ``SamplesPerPixel`` (int);
        ``TransferSyntaxUID`` (str; for files without file meta, the encoding the parser
        detected). PatientName and
        PatientID are never included.

    Raises:
        DicomReadError: Missing, unreadable, non-DICOM or corrupt file.
    """
    ds = read_dicom_header(path)
    try:
        return _meta(ds, _int_tags(ds))
    except Exception as exc:  # noqa: BLE001
        raise DicomReadError(path, f'cannot read metadata ({type(exc).__name__}: '
                             f'{_scrub(str(exc), ds)})') from None


def read_dicom(path: str | os.PathLike,
               *,
               norm: NormMode = 'auto',
               window: tuple[float, float] | None = None,
               percentiles: tuple[float, float] = (0.5, 99.5),
               voi_lut: bool = False,
               dtype: Literal['uint8', 'float32'] = 'uint8',
               channels: Literal[1, 3] = 1,
               frame: Literal['first', 'error'] = 'first',
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, dict]:
    """Read one DICOM image.

    The default, ``norm='auto'``, shows any single-frame radiograph as a viewer does:

    - 8-bit unsigned greyscale without a modality transform (SIIM-ACR / RSNA Kaggle files,
      most exports) is returned bit-identical to its pixel data (MONOCHROME1 as ``255 - v``),
      on the libjpeg-turbo fast path for JPEG Baseline; a lossless PNG export of the pixels
      reads the same;
    - deeper or signed greyscale (10-16 bit CR/DX, CT, MR, RT dose): modality LUT (Rescale
      Slope/Intercept or Modality LUT Sequence), then the header's VOI LUT Sequence (first
      item), else its first Window Center/Width (with its VOI LUT Function, PS3.3
      C.11.2.1.2), else a window between the ``percentiles`` of the image, onto 0..255
      (rounded); MONOCHROME1 inverted afterwards so air is dark. For 8/16-bit integer data
      this is one lookup table per file, cheaper than pydicom's float pipeline;
    - colour: RGB/YBR as RGB (more than 8 bits scaled to 0..255); PALETTE COLOR through its
      palette LUT to RGB (with every ``norm``).

    The other modes are explicit choices. Order of operations: decode -> modality LUT
    (greyscale only) -> VOI LUT if ``voi_lut`` -> :func:`normalize` with ``norm`` ->
    MONOCHROME1 inversion -> ``dtype`` -> ``channels``. With ``norm='none'`` and
    ``dtype='uint8'`` a file whose representable range (BitsStored, PixelRepresentation,
    rescale) does not fit 0..255 raises rather than being silently clipped; the decision
    depends on the header, not on the pixel values, so it is the same for every file of a
    dataset.

    MONOCHROME1 (low values displayed white) is inverted last so bone is bright: normalised
    outputs become ``255 - out``; with ``norm='none'`` values are reflected within their
    representable range, ``lo + hi - v`` (``255 - v`` for 8-bit). Windows (tags or
    ``window``) refer to the values before inversion, as in DICOM.

    Colour (SamplesPerPixel 3; YBR is converted) is returned as RGB and skips the modality
    LUT and inversion; ``channels=1`` converts it to luma (cv2 RGB2GRAY).

    Args:
        path (str | os.PathLike): The DICOM file.
        norm (str): ``'auto'`` (as a viewer shows it, see above), ``'none'``
            (modality-LUT values as they are), ``'minmax'`` (``img / img.max() * 255``, the
            multi-expert dataset recipe), ``'percentile'`` or ``'window'``; see
            :func:`normalize`. Defaults to 'auto'.
        window (tuple[float, float], optional): ``(center, width)`` for ``norm='window'``,
            in modality-LUT units; None uses the first WindowCenter / WindowWidth of the
            file. Defaults to None.
        percentiles (tuple[float, float]): Clip percentiles for ``norm='percentile'``, and
            the fallback window of ``norm='auto'``. Defaults to (0.5, 99.5).
        voi_lut (bool): Apply the file's VOI LUT Sequence or WindowCenter/Width (pydicom's
            ``apply_voi_lut``, output in the modality value range) before ``norm``. Not
            allowed with ``norm='window'``; ``norm='auto'`` always applies the header's VOI.
            Defaults to False.
        dtype (str): ``'uint8'`` or ``'float32'``. Normalised modes give 0..255 in both
            (uint8 truncates like ``astype(np.uint8)``, which is the minmax recipe's
            quantisation; float32 keeps the fraction); ``norm='none'`` with ``'float32'``
            gives the raw modality-LUT values; ``norm='auto'`` rounds to uint8 or keeps
            the unrounded 0..255 values in float32. Defaults to 'uint8'.
        channels (int): 1 -> HxW (like ``cv2.IMREAD_GRAYSCALE``); 3 -> HxWx3 (greyscale
            replicated, colour as RGB). Defaults to 1.
        frame (str): Multi-frame files: ``'first'`` decodes frame 0 only, ``'error'``
            raises. Defaults to 'first'.
        max_pixels (int, optional): Pixel budget: a header declaring more than this many
            samples (Rows x Columns x frames x samples) is refused before decoding (and a
            deflated data set before inflating its pixels). None disables the check.
            Defaults to :data:`DEFAULT_MAX_PIXELS` (8192 x 8192).

    Returns:
        tuple[np.ndarray, dict]: The image and the metadata of :func:`read_dicom_meta`.

    Raises:
        ValueError: Invalid argument (checked before the file is opened).
        DicomReadError: Missing, non-DICOM, truncated or corrupt file, no pixel data,
            unsupported photometric interpretation, a transfer syntax without an installed
            decoder (the message names it and the packages that provide one), a multi-frame
            file with ``frame='error'``, no window for ``norm='window'``, or values that do
            not fit uint8 with ``norm='none'``.
    """
    check_options(norm=norm, window=window, percentiles=percentiles, voi_lut=voi_lut,
                  dtype=dtype, channels=channels, frame=frame, max_pixels=max_pixels)
    return decode_dicom(_read_bytes(path), name=path, norm=norm, window=window,
                        percentiles=percentiles, voi_lut=voi_lut, dtype=dtype,
                        channels=channels, frame=frame, max_pixels=max_pixels)


def decode_dicom(data: bytes,
                 *,
                 name: str | os.PathLike = '<bytes>',
                 norm: NormMode = 'auto',
                 window: tuple[float, float] | None = None,
                 percentiles: tuple[float, float] = (0.5, 99.5),
                 voi_lut: bool = False,
                 dtype: Literal['uint8', 'float32'] = 'uint8',
                 channels: Literal[1, 3] = 1,
                 frame: Literal['first', 'error'] = 'first',
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, dict]:
    """:func:`read_dicom` for the bytes of a DICOM file already in memory.

    Used by ``LoadDicomImageFromFile``, which fetches bytes through mmengine's file
    backends (local disk, HTTP, object stores).

    Args:
        data (bytes): The complete file content.
        name (str | os.PathLike): Name used in error messages (usually the path).
            Defaults to '<bytes>'.
        norm, window, percentiles, voi_lut, dtype, channels, frame, max_pixels: As in
            :func:`read_dicom`, with the same defaults.

    Returns:
        tuple[np.ndarray, dict]: The image and its metadata, as :func:`read_dicom`.

    Raises:
        ValueError: Invalid argument.
        DicomReadError: As :func:`read_dicom`.
    """
    check_options(norm=norm, window=window, percentiles=percentiles, voi_lut=voi_lut,
                  dtype=dtype, channels=channels, frame=frame, max_pixels=max_pixels)
    parsed = _parse(data, name, max_pixels)
    ds = parsed.ds
    try:
        return _read_pixels(name, parsed, norm, window, percentiles, voi_lut, dtype,
                            channels, frame, max_pixels)
    except DicomReadError:
        raise
    except MemoryError:
        raise DicomReadError(name, 'out of memory while decoding the pixel data') from None
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes DicomReadError
        tsyntax = ds.file_meta.get('TransferSyntaxUID', 'unknown')
        missing = missing_decoder(tsyntax)
        if missing:
            raise DicomReadError(name, f'cannot decode pixel data: {missing}') from None
        raise DicomReadError(
            name, f'cannot decode pixel data (transfer syntax {tsyntax}: '
            f'{type(exc).__name__}: {_scrub(str(exc), ds)})') from None


def missing_decoder(tsyntax: Any) -> str | None:
    """Why pydicom has no decoder for ``tsyntax`` here, or None if it has one."""
    try:
        uid = UID(str(tsyntax))
        label = f'{uid.name} ({uid})' if uid.name != str(uid) else str(uid)
    except Exception:  # noqa: BLE001
        return f'unknown transfer syntax {tsyntax!r}'
    if not uid.is_transfer_syntax:
        return f'{label} is not a known transfer syntax'
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return f'no decoder exists for transfer syntax {label} (pydicom has none)'
    if decoder.is_available:
        return None
    needs = '; '.join(decoder.missing_dependencies) or 'an extra package'
    return f'no installed decoder for transfer syntax {label}: install one of: {needs}'


def check_dicom_budget(data: bytes, name: str | os.PathLike = '<bytes>',
                       max_pixels: int | None = DEFAULT_MAX_PIXELS) -> dict:
    """Check a DICOM file's declared size against the pixel budget, decoding nothing.

    Parses the header only (a deflated data set is inflated up to its pixel data), so a
    server can refuse an oversized upload before handing it to a model.

    Args:
        data (bytes): The complete file content.
        name (str | os.PathLike): Name used in error messages. Defaults to '<bytes>'.
        max_pixels (int, optional): The budget; None accepts any size. Defaults to
            :data:`DEFAULT_MAX_PIXELS`.

    Returns:
        dict: The file's metadata (:data:`META_KEYS`).

    Raises:
        DicomTooLargeError: More than ``max_pixels`` samples declared.
        DicomReadError: Not a readable DICOM header.
    """
    ds = _parse(data, name, header_only=True).ds
    ints = _int_tags(ds)
    check_pixel_budget(name, ints, max_pixels)
    return _meta(ds, ints)


def has_dicom_prefix(data: bytes) -> bool:
    """Whether ``data`` starts like a DICOM Part 10 file (128-byte preamble + 'DICM').

    Files without file meta (no prefix) are DICOM too; callers that also accept other
    image formats should combine this with a file-suffix check.

    Args:
        data (bytes): The start of a file (at least 132 bytes to be conclusive).

    Returns:
        bool: True if bytes 128..131 are ``b'DICM'``.
    """
    return bytes(data[128:132]) == b'DICM'


def _read_pixels(path: str | os.PathLike, parsed: _Parsed, norm: str,
                 window: tuple[float, float] | None, percentiles: tuple[float, float],
                 voi_lut: bool, dtype: str, channels: int, frame: str,
                 max_pixels: int | None) -> tuple[np.ndarray, dict]:
    ds = parsed.ds
    if parsed.pixel_offset is None and not any(kw in ds for kw in _PIXEL_KEYWORDS):
        raise DicomReadError(path, 'no pixel data (not an image, e.g. SR, RT plan or '
                             'truncated before Pixel Data)')
    ints = _int_tags(ds)
    meta = _meta(ds, ints)
    photometric = meta['PhotometricInterpretation'] or ''
    samples = ints['SamplesPerPixel'] or 1
    if samples not in (1, 3):
        raise DicomReadError(path, f'unsupported SamplesPerPixel {samples}')
    if samples == 1 and photometric not in ('MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR',
                                            ''):
        raise DicomReadError(path, f'unsupported PhotometricInterpretation {photometric!r}')
    n_frames = ints['NumberOfFrames'] or 1
    if n_frames > 1 and frame == 'error':
        raise DicomReadError(path, f"multi-frame file ({n_frames} frames) with "
                             "frame='error'")
    check_pixel_budget(path, ints, max_pixels)

    arr = None
    if ds.file_meta.get('TransferSyntaxUID') == JPEGBaseline8Bit:
        arr = _decode_jpeg_baseline(parsed, ints, n_frames, samples, photometric)
    if arr is None:
        ds = _complete(parsed)
        if not any(kw in ds for kw in _PIXEL_KEYWORDS):
            raise DicomReadError(path, 'no pixel data (not an image, e.g. SR, RT plan or '
                                 'truncated before Pixel Data)')
        # pydicom 3 picks the plugin; index=0 decodes only the first frame.
        arr = pixel_array(ds, index=0 if n_frames > 1 else None)
    if arr.ndim != (2 if samples == 1 else 3):
        raise DicomReadError(path, f'decoded array has unexpected shape {arr.shape}')
    if photometric == 'PALETTE COLOR':
        arr = _palette_to_rgb(path, ds, arr)
    color = arr.ndim == 3
    if norm == 'auto':
        out_dtype = np.float32 if dtype == 'float32' else np.uint8
        img = _display_color(ints, arr) if color else _display_grey(
            ds, ints, arr, percentiles, photometric == 'MONOCHROME1', out_dtype)
        img = img.astype(out_dtype, copy=False)
        return _to_channels(img, channels, color), meta

    if color:
        lo, hi = _value_range(ints, arr)
    else:
        arr, lo, hi = _modality(ds, ints, arr)
        if voi_lut:
            arr, lo, hi = _voi(ds, arr, lo, hi)

    if norm == 'window' and window is None:
        window = _tag_window(ds)
        if window is None:
            raise DicomReadError(path, "norm='window' but the file has no valid "
                                 'WindowCenter/WindowWidth; pass window=(center, width)')
    img = normalize(arr, norm, window=window, percentiles=percentiles)  # type: ignore[arg-type]
    if norm != 'none':
        lo, hi = 0.0, 255.0
        if dtype == 'uint8':
            img = img.astype(np.uint8)  # values are already clipped to [0, 255]
    invert = photometric == 'MONOCHROME1' and not color
    if dtype == 'uint8':
        if norm == 'none':
            img = _fit_uint8(path, img, lo, hi)
        if invert:
            img = np.uint8(lo + hi) - img if (lo, hi) == (0.0, 255.0) else (
                (lo + hi) - img.astype(np.float64)).astype(np.uint8)
    else:
        img = img.astype(np.float32, copy=False)
        if invert:
            img = np.float32(lo + hi) - img

    return _to_channels(img, channels, color), meta


def _to_channels(img: np.ndarray, channels: int, color: bool) -> np.ndarray:
    if channels == 3 and not color:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_GRAY2RGB)
    if channels == 1 and color:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    return img


def is_color(meta: dict) -> bool:
    """Whether :func:`read_dicom` returns colour (RGB) for a file with this metadata.

    Args:
        meta (dict): Metadata from :func:`read_dicom` / :func:`read_dicom_meta`.

    Returns:
        bool: True for SamplesPerPixel 3 (RGB/YBR) and PALETTE COLOR files.
    """
    return meta.get('SamplesPerPixel') == 3 or \
        meta.get('PhotometricInterpretation') == 'PALETTE COLOR'


def _palette_to_rgb(path: str | os.PathLike, ds: Dataset, arr: np.ndarray) -> np.ndarray:
    """PALETTE COLOR indices through the palette LUTs to 8-bit RGB."""
    try:
        rgb = apply_color_lut(arr, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except Exception as exc:  # noqa: BLE001
        raise DicomReadError(path, f'PALETTE COLOR without a usable palette '
                             f'({type(exc).__name__}: {_scrub(str(exc), ds)})') from None
    if rgb.dtype == np.uint8:
        return rgb
    return np.rint(rgb.astype(np.float64) * (255 / (2**bits - 1))).clip(0, 255).astype(np.uint8)


def _display_color(ints: dict[str, int | None], arr: np.ndarray) -> np.ndarray:
    """``norm='auto'`` for colour: 8-bit as it is, deeper samples scaled to 0..255."""
    if arr.dtype == np.uint8:
        return arr
    bits = min(ints['BitsStored'] or arr.dtype.itemsize * 8, arr.dtype.itemsize * 8)
    return np.rint(arr.astype(np.float64) * (255 / (2**bits - 1))).clip(0, 255)


def _display_grey(ds: Dataset, ints: dict[str, int | None], arr: np.ndarray,
                  percentiles: tuple[float, float], invert: bool,
                  out_dtype: type) -> np.ndarray:
    """``norm='auto'`` for greyscale.

    Returns the pixel data itself (uint8) for the 8-bit passthrough, otherwise display
    values in [0, 255]: rounded to integers for a uint8 ``out_dtype``, unrounded for float32.
    The fallback percentiles are taken over every pixel of images up to
    :data:`_PERCENTILE_SAMPLES` pixels, and over a regular grid of about that many pixels
    (every k-th row and column) for larger ones.
    """
    rounded = out_dtype == np.uint8
    if (arr.dtype == np.uint8 and ints['BitsStored'] in (8, None)
            and ints['PixelRepresentation'] in (0, None) and not _has_modality_transform(ds)):
        return 255 - arr if invert else arr  # bit-identical: nothing for a viewer to do
    domain = lut_domain(arr.dtype)
    if domain is None:  # float or 32-bit data: map every pixel
        values = _modality(ds, ints, arr)[0].astype(np.float64, copy=False)
        shown = _voi_display(
            ds, values, lambda: _image_percentiles(_grid_sample(values), percentiles))
        shown = np.rint(shown) if rounded else shown
        return 255 - shown if invert else shown
    # 8/16-bit integers: evaluate the mapping once per possible stored value.
    values = _modality(ds, ints, domain)[0].astype(np.float64, copy=False)

    def histogram_percentiles() -> tuple[float, float]:
        sample = _grid_sample(arr)
        index = sample.astype(f'={arr.dtype.kind}{arr.dtype.itemsize}', copy=False).view(
            f'=u{arr.dtype.itemsize}')
        counts = np.bincount(index.ravel(), minlength=domain.size)
        lo, hi = weighted_percentiles(values, counts, percentiles)
        if not hi > lo:  # e.g. a binary image that is mostly 0: use the values present
            lo, hi = weighted_percentiles(values, counts, (0, 100))
        return float(lo), float(hi)

    lut = _voi_display(ds, values, histogram_percentiles)
    lut = np.rint(lut) if rounded else lut
    if invert:
        lut = 255 - lut
    return apply_lut(lut.astype(out_dtype), arr)


#: Above this many pixels, ``norm='auto'`` takes its fallback percentiles on a grid sample.
_PERCENTILE_SAMPLES = 2**18


def _grid_sample(img: np.ndarray) -> np.ndarray:
    """Every k-th row and column, k chosen so that about _PERCENTILE_SAMPLES pixels remain."""
    step = int(np.sqrt(img.size / _PERCENTILE_SAMPLES)) if img.size > _PERCENTILE_SAMPLES \
        else 1
    return img[::step, ::step] if step > 1 else img


def _has_modality_transform(ds: Dataset) -> bool:
    if 'ModalityLUTSequence' in ds and ds.ModalityLUTSequence:
        return True
    return (_float_tag(ds, 'RescaleSlope', 1.0), _float_tag(ds, 'RescaleIntercept', 0.0)) \
        != (1.0, 0.0)


def _image_percentiles(values: np.ndarray,
                       percentiles: tuple[float, float]) -> tuple[float, float]:
    lo, hi = np.percentile(values, percentiles)
    if not hi > lo:
        lo, hi = values.min(), values.max()
    return float(lo), float(hi)


def _voi_display(ds: Dataset, values: np.ndarray, fallback) -> np.ndarray:
    """Modality-LUT ``values`` -> 0..255 through the header's VOI, else ``fallback()``'s window.

    VOI LUT Sequence (first item) first, then the first Window Center/Width with the VOI LUT
    Function; a malformed VOI LUT or window falls through to the next option, as viewers do.
    """
    if 'VOILUTSequence' in ds and ds.VOILUTSequence:
        try:
            item = ds.VOILUTSequence[0]
            bits = int(item.LUTDescriptor[2])
            out = apply_voi_lut(np.rint(values).astype(np.int64), ds, index=0,
                                prefer_lut=True)
            if out.shape == values.shape and 1 <= bits <= 16:
                return out.astype(np.float64) * (255 / (2**bits - 1))
        except Exception:  # noqa: BLE001 - fall back to the window / percentiles
            pass
    window = _tag_window(ds)
    if window is not None:
        function = raw_text(ds, 'VOILUTFunction') or 'LINEAR'
        try:
            return apply_window(values, window[0], window[1], function)
        except ValueError:  # e.g. a LINEAR width below 1
            pass
    lo, hi = fallback()
    return percentile_window(values, lo, hi)
