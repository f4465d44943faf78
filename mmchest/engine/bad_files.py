"""Bad files found when a dataset is built, not when a sample first loads.

The SIIM, RSNA and multi-expert datasets mix in :class:`BadFilesMixin`. When one is built it
checks every image of the labelled set its splits are cut from (all splits, so one restart
fixes everything) with :func:`mmchest.io.image_check.scan_images` (header only, cached), plus
dataset-specific label checks (e.g. SIIM RLE runs against the header's Rows x Columns), and:

* ``bad_files='error'`` (default): if the dataset's own split holds a bad file, raises
  :class:`BadFilesError` listing every bad file of the labelled set with its reason (the
  other splits' too). ``mim train`` builds the train and the val dataset before the first
  iteration, so a bad file in either split stops the run there;
* ``bad_files='skip'``: drops its split's bad files, logs how many and which, and records
  them in the dataset's ``metainfo['bad_files']``, which the metrics read to log
  "evaluated N of M images (K skipped: see <file>)": no other image is substituted.

Either way the list is written next to the run's log file (``<work_dir>/<timestamp>/``), in
the format ``exclude_file`` reads (``path<TAB>reason``, paths relative to ``data_root``).
``exclude_file`` (e.g. what ``tools/check_dataset.py`` writes) drops the listed files before
anything is checked; they count as skipped.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import tempfile
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine.dist import broadcast_object_list, get_dist_info, is_distributed
from mmengine.logging import MMLogger, print_log

from mmchest.io.dicom import DEFAULT_MAX_PIXELS
from mmchest.io.image_check import ImageCheck, scan_images

__all__ = ['BAD_FILES_POLICIES', 'BadFilesError', 'BadFilesMixin', 'read_exclude_file',
           'write_file_list', 'loader_max_pixels', 'skipped_note']

#: ``bad_files`` values.
BAD_FILES_POLICIES: Tuple[str, ...] = ('error', 'skip')
# Bad files listed in full in an error message or a log line; the file holds all of them.
_LISTED = 50
ExtraCheck = Callable[[dict, ImageCheck], Optional[str]]


class BadFilesError(ValueError):
    """Images of a dataset that will not load (or whose labels do not fit them).

    Attributes:
        bad (list[tuple[str, str]]): ``(path, reason)`` of the dataset's own split.
        other (list[tuple[str, str]]): ``(path, reason)`` in the other splits.
        list_file (str | None): Where the full list was written.
    """

    def __init__(self, message: str, bad: List[Tuple[str, str]],
                 other: List[Tuple[str, str]], list_file: Optional[str]) -> None:
        super().__init__(message)
        self.bad, self.other, self.list_file = bad, other, list_file


def _resolve(path: str, data_root: Optional[str]) -> str:
    if data_root and not osp.isabs(path):
        path = osp.join(data_root, path)
    return osp.normpath(osp.abspath(path))


def _relative(path: str, data_root: Optional[str]) -> str:
    """``path`` relative to ``data_root`` when it lies under it, else absolute."""
    absolute = osp.abspath(path)
    if data_root:
        root = osp.abspath(data_root)
        if absolute.startswith(root.rstrip(os.sep) + os.sep):
            return osp.relpath(absolute, root)
    return absolute


def read_exclude_file(path: str, data_root: Optional[str] = None) -> Dict[str, str]:
    """Read an exclude list: one file per line, ``path`` or ``path<TAB>reason``.

    Blank lines and lines starting with ``#`` are ignored. Relative paths are relative to
    ``data_root`` (as ``tools/check_dataset.py`` writes them); absolute paths are kept.

    Args:
        path (str): The list; a relative path is relative to ``data_root`` (when given).
        data_root (str, optional): The dataset's root. Defaults to None.

    Returns:
        dict[str, str]: Absolute normalised path -> reason ('' if none given).
    """
    if data_root and not osp.isabs(path):
        path = osp.join(data_root, path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'exclude_file {path} does not exist (write one with '
                                'tools/check_dataset.py CONFIG)')
    out: Dict[str, str] = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\r\n')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            name, _, reason = line.partition('\t')
            out[_resolve(name.strip(), data_root)] = reason.strip()
    return out


def write_file_list(path: str, entries: Iterable[Tuple[str, str]], data_root: Optional[str],
                    header: Sequence[str] = ()) -> str:
    """Write ``(path, reason)`` pairs in the format :func:`read_exclude_file` reads.

    Args:
        path (str): The output file (its folder is created).
        entries (Iterable[tuple[str, str]]): The files and why.
        data_root (str, optional): Paths under it are written relative to it.
        header (Sequence[str]): Comment lines written first (``# `` is added).

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        for line in header:
            f.write(f'# {line}\n')
        for name, reason in entries:
            reason = ' '.join(str(reason).split())  # one line, no tabs
            f.write(f'{_relative(name, data_root)}\t{reason}\n')
    return path


def loader_max_pixels(pipeline) -> Optional[int]:
    """The pixel budget of the pipeline's ``LoadDicomImageFromFile`` (else the default)."""
    for transform in getattr(pipeline, 'transforms', None) or []:
        if type(transform).__name__ == 'LoadDicomImageFromFile':
            return getattr(transform, 'max_pixels', DEFAULT_MAX_PIXELS)
    return DEFAULT_MAX_PIXELS


def skipped_note(dataset_meta: Optional[dict]) -> str:
    """The metric log's note on skipped images, or '' when none were skipped.

    Args:
        dataset_meta (dict, optional): A metric's ``dataset_meta`` (the dataset's metainfo).

    Returns:
        str: e.g. ``'; evaluated 34 of 36 images (2 skipped: see <file>)'``.
    """
    info = (dataset_meta or {}).get('bad_files')
    if not info or not info.get('skipped'):
        return ''
    where = f": see {info['list_file']}" if info.get('list_file') else ''
    return (f"; evaluated {info['total'] - info['skipped']} of {info['total']} images "
            f"({info['skipped']} skipped{where})")


def _log_dir() -> Optional[str]:
    log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
    return osp.dirname(osp.abspath(log_file)) if log_file else None


def _scan_on_rank0(paths: List[str], max_pixels: Optional[int]) -> Dict[str, ImageCheck]:
    """Rank 0 scans (through the cache); other ranks receive its results."""
    if not is_distributed():
        return scan_images(paths, max_pixels=max_pixels)
    rank, _ = get_dist_info()
    holder = [scan_images(paths, max_pixels=max_pixels) if rank == 0 else None]
    broadcast_object_list(holder, src=0)
    return holder[0]


def _format(entries: Sequence[Tuple[str, str]], limit: int = _LISTED) -> str:
    lines = [f'  {path}: {reason}' for path, reason in entries[:limit]]
    if len(entries) > limit:
        lines.append(f'  ... and {len(entries) - limit} more (see the list file)')
    return '\n'.join(lines)


class BadFilesMixin:
    """Checks a dataset's images at build time; see the module docstring.

    A dataset calls :meth:`_init_bad_files` in ``__init__`` (before ``super().__init__``)
    and :meth:`_screen_files` in ``load_data_list`` once its split is known.

    The datasets' arguments:

    - ``bad_files`` (str): ``'error'``: raise when this split holds an image that will not
      load, listing every bad image of all splits; ``'skip'``: drop this split's bad images
      (logged, written next to the log, counted by the metrics). Defaults to ``'error'``.
    - ``exclude_file`` (str, optional): Files to leave out (``path[<TAB>reason]`` per line,
      relative to ``data_root``), e.g. what ``tools/check_dataset.py`` writes.
      Defaults to None.

    Attributes:
        bad_files (list[tuple[str, str]]): ``(path, reason)`` dropped from this dataset
            (bad files with ``bad_files='skip'``, and ``exclude_file`` entries).
        bad_files_list (str | None): Where they were written.
    """

    def _init_bad_files(self, bad_files: str, exclude_file: Optional[str]) -> None:
        if bad_files not in BAD_FILES_POLICIES:
            raise ValueError(f'bad_files must be one of {BAD_FILES_POLICIES}, got {bad_files!r}')
        self.bad_files_policy = bad_files
        self.exclude_file = exclude_file
        self.bad_files: List[Tuple[str, str]] = []
        self.bad_files_list: Optional[str] = None

    def _split_label(self) -> str:
        split = getattr(self, 'split', None)
        return f'split {split!r}' if split is not None else 'all images'

    def _screen_files(self,
                      own: List[dict],
                      others: Sequence[dict] = (),
                      extra: Optional[ExtraCheck] = None,
                      files_of: Callable[[dict], Sequence[str]] = lambda d: [d['img_path']]
                      ) -> List[dict]:
        """Check the files of ``own`` (this split) and ``others``; drop or raise.

        Args:
            own (list[dict]): This dataset's entries.
            others (Sequence[dict]): Entries of the other splits of the same labelled set
                (checked and reported, never dropped from here).
            extra (Callable, optional): ``(entry, ImageCheck of its image) -> reason`` for
                label checks that need the header (e.g. RLE runs vs Rows x Columns).
            files_of (Callable): The files of an entry; the first is its image (entries
                sharing an image, e.g. one per expert, count as one image).

        Returns:
            list[dict]: ``own`` without its bad and excluded entries.
        """
        name = type(self).__name__
        data_root = getattr(self, 'data_root', None)
        excluded = (read_exclude_file(self.exclude_file, data_root)
                    if self.exclude_file else {})
        every = list(own) + list(others)
        paths = list(dict.fromkeys(p for d in every for p in files_of(d)
                                   if _resolve(p, None) not in excluded))
        if any(re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', p) for p in paths[:1]):
            print_log(f'{name}: images are not local files; not checked at build time '
                      '(tools/check_dataset.py checks them)', logger='current')
            return own
        checks = _scan_on_rank0(paths, loader_max_pixels(getattr(self, 'pipeline', None)))

        def problem(entry: dict) -> Optional[Tuple[str, str, bool]]:
            """(path, reason, excluded) of an entry that cannot be used, else None."""
            files = files_of(entry)
            for path in files:
                reason = excluded.get(_resolve(path, None))
                if reason is not None:
                    return files[0], f'excluded by {self.exclude_file}' + (
                        f' ({reason})' if reason else ''), True
            for path in files:
                reason = checks[path].reason
                if reason is not None:
                    return path, reason, False
            if extra is not None:
                reason = extra(entry, checks[files[0]])
                if reason is not None:
                    return files[0], reason, False
            return None

        kept, found_own = [], []
        for entry in own:
            found = problem(entry)
            if found is None:
                kept.append(entry)
            else:
                found_own.append(found)
        found_own = list(dict.fromkeys(found_own))
        dropped = [(p, r) for p, r, ex in found_own if not ex]
        skipped_excluded = [(p, r) for p, r, ex in found_own if ex]
        other_bad = list(dict.fromkeys(
            (f[0], f[1]) for f in map(problem, others) if f is not None and not f[2]))
        num_images = len({files_of(d)[0] for d in own})
        where = self._split_label()
        list_file = None
        if dropped or other_bad or skipped_excluded:
            list_file = self._write_list(dropped, other_bad, skipped_excluded, where)
        if skipped_excluded:
            print_log(f'{name} ({where}): {len(skipped_excluded)} image(s) left out, listed '
                      f'in exclude_file {self.exclude_file}', logger='current')
        if dropped and self.bad_files_policy == 'error':
            raise BadFilesError(self._error_message(name, where, num_images, dropped, other_bad,
                                                    list_file), dropped, other_bad, list_file)
        if own and not kept:
            raise BadFilesError(
                f'{name} ({where}): none of its {num_images} image(s) can be used:\n'
                + _format(dropped + skipped_excluded)
                + (f'\nFull list: {list_file}' if list_file else ''), dropped + skipped_excluded,
                other_bad, list_file)
        if dropped:
            print_log(f'{name} ({where}): skipped {len(dropped)} of {num_images} image(s) that '
                      f"will not load (bad_files='skip'; list: {list_file}):\n"
                      + _format(dropped), logger='current', level=30)
        if other_bad:
            print_log(f'{name} ({where}): {len(other_bad)} image(s) in the other splits of '
                      f'this download will not load (the datasets of those splits report '
                      f'them too; list: {list_file}):\n' + _format(other_bad),
                      logger='current', level=30)
        self.bad_files = dropped + skipped_excluded
        self.bad_files_list = list_file
        if self.bad_files:
            self._metainfo['bad_files'] = dict(
                split=getattr(self, 'split', None), total=num_images,
                skipped=len(self.bad_files), list_file=list_file)
        return kept

    def _write_list(self, dropped, other_bad, skipped_excluded, where: str) -> Optional[str]:
        """Write the bad files next to the log (rank 0), else to the temp folder."""
        name = type(self).__name__
        tag = re.sub(r'[^A-Za-z0-9_.-]+', '_', str(getattr(self, 'split', None) or 'all'))
        folder = _log_dir()
        rank, _ = get_dist_info()
        if folder is None:
            if rank != 0:
                return None
            folder = osp.join(tempfile.gettempdir(), f'mmchest-bad-files-{os.getpid()}')
        path = osp.join(folder, f'bad_files_{name}_{tag}.txt')
        if rank == 0:
            entries = ([(p, r) for p, r in dropped]
                       + [(p, r) for p, r in skipped_excluded]
                       + [(p, f'[other split] {r}') for p, r in other_bad])
            write_file_list(path, entries, getattr(self, 'data_root', None), header=[
                f'{name} ({where}): images that will not load, found when the dataset was '
                'built. Format: path relative to data_root<TAB>reason; usable as exclude_file.'])
        return path

    def _error_message(self, name, where, num_images, dropped, other_bad, list_file) -> str:
        text = (f'{name} ({where}): {len(dropped)} of {num_images} image(s) will not load'
                + (f', and {len(other_bad)} more in the other splits of this download'
                   if other_bad else '')
                + ' (checked when the dataset was built, before training or testing):\n'
                + _format(dropped))
        if other_bad:
            text += '\nin the other splits:\n' + _format(other_bad)
        text += ('\nFix or remove them; or list them in an exclude file (exclude_file=..., '
                 'e.g. the list written by tools/check_dataset.py, or this one); or set '
                 "bad_files='skip' to drop them (counted, listed, and left out of the "
                 'evaluated images).')
        if list_file:
            text += f'\nFull list: {list_file}'
        return text
