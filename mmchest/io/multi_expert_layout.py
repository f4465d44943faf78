"""Layout, split files and same-patient groups of the multi-expert pneumonia dataset (pure).

Layout: ``images/{pneumonia,norma}/<id>_{pa,lat}.png`` and
``masks/expert{1,2,3}/<id>_<view>.png|.npz`` (masks exist for pneumonia images only).
Ids repeat across the two class folders (``pneumonia/2_pa.png`` and ``norma/2_pa.png`` are
different patients), so a study is the pair ``(class, id)``, never the id alone.

``indices.json``: ``{"train"|"val"|"test": {"pneumonia": [ids], "norma": [ids]}}``.
``masks/dup_list.json``: ``{"case_N": [pneumonia ids of one patient]}``.
Ids may be JSON integers or strings; they are returned as strings (``2`` -> ``'2'``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

from mmchest.splits import grouped_stratified_split, leaking_groups

__all__ = [
    'LayoutError', 'CLASS_DIRS', 'VIEWS', 'SPLITS', 'DEFAULT_SPLIT_RATIOS', 'id_sort_key',
    'load_json', 'parse_indices', 'parse_dup_list', 'split_leaks', 'scan_images', 'resplit',
    'indices_to_json'
]

PathLike = Union[str, 'os.PathLike[str]']
Indices = Dict[str, Dict[str, List[str]]]

#: Class folders: pneumonia, and 'norma' (normal) as the dataset spells it.
CLASS_DIRS: Tuple[str, ...] = ('pneumonia', 'norma')
#: Views: frontal (posteroanterior) and lateral.
VIEWS: Tuple[str, ...] = ('pa', 'lat')
#: Split names accepted in ``indices.json``.
SPLITS: Tuple[str, ...] = ('train', 'val', 'test')
#: Relative split sizes of the seeded patient-grouped split: the dataset's default
#: (``ann_file=None``) and ``tools/multi_expert_split.py``'s, so both give the same split.
DEFAULT_SPLIT_RATIOS: Dict[str, float] = {'train': 0.7, 'val': 0.1, 'test': 0.2}

_STEM_RE = re.compile(r'^(?P<id>.+)_(?P<view>pa|lat)$')


class LayoutError(ValueError):
    """A split file, group file or folder that does not follow the dataset's layout."""


def id_sort_key(study_id: str) -> Tuple[int, Any]:
    """Sort key putting numeric ids in numeric order before other ids."""
    return (0, int(study_id), '') if study_id.isdigit() else (1, 0, study_id)


