"""Output folders that tools share safely: atomic writes, a manifest of options, locking.

- :func:`atomic_write` writes through a temporary named ``.mmchest-<tool>-<random>.tmp``
  (``tempfile.mkstemp``, so two writers never share one) beside the final file and renames
  it over the final name, so a reader sees the old file or the new one, never a part.
- :func:`remove_stale_temporaries` deletes only names with that exact prefix and suffix,
  in the folders it is given (not recursively).
- :class:`OutputDir` claims a folder for one run: it records the options that shape the
  outputs in ``.mmchest_<tool>.json`` (created atomically: write a temporary, ``os.link`` it
  to the final name) and refuses a run whose options differ, naming each option that
  changed. Every run holds a shared ``flock`` on the folder; leftover temporaries are removed
  only by a run that could take the lock exclusively (no other run is writing), and a run
  with ``overwrite`` holds it exclusively throughout. Where ``flock`` is not available
  (Windows, some network file systems) leftovers are kept and ``overwrite`` does not wait
  for other runs.

Pure module: the standard library only; no registry, no OpenMMLab imports.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import os.path as osp
import tempfile
import time
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

__all__ = ['TMP_SUFFIX', 'tmp_prefix', 'atomic_write', 'remove_stale_temporaries',
           'check_writable_dir', 'OutputDir', 'OptionsMismatchError', 'OutputDirBusyError',
           'format_option']

TMP_SUFFIX = '.tmp'
#: Version of the manifest document.
MANIFEST_FORMAT = 1


def tmp_prefix(tool: str) -> str:
    """Name prefix of ``tool``'s temporaries, e.g. ``'.mmchest-dicom_to_png-'``."""
    return f'.mmchest-{tool}-'


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 minus the umask, read once)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str, data: bytes, prefix: str) -> None:
    """Write ``data`` to ``path`` through a unique temporary file and a rename.

    Args:
        path (str): Final file; its folder is created if needed.
        data (bytes): Content.
        prefix (str): Temporary name prefix, see :func:`tmp_prefix`.

    Raises:
        OSError: Writing or renaming failed (the temporary is removed).
    """
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            if hasattr(os, 'fchmod'):
                os.fchmod(f.fileno(), _file_mode())  # mkstemp makes 0o600
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def remove_stale_temporaries(folders: Iterable[str], prefix: str) -> int:
    """Delete regular files named ``<prefix>*<TMP_SUFFIX>`` directly in ``folders``.

    Only call this when no other run can be writing there (see :class:`OutputDir`).

    Args:
        folders (Iterable[str]): Folders to look in (missing ones are skipped).
        prefix (str): The tool's prefix, see :func:`tmp_prefix`.

    Returns:
        int: How many files were removed.
    """
    removed = 0
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if (entry.name.startswith(prefix) and entry.name.endswith(TMP_SUFFIX)
                    and entry.is_file(follow_symlinks=False)):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(entry.path)
                    removed += 1
    return removed


def check_writable_dir(path: str, prefix: str, subdirs: Iterable[str] = ()) -> None:
    """Create ``path`` if needed and prove that files can be created in it.

    A temporary file named with ``prefix`` is created and removed in ``path`` and in each
    of ``subdirs`` (relative to ``path``) that already exists.

    Args:
        path (str): The output folder.
        prefix (str): Temporary name prefix, see :func:`tmp_prefix`.
        subdirs (Iterable[str]): Subfolders the run will write into.

    Raises:
        OSError: ``path`` cannot be created, is not a folder, or is not writable.
    """
    os.makedirs(path, exist_ok=True)
    for folder in [path] + [osp.join(path, s) for s in subdirs]:
        if folder != path and not osp.lexists(folder):
            continue
        if not osp.isdir(folder):
            raise NotADirectoryError(errno.ENOTDIR, 'not a folder', folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=TMP_SUFFIX)
        os.close(fd)
        os.remove(tmp)


