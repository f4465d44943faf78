"""Cheap up-front checks that an image file will load, without decoding its pixels.

Pure module (pydicom, numpy, PIL; no registry, no OpenMMLab imports). Datasets call
:func:`scan_images` when they are built, so a truncated or unreadable file is reported before
training starts instead of crashing the run the first time it is sampled;
``tools/check_dataset.py`` then decodes every file fully for what a header cannot show.

What :func:`inspect_image` checks, in about 0.4 ms a file (see ``benchmarks/README.md``):

* every file: it exists, is a regular file and is not empty;
* DICOM (suffix ``.dcm``/``.dicom`` or the Part 10 prefix, as ``LoadDicomImageFromFile``
  decides): the header parses (the same parser as :mod:`mmchest.io.dicom` when it does not),
  Rows/Columns are set, SamplesPerPixel is 1 or 3, the photometric interpretation is one the
  loader reads, the pixel data element is present, a decoder for the transfer syntax is
  installed, and the pixel data is complete: for native (uncompressed) syntaxes its length
  covers Rows x Columns x frames x samples x BitsAllocated and the file holds all of it; for
  encapsulated (JPEG, JPEG 2000, RLE...) syntaxes every fragment item fits in the file (a
  file cut only inside the closing sequence delimiter still loads, and passes). Deflated
  data sets are checked up to their header (inflating the pixels is decoding); the pixel
  budget (``max_pixels``) is checked from the header as the loader checks it;
* PNG: the signature, the IHDR size and the IEND chunk at the end (a cut file lacks it);
* JPEG: SOI at the start and EOI at the end; other formats: PIL can read their header.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import os.path as osp
import struct
import tempfile
import warnings
from typing import Callable, Dict, Iterable, NamedTuple, Optional, Sequence

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit

from mmchest.io.dicom import (DEFAULT_MAX_PIXELS, DicomReadError, check_dicom_budget,
                              check_pixel_budget, has_dicom_prefix, int_tag, missing_decoder,
                              raw_text)

__all__ = ['ImageCheck', 'inspect_image', 'check_image', 'scan_images', 'default_cache_dir',
           'DICOM_SUFFIXES']

#: Name endings always read as DICOM (``LoadDicomImageFromFile.dicom_suffixes``' default).
DICOM_SUFFIXES = ('.dcm', '.dicom')
# Bytes read for the header; a file whose header is longer is read whole.
_HEAD_BYTES = 64 << 10
_TAIL_BYTES = 4 << 10
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_IEND = b'IEND\xaeB`\x82'
_ITEM, _SEQ_DELIMITER = 0xE000FFFE, 0xE0DDFFFE  # (FFFE,E000), (FFFE,E0DD) read as LE uint32
_PIXEL_DATA_LE, _PIXEL_DATA_BE = b'\xe0\x7f\x10\x00', b'\x7f\xe0\x00\x10'
_PHOTOMETRICS_1 = ('MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR', '')
_CACHE_VERSION = 1
#: Scans of fewer files than this skip the on-disk cache (they take well under a second).
CACHE_MIN_FILES = 1000
_MAX_CACHE_FILES = 64  # cache files kept (one per scanned folder), oldest removed first
# In-process results: a second dataset (val/test split) built from the same files costs a stat.
_MEMO: Dict[str, list] = {}


class ImageCheck(NamedTuple):
    """The result of :func:`inspect_image` for one file.

    Attributes:
        reason (str | None): Why the file will not load; None if it looks loadable.
        height (int | None): Rows (DICOM) or image height, when the header gave it.
        width (int | None): Columns (DICOM) or image width.
        view_position (str | None): DICOM ViewPosition (e.g. 'PA'), else None.
    """

    reason: Optional[str]
    height: Optional[int] = None
    width: Optional[int] = None
    view_position: Optional[str] = None


class _Record(NamedTuple):
    """What is cached per file: the check without the pixel budget, plus what it needs."""

    reason: Optional[str]
    height: Optional[int]
    width: Optional[int]
    frames: Optional[int]
    samples: Optional[int]
    view_position: Optional[str]
    dicom: bool


def _is_dicom_name(path: str, head: bytes) -> bool:
    return path.lower().endswith(DICOM_SUFFIXES) or has_dicom_prefix(head)


class _File:
    """Random access to a file through a cached head, reading elsewhere on demand."""

    def __init__(self, f, head: bytes, size: int) -> None:
        self.f, self.head, self.size = f, head, size

    def read(self, pos: int, n: int) -> bytes:
        if pos + n <= len(self.head):
            return self.head[pos:pos + n]
        self.f.seek(pos)
        return self.f.read(n)


def _parse_header(buf: bytes) -> tuple:
    """(Dataset, offset where the parse stopped) of ``buf``, stopping before pixel data."""
    fp = io.BytesIO(buf)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            ds = pydicom.dcmread(fp, stop_before_pixels=True)
        except InvalidDicomError:  # no preamble: a bare data set (the loader reads those too)
            fp = io.BytesIO(buf)
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
    return ds, fp.tell()


def _pixel_problem(ds: pydicom.Dataset, f: _File, offset: int, rows: int, cols: int,
                   frames: int, samples: int) -> Optional[str]:
    """Is the pixel data element at ``offset`` complete?"""
    implicit, little = ds.original_encoding
    if f.read(offset, 4) not in (_PIXEL_DATA_LE, _PIXEL_DATA_BE):
        return None  # (7FE0,0008/0009) float pixel data: left to the decoder
    if implicit:
        raw, start = f.read(offset + 4, 4), offset + 8
    else:
        raw, start = f.read(offset + 8, 4), offset + 12
    if len(raw) < 4:
        return f'file truncated in the pixel data element header ({f.size:,} bytes)'
    length = int.from_bytes(raw, 'little' if little is not False else 'big')
    if length != 0xFFFFFFFF:  # native pixel data
        bits = int_tag(ds, 'BitsAllocated') or 8
        expected = (rows * cols * frames * samples * bits + 7) // 8
        if length < expected:
            return (f'pixel data holds {length:,} bytes but Rows x Columns x frames x samples '
                    f'x BitsAllocated = {rows} x {cols} x {frames} x {samples} x {bits} bits '
                    f'needs {expected:,}')
        if start + length > f.size:
            return (f'file truncated: the pixel data needs {length:,} bytes, the file ends '
                    f'after {f.size - start:,} of them ({f.size:,} bytes in all)')
        return None
    pos, fragments = start, 0  # encapsulated: walk the items to the sequence delimiter
    while True:
        item = f.read(pos, 8)
        if len(item) < 8:
            break  # no (complete) sequence delimiter: the fragments may still be whole
        tag, item_length = struct.unpack('<II', item)
        if tag == _SEQ_DELIMITER:
            break
        if tag != _ITEM or item_length == 0xFFFFFFFF:
            return f'corrupt encapsulated pixel data (unexpected tag at byte {pos:,})'
        pos += 8 + item_length
        fragments += 1
        if pos > f.size:
            return (f'file truncated: the encapsulated pixel data runs to byte {pos:,} '
                    f'(item {fragments}), the file has {f.size:,} bytes')
    if fragments < 2:  # the Basic Offset Table item, then at least one fragment
        return ('file truncated: the encapsulated pixel data holds no fragment'
                if len(item) < 8 else 'encapsulated pixel data holds no fragment')
    return None


def _inspect_dicom(path: str, f, head: bytes, size: int) -> _Record:
    def bad(reason: str) -> _Record:
        return _Record(reason, None, None, None, None, None, True)

    buf = head
    if DeflatedExplicitVRLittleEndian.encode() in head[:4096]:
        # pydicom inflates a whole deflated data set to parse it: use the bounded parser
        try:
            meta = check_dicom_budget(head + f.read(), path, max_pixels=None)
        except DicomReadError as exc:
            return bad(exc.reason)
        rows, cols = meta['Rows'], meta['Columns']
        if not rows or not cols:
            return bad('DICOM header has no Rows/Columns')
        return _Record(None, rows, cols, 1, meta['SamplesPerPixel'] or 1,
                       meta['ViewPosition'], True)
    for attempt in range(2):
        if attempt:
            buf = head + f.read()  # the header is longer than the head read
        try:
            ds, offset = _parse_header(buf)
            complete = offset + 12 <= len(buf)
        except Exception:  # noqa: BLE001 - the package's parser words the reason
            ds, complete = None, False
        if complete or len(buf) >= size:
            break
    if ds is None:
        try:
            check_dicom_budget(buf, path, max_pixels=None)
        except DicomReadError as exc:
            return bad(exc.reason)
        return bad('cannot parse the DICOM header')
    rows, cols = int_tag(ds, 'Rows'), int_tag(ds, 'Columns')
    frames, samples = int_tag(ds, 'NumberOfFrames') or 1, int_tag(ds, 'SamplesPerPixel') or 1
    view = raw_text(ds, 'ViewPosition')
    record = _Record(None, rows, cols, frames, samples, view, True)
    if not complete:
        if not any(tag.group in (0x0008, 0x0010, 0x0018, 0x0020, 0x0028) for tag in ds.keys()):
            try:  # a forced parse of a non-DICOM file: let the package's parser say so
                check_dicom_budget(buf, path, max_pixels=None)
            except DicomReadError as exc:
                return record._replace(reason=exc.reason)
        return record._replace(reason='no pixel data (not an image, or truncated before '
                               'Pixel Data)')
    if not rows or not cols:
        return record._replace(reason='DICOM header has no Rows/Columns')
    if samples not in (1, 3):
        return record._replace(reason=f'unsupported SamplesPerPixel {samples}')
    photometric = raw_text(ds, 'PhotometricInterpretation') or ''
    if samples == 1 and photometric not in _PHOTOMETRICS_1:
        return record._replace(reason=f'unsupported PhotometricInterpretation {photometric!r}')
    tsyntax = ds.file_meta.get('TransferSyntaxUID') if ds.file_meta is not None else None
    if tsyntax is None:  # a bare data set: the encoding the parser detected
        implicit, little = ds.original_encoding
        tsyntax = ('1.2.840.10008.1.2' if implicit else
                   '1.2.840.10008.1.2.1' if little else '1.2.840.10008.1.2.2')
    problem = None if tsyntax == JPEGBaseline8Bit else missing_decoder(tsyntax)
    if problem is None:
        problem = _pixel_problem(ds, _File(f, buf, size), offset, rows, cols, frames, samples)
    return record._replace(reason=problem)


def _inspect_png(f, head: bytes, size: int) -> _Record:
    def bad(reason: str) -> _Record:
        return _Record(reason, None, None, None, None, None, False)

    if len(head) < 33 or head[12:16] != b'IHDR':
        return bad('not a valid PNG (no IHDR chunk)')
    width, height = struct.unpack('>II', head[16:24])
    f.seek(max(size - _TAIL_BYTES, 0))
    if _PNG_IEND not in f.read():
        return _Record(f'file truncated: PNG without IEND chunk ({size:,} bytes)', height,
                       width, None, None, None, False)
    if not width or not height:
        return bad(f'PNG declares an empty image ({width} x {height})')
    return _Record(None, height, width, None, None, None, False)


def _inspect_other(path: str, f, head: bytes, size: int) -> _Record:
    if head[:3] == b'\xff\xd8\xff':
        f.seek(max(size - _TAIL_BYTES, 0))
        if b'\xff\xd9' not in f.read().rstrip(b'\x00\r\n '):
            return _Record(f'file truncated: JPEG without end-of-image marker ({size:,} bytes)',
                           None, None, None, None, None, False)
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with Image.open(path) as img:  # reads the header only
                width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return _Record(f'not a readable image ({type(exc).__name__}: {exc})', None, None,
                       None, None, None, False)
    return _Record(None, height, width, None, None, None, False)


def _inspect(path: str) -> _Record:
    """The budget-free check of one file (what the cache stores)."""
    try:
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return _Record('empty file', None, None, None, None, None, False)
            head = f.read(_HEAD_BYTES)
            if _is_dicom_name(path, head):
                return _inspect_dicom(path, f, head, size)
            if head.startswith(_PNG_SIGNATURE):
                return _inspect_png(f, head, size)
            return _inspect_other(path, f, head, size)
    except FileNotFoundError:
        return _Record('file not found', None, None, None, None, None, False)
    except IsADirectoryError:
        return _Record('is a directory, not a file', None, None, None, None, None, False)
    except OSError as exc:
        return _Record(f'cannot read file ({type(exc).__name__}: '
                       f'{exc.strerror or exc})', None, None, None, None, None, False)


def _with_budget(path: str, record: _Record, max_pixels: Optional[int]) -> ImageCheck:
    reason = record.reason
    if record.dicom and record.height and record.width and max_pixels is not None:
        ints = dict(Rows=record.height, Columns=record.width, NumberOfFrames=record.frames,
                    SamplesPerPixel=record.samples)
        try:
            check_pixel_budget(path, ints, max_pixels)
        except DicomReadError as exc:
            reason = exc.reason
    return ImageCheck(reason, record.height, record.width, record.view_position)


def inspect_image(path: str, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> ImageCheck:
    """Check one image file cheaply (header and file structure; no pixel decoding).

    Args:
        path (str): The file.
        max_pixels (int, optional): DICOM pixel budget (Rows x Columns x frames x samples),
            as ``LoadDicomImageFromFile(max_pixels=...)``; None accepts any size.
            Defaults to :data:`mmchest.io.dicom.DEFAULT_MAX_PIXELS`.

    Returns:
        ImageCheck: The reason it will not load (None if it looks loadable) and its size.
    """
    path = os.fspath(path)
    return _with_budget(path, _inspect(path), max_pixels)


def check_image(path: str, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> Optional[str]:
    """Why ``path`` will not load, or None; see :func:`inspect_image`."""
    return inspect_image(path, max_pixels).reason


# ------------------------------------------------------------------------- scan + cache
def default_cache_dir() -> str:
    """``$MMCHEST_CACHE_DIR/image_check``, else ``~/.cache/mmchest/image_check``."""
    base = os.environ.get('MMCHEST_CACHE_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'mmchest')
    return osp.join(base, 'image_check')


def _cache_path(cache_dir: str, paths: Sequence[str]) -> str:
    root = osp.commonpath(paths) if paths else ''
    key = hashlib.sha1(f'{root}|{_CACHE_VERSION}'.encode()).hexdigest()[:16]
    return osp.join(cache_dir, f'{key}.json')


def _load_cache(path: str) -> Dict[str, list]:
    try:
        with open(path) as f:
            data = json.load(f)
        if data.get('version') == _CACHE_VERSION and isinstance(data.get('files'), dict):
            return data['files']
    except (OSError, ValueError, AttributeError):
        pass
    return {}


def _save_cache(path: str, files: Dict[str, list]) -> None:
    folder = osp.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.image_check-', suffix='.tmp', dir=folder)
        with os.fdopen(fd, 'w') as f:
            json.dump(dict(version=_CACHE_VERSION, files=files), f)
        os.replace(tmp, path)
        caches = sorted((osp.join(folder, n) for n in os.listdir(folder)
                         if n.endswith('.json')), key=osp.getmtime)
        for old in caches[:-_MAX_CACHE_FILES]:
            os.remove(old)
    except OSError:  # a read-only home: the cache is an optimisation only
        pass


def scan_images(paths: Iterable[str],
                max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                cache_dir: Optional[str] = None,
                progress: Optional[Callable[[], None]] = None) -> Dict[str, ImageCheck]:
    """:func:`inspect_image` for many files, remembering the results.

    Each file's result is kept keyed by its absolute path, size and modification time (ns):
    in memory for the process, and, for scans of :data:`CACHE_MIN_FILES` files or more, in
    a JSON file per common parent folder under ``cache_dir``. A later scan of the same files
    (another split, another rank, the next run) then costs a ``stat`` each; a changed or
    replaced file is checked again. The pixel budget is applied after the cache, so changing
    ``max_pixels`` needs no rescan.

    Args:
        paths (Iterable[str]): The files.
        max_pixels (int, optional): DICOM pixel budget; None accepts any size.
            Defaults to :data:`mmchest.io.dicom.DEFAULT_MAX_PIXELS`.
        cache_dir (str, optional): Where the on-disk cache lives; '' disables it.
            Defaults to :func:`default_cache_dir`.
        progress (Callable[[], None], optional): Called once per file.

    Returns:
        dict[str, ImageCheck]: Per path (as given), the result.
    """
    paths = list(dict.fromkeys(os.fspath(p) for p in paths))
    absolute = [osp.abspath(p) for p in paths]
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    cache_file = (_cache_path(cache_dir, absolute)
                  if cache_dir and len(paths) >= CACHE_MIN_FILES else None)
    cached = _load_cache(cache_file) if cache_file else {}
    fresh: Dict[str, list] = {}
    out: Dict[str, ImageCheck] = {}
    for path, key in zip(paths, absolute):
        try:
            st = os.stat(key)
            stamp = [st.st_size, st.st_mtime_ns]
        except OSError:
            stamp = None
        entry = _MEMO.get(key) or cached.get(key)
        if stamp is not None and entry is not None and list(entry[:2]) == stamp:
            record = _Record(*entry[2:])
        else:
            record = _inspect(path)
        if stamp is not None:
            fresh[key] = _MEMO[key] = stamp + list(record)
        out[path] = _with_budget(path, record, max_pixels)
        if progress is not None:
            progress()
    if cache_file and any(cached.get(k) != v for k, v in fresh.items()):
        merged = dict(cached)
        merged.update(fresh)
        _save_cache(cache_file, merged)
    return out

