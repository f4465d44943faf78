"""Input files for the inference tools: folder expansion and identifier-free unique names."""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2

__all__ = ['INPUT_SUFFIXES', 'READ_ERRORS', 'collect_inputs', 'input_paths', 'unique_names',
           'resolve_inputs']

#: Suffixes picked up when an input is a folder (lower case).
INPUT_SUFFIXES: Tuple[str, ...] = ('.dcm', '.dicom', '.png')
#: Errors that mean "this input cannot be read" (DicomReadError is a ValueError).
READ_ERRORS = (OSError, ValueError, cv2.error)


def collect_inputs(inputs: Iterable[str],
                   suffixes: Sequence[str] = INPUT_SUFFIXES) -> Tuple[List[str], List[str]]:
    """Expand files and folders into a sorted, de-duplicated list of files.

    Args:
        inputs (Iterable[str]): Files (kept whatever their suffix) and folders (searched
            recursively for ``suffixes``).
        suffixes (Sequence[str]): Lower-case endings taken from folders.
            Defaults to :data:`INPUT_SUFFIXES`.

    Returns:
        tuple[list[str], list[str]]: The files (folder contents sorted, in the order of
        ``inputs``) and the inputs that do not exist.
    """
    files: List[str] = []
    missing: List[str] = []
    for item in inputs:
        item = os.fspath(item)
        if osp.isdir(item):
            found = [osp.join(root, name)
                     for root, _, names in os.walk(item, followlinks=True)
                     for name in names if name.lower().endswith(tuple(suffixes))]
            files.extend(sorted(found))
        elif osp.exists(item):
            files.append(item)
        else:
            missing.append(item)
    seen = set()
    files = [f for f in files if not (osp.abspath(f) in seen or seen.add(osp.abspath(f)))]
    return files, missing


def input_paths(inputs: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]
                ) -> List[str]:
    """The files an inferencer's ``__call__`` reads, in order: a folder is searched
    recursively (:func:`collect_inputs`, sorted); any other path is kept as given, so that a
    missing file fails when it is read.

    Args:
        inputs (str | PathLike | Iterable[str | PathLike]): One path or several.

    Returns:
        list[str]: The file paths.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    paths: List[str] = []
    for item in inputs:
        item = os.fspath(item)
        paths.extend(collect_inputs([item])[0] if osp.isdir(item) else [item])
    return paths


def unique_names(paths: Sequence[str], stems: Optional[Sequence[str]] = None) -> List[str]:
    """Output names: each file's stem; repeated stems get ``_2``, ``_3``, ... in order.

    Args:
        paths (Sequence[str]): Input files.
        stems (Sequence[str], optional): Names to use instead of the file stems (e.g. from
            :func:`mmchest.io.safe_names.safe_stem`). Defaults to None.

    Returns:
        list[str]: One name per path, all distinct.
    """
    if stems is None:
        stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    used: Dict[str, int] = {}
    taken = set()
    names = []
    for stem in stems:
        stem = stem or 'image'
        name, k = stem, used.get(stem, 1)
        while name in taken:
            k += 1
            name = f'{stem}_{k}'
        used[stem] = k
        taken.add(name)
        names.append(name)
    return names


def resolve_inputs(inputs: Sequence[str]) -> Tuple[List[str], List[str],
                                                    List[Tuple[str, str]]]:
    """Files to run on, their output names, and the inputs that cannot be used.

    Args:
        inputs (Sequence[str]): Files and folders from the command line.

    Returns:
        tuple: ``(paths, names, errors)``: the readable files, one identifier-free unique
        name each (:func:`mmchest.io.safe_names.safe_stem`, :func:`unique_names`), and
        ``(source, reason)`` for missing or unreadable inputs.
    """
    from mmchest.io.safe_names import safe_stem
    found, missing = collect_inputs(inputs)
    errors = [(item, 'FileNotFoundError: input does not exist') for item in missing]
    paths, stems = [], []
    for path in found:
        try:
            stems.append(safe_stem(path))
        except OSError as err:
            errors.append((path, f'{type(err).__name__}: {err}'.replace('\n', ' ')))
            continue
        paths.append(path)
    return paths, unique_names(paths, stems), errors