def format_option(name: str, value: Any) -> str:
    """``--name value`` as on the command line (``no --name`` for None/False)."""
    if value is None or value is False:
        return f'no --{name}'
    if value is True:
        return f'--{name}'
    if isinstance(value, (list, tuple)):
        return f'--{name} ' + ' '.join(_fmt(v) for v in value)
    return f'--{name} {_fmt(value)}'


def _fmt(value: Any) -> str:
    return f'{value:g}' if isinstance(value, float) else str(value)


class OptionsMismatchError(RuntimeError):
    """The output folder was written with other options (the message names them)."""


class OutputDirBusyError(RuntimeError):
    """Another run holds the folder in a way this run cannot share."""


class _DirLock:
    """``flock`` on a folder's descriptor; each method answers None where unsupported."""

    def __init__(self, folder: str) -> None:
        self.fd: Optional[int] = None
        try:
            import fcntl
            self._fcntl = fcntl
            self.fd = os.open(folder, os.O_RDONLY)
        except (ImportError, OSError):
            self.fd = None

    def try_lock(self, exclusive: bool) -> Optional[bool]:
        if self.fd is None:
            return None
        fcntl = self._fcntl
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                        | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            return None
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


class OutputDir:
    """Claim an output folder for one run of ``tool`` with ``options``.

    On entry: creates the folder; removes leftover temporaries of ``tool`` in ``folders``
    when no other run is writing; then checks the manifest ``.mmchest_<tool>.json``:

    - absent: if ``has_outputs()`` says the folder already holds outputs (of an older
      version, or of something else; their options are unknown) the run is refused,
      otherwise the manifest is created with ``options``;
    - present with the same options: the run goes on (resuming);
    - present with other options: :class:`OptionsMismatchError` naming each changed
      option.

    With ``overwrite`` the folder must not be in use by another run; the manifest is
    replaced by this run's options (:attr:`previous` keeps the old ones) and the exclusive
    lock is held until :meth:`close`.

    Args:
        out (str): The output folder.
        tool (str): Tool name, e.g. ``'dicom_to_png'`` (manifest and temporary names).
        options (Mapping[str, Any]): JSON-serialisable options that shape the outputs,
            keyed by their command-line spelling without ``--``.
        overwrite (bool): Redo everything with these options. Defaults to False.
        folders (Iterable[str]): Folders (under ``out``) this run writes into, where
            leftover temporaries are looked for; ``out`` is always included.
        has_outputs (Callable[[], bool], optional): Whether the folder holds outputs.
        wait_s (float): How long to wait for another run's exclusive lock before
            :class:`OutputDirBusyError`. Defaults to 60.

    Attributes:
        removed (int): Leftover temporaries removed.
        previous (dict, optional): Options recorded before an ``overwrite``.
        manifest (str): The manifest path.
    """

    def __init__(self, out: str, tool: str, options: Mapping[str, Any], *,
                 overwrite: bool = False, folders: Iterable[str] = (),
                 has_outputs: Optional[Callable[[], bool]] = None,
                 wait_s: float = 60.0) -> None:
        self.out = out
        self.tool = tool
        self.options: Dict[str, Any] = json.loads(json.dumps(dict(options)))
        self.prefix = tmp_prefix(tool)
        self.manifest = osp.join(out, f'.mmchest_{tool}.json')
        self.removed = 0
        self.previous: Optional[Dict[str, Any]] = None
        os.makedirs(out, exist_ok=True)
        self._lock = _DirLock(out)
        folders = [out] + [osp.join(out, f) if not osp.isabs(f) else f for f in folders]
        try:
            self._claim(overwrite, folders, has_outputs, wait_s)
        except BaseException:
            self.close()
            raise

    def _claim(self, overwrite: bool, folders: list, has_outputs, wait_s: float) -> None:
        alone = self._lock.try_lock(exclusive=True)
        if overwrite:
            if alone is False:
                raise OutputDirBusyError(
                    f'another {self.tool} run is writing {self.out}; --overwrite needs the '
                    'folder to itself: wait for it to finish')
            if alone:
                self.removed = remove_stale_temporaries(folders, self.prefix)
            self.previous = self._read()
            self._write_doc(replace=True)
            return
        if alone:
            self.removed = remove_stale_temporaries(folders, self.prefix)
        if alone is not None:
            deadline = time.monotonic() + wait_s
            while not self._lock.try_lock(exclusive=False):
                if time.monotonic() > deadline:
                    raise OutputDirBusyError(
                        f'another {self.tool} run with --overwrite has been writing '
                        f'{self.out} for over {wait_s:g} s; wait for it to finish')
                time.sleep(0.2)
        self._check_or_create(has_outputs)

    # ------------------------------------------------------------------- manifest
    def _doc(self) -> dict:
        return dict(tool=self.tool, format=MANIFEST_FORMAT, options=self.options)

    def _read(self) -> Optional[Dict[str, Any]]:
        """The recorded options, or None when there is no manifest."""
        for attempt in range(50):  # a concurrent O_EXCL fallback may be mid-write
            try:
                with open(self.manifest) as f:
                    doc = json.load(f)
                break
            except FileNotFoundError:
                return None
            except ValueError:
                if attempt == 49:
                    raise OptionsMismatchError(
                        f'{self.manifest} is not valid JSON; remove it only if you know '
                        'how the outputs were made, or use another output folder') from None
                time.sleep(0.1)
        if not isinstance(doc, dict) or doc.get('tool') != self.tool \
                or not isinstance(doc.get('options'), dict):
            raise OptionsMismatchError(f'{self.manifest} is not a {self.tool} manifest')
        return doc['options']

    def _write_doc(self, replace: bool) -> bool:
        data = (json.dumps(self._doc(), indent=1, sort_keys=True) + '\n').encode()
        if replace:
            atomic_write(self.manifest, data, self.prefix)
            return True
        fd, tmp = tempfile.mkstemp(dir=self.out, prefix=self.prefix, suffix=TMP_SUFFIX)
        try:
            with os.fdopen(fd, 'wb') as f:
                if hasattr(os, 'fchmod'):
                    os.fchmod(f.fileno(), _file_mode())
                f.write(data)
            try:
                os.link(tmp, self.manifest)  # atomic; fails if another run was first
                return True
            except FileExistsError:
                return False
            except OSError:  # no hard links here: exclusive create instead
                try:
                    fd2 = os.open(self.manifest, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                  _file_mode())
                except FileExistsError:
                    return False
                with os.fdopen(fd2, 'wb') as f:
                    f.write(data)
                return True
        finally:
            with contextlib.suppress(OSError):
                os.remove(tmp)

    def _check_or_create(self, has_outputs) -> None:
        recorded = self._read()
        if recorded is None and has_outputs is not None and has_outputs():
            recorded = self._read()  # a concurrent run creates it before any output
            if recorded is None:
                raise OptionsMismatchError(
                    f'{self.out} already holds outputs but no {osp.basename(self.manifest)}'
                    ' (written by an earlier version or by something else), so their '
                    'options are unknown: use another output folder, or --overwrite to '
                    "redo every file with this run's options")
        if recorded is None:
            if self._write_doc(replace=False):
                return
            recorded = self._read()
        changed = self.changes(recorded)
        if changed:
            before = ', '.join(format_option(k, recorded.get(k)) for k in changed)
            now = ', '.join(format_option(k, self.options.get(k)) for k in changed)
            raise OptionsMismatchError(
                f'{self.out} was written with {before}; this run asks {now}: use another '
                'output folder, or --overwrite to redo every file with these options')

    def changes(self, recorded: Optional[Mapping[str, Any]]) -> list:
        """Option names whose value differs between ``recorded`` and this run."""
        if recorded is None:
            return []
        keys = list(self.options) + [k for k in recorded if k not in self.options]
        return [k for k in keys if recorded.get(k) != self.options.get(k)]

    # -------------------------------------------------------------------- context
    def close(self) -> None:
        """Release the folder lock."""
        self._lock.close()

    def __enter__(self) -> 'OutputDir':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