def load_json(path: PathLike) -> Any:
    """Load a JSON file, raising :class:`LayoutError` naming the file if it is not JSON.

    Args:
        path (str | os.PathLike): The file.

    Returns:
        Any: The decoded JSON value.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise LayoutError(f'{path}: not valid JSON ({err})') from None


def _as_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LayoutError(f'{where}: ids must be integers or strings, got {value!r}')
    text = str(value).strip()
    if not text or '/' in text or '\\' in text:
        raise LayoutError(f'{where}: invalid id {value!r}')
    return text


def _id_list(value: Any, where: str) -> List[str]:
    if not isinstance(value, list):
        raise LayoutError(f'{where}: expected a list of ids, got {type(value).__name__}')
    ids = [_as_id(v, where) for v in value]
    seen = set()
    for i in ids:
        if i in seen:
            raise LayoutError(f'{where}: id {i!r} is listed twice')
        seen.add(i)
    return ids


def parse_indices(data: Any, source: str = 'indices.json') -> Indices:
    """Validate the authors' split file and return it with string ids.

    Args:
        data (Any): The decoded JSON, ``{split: {class: [ids]}}`` with split in
            :data:`SPLITS` and class in :data:`CLASS_DIRS`; a missing class means no ids.
        source (str): Name used in error messages. Defaults to 'indices.json'.

    Returns:
        dict[str, dict[str, list[str]]]: ``{split: {'pneumonia': ids, 'norma': ids}}``.

    Raises:
        LayoutError: On any other shape, a non-id entry, or a study listed in two splits.
    """
    expected = ('expected {"train"|"val"|"test": {"pneumonia": [ids], "norma": [ids]}}')
    if not isinstance(data, dict) or not data:
        raise LayoutError(f'{source}: {expected}, got {type(data).__name__}'
                          + (' (empty)' if isinstance(data, dict) else ''))
    out: Indices = {}
    first_split: Dict[Tuple[str, str], str] = {}
    for split, by_class in data.items():
        if split not in SPLITS:
            raise LayoutError(f'{source}: unknown split {split!r}; {expected}')
        if not isinstance(by_class, dict):
            raise LayoutError(f'{source}: [{split!r}] must map class to ids; {expected}, '
                              f'got {type(by_class).__name__}')
        unknown = set(by_class) - set(CLASS_DIRS)
        if unknown:
            raise LayoutError(f'{source}: [{split!r}] has unknown class key(s) '
                              f'{sorted(unknown)}; expected {list(CLASS_DIRS)}')
        out[split] = {}
        for cls in CLASS_DIRS:
            ids = _id_list(by_class.get(cls, []), f'{source}: [{split!r}][{cls!r}]')
            for i in ids:
                if (cls, i) in first_split:
                    raise LayoutError(f'{source}: {cls}/{i} is in both '
                                      f'{first_split[(cls, i)]!r} and {split!r}')
                first_split[(cls, i)] = split
            out[split][cls] = ids
    return out


def parse_dup_list(data: Any, source: str = 'dup_list.json') -> Dict[str, List[str]]:
    """Validate the same-patient groups file and return it with string ids.

    Args:
        data (Any): The decoded JSON, ``{"case_N": [pneumonia ids]}``.
        source (str): Name used in error messages. Defaults to 'dup_list.json'.

    Returns:
        dict[str, list[str]]: Group name to pneumonia ids.

    Raises:
        LayoutError: If ``data`` is not a mapping of names to id lists.
    """
    if not isinstance(data, dict):
        raise LayoutError(f'{source}: expected {{"case_N": [ids]}}, got {type(data).__name__}')
    return {str(name): _id_list(ids, f'{source}: [{name!r}]') for name, ids in data.items()}


def split_leaks(indices: Indices, dup_groups: Mapping[str, Sequence[str]],
                split: Optional[str] = None) -> Dict[Hashable, Dict[str, List[str]]]:
    """Same-patient groups whose pneumonia studies sit in more than one split.

    Args:
        indices (dict): Output of :func:`parse_indices`.
        dup_groups (Mapping[str, Sequence[str]]): Output of :func:`parse_dup_list`.
        split (str, optional): Only report groups with a member in this split.
            Defaults to None (all leaking groups).

    Returns:
        dict: ``{group: {split: [ids]}}`` for each leaking group.
    """
    split_of = {i: name for name, by_class in indices.items()
                for i in by_class.get('pneumonia', [])}
    leaks = leaking_groups(dup_groups, split_of)
    if split is not None:
        leaks = {g: where for g, where in leaks.items() if split in where}
    return leaks


def scan_images(image_root: PathLike,
                views: Sequence[str] = VIEWS) -> Dict[str, Dict[str, Dict[str, str]]]:
    """List the images on disk, by class, id and view.

    Files whose name is not ``<id>_<view>.png`` are ignored.

    Args:
        image_root (str | os.PathLike): The ``images`` folder.
        views (Sequence[str]): Views to keep. Defaults to :data:`VIEWS`.

    Returns:
        dict: ``{class: {id: {view: path}}}`` for the classes in :data:`CLASS_DIRS`.
    """
    image_root = os.fspath(image_root)
    out: Dict[str, Dict[str, Dict[str, str]]] = {}
    for cls in CLASS_DIRS:
        folder = osp.join(image_root, cls)
        studies: Dict[str, Dict[str, str]] = {}
        names = sorted(os.listdir(folder)) if osp.isdir(folder) else []
        for name in names:
            stem, ext = osp.splitext(name)
            match = _STEM_RE.match(stem)
            if ext.lower() != '.png' or match is None or match['view'] not in views:
                continue
            studies.setdefault(match['id'], {})[match['view']] = osp.join(folder, name)
        out[cls] = {i: studies[i] for i in sorted(studies, key=id_sort_key)}
    return out


def _dup_group_of(dup_groups: Mapping[str, Sequence[str]]) -> Dict[str, str]:
    """Map each pneumonia id to one representative group, merging groups that share ids."""
    parent: Dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name in sorted(dup_groups):
        members = list(dup_groups[name])
        for member in members[1:]:
            parent[find(member)] = find(members[0])
        if members:
            find(members[0])
    return {member: find(member) for member in parent}


def resplit(studies: Mapping[str, Sequence[str]],
            dup_groups: Optional[Mapping[str, Sequence[str]]],
            fractions: Mapping[str, float],
            seed: int = 0) -> Indices:
    """Seeded re-split stratified by class and grouped by patient.

    A study (class + id) carries both its views, so both views always share a split; the
    pneumonia studies of one ``dup_list.json`` group (groups sharing an id are merged) also
    share a split. Normal studies are their own groups (ids in ``norma`` are other patients).

    Args:
        studies (Mapping[str, Sequence[str]]): Class to study ids, e.g. from
            :func:`scan_images` or the union of an ``indices.json``.
        dup_groups (Mapping[str, Sequence[str]], optional): Same-patient pneumonia groups.
        fractions (Mapping[str, float]): Split name (in :data:`SPLITS`) to relative size.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: ``{split: {'pneumonia': ids, 'norma': ids}}`` with ids sorted.

    Raises:
        LayoutError: On an unknown class or split name.
    """
    bad = set(studies) - set(CLASS_DIRS)
    if bad:
        raise LayoutError(f'unknown class(es) {sorted(bad)}; expected {list(CLASS_DIRS)}')
    bad = set(fractions) - set(SPLITS)
    if bad:
        raise LayoutError(f'unknown split name(s) {sorted(bad)}; expected {list(SPLITS)}')
    group_of = _dup_group_of(dup_groups or {})
    items: List[Tuple[str, str]] = [(cls, i) for cls in CLASS_DIRS
                                    for i in sorted(studies.get(cls, []), key=id_sort_key)]
    labels = [cls for cls, _ in items]
    groups = [('dup', group_of[i]) if cls == 'pneumonia' and i in group_of else (cls, i)
              for cls, i in items]
    parts = grouped_stratified_split(labels, fractions, seed=seed, groups=groups)
    out: Indices = {}
    for name, idxs in parts.items():
        out[name] = {cls: [] for cls in CLASS_DIRS}
        for k in idxs:
            cls, i = items[k]
            out[name][cls].append(i)
        for cls in CLASS_DIRS:
            out[name][cls].sort(key=id_sort_key)
    return out


def indices_to_json(indices: Indices) -> Dict[str, Dict[str, List[Union[int, str]]]]:
    """Convert split indices to the authors' JSON shape (numeric ids written as integers).

    Args:
        indices (dict): ``{split: {class: [ids]}}``.

    Returns:
        dict: The same with ``'12'`` written as ``12`` (``'007'`` stays a string).
    """
    return {split: {cls: [int(i) if i.isdigit() and str(int(i)) == i else i for i in ids]
                    for cls, ids in by_class.items()}
            for split, by_class in indices.items()}
