"""Seeded train/val/test splits, stratified by a label and grouped by patient (numpy only).

Used by every dataset in mmchest: SIIM (stratified by positive/negative), RSNA (by Target,
one patient per group) and the multi-expert set (by class, grouped by same-patient lists and
by study so both views of a study stay together).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Hashable, List, Mapping, Optional, Sequence

import numpy as np


def _normalise_fractions(fractions: Mapping[str, float]) -> 'OrderedDict[str, float]':
    if not fractions:
        raise ValueError('fractions must name at least one split')
    values = np.array(list(fractions.values()), dtype=float)
    if (values < 0).any() or values.sum() <= 0:
        raise ValueError(f'split fractions must be >= 0 and sum to > 0, got {dict(fractions)}')
    return OrderedDict((k, float(v) / values.sum()) for k, v in fractions.items())


def grouped_stratified_split(labels: Sequence[Hashable],
                             fractions: Mapping[str, float],
                             seed: int = 0,
                             groups: Optional[Sequence[Hashable]] = None
                             ) -> Dict[str, List[int]]:
    """Split item indices into named subsets, stratified by label, never splitting a group.

    Every group (a patient, say) goes to exactly one split. A group's stratum is the label
    of its first item; within each stratum the groups are shuffled with ``seed`` and cut at
    the cumulative fractions (largest remainders), so each split gets the same share of
    every label, up to rounding by whole groups.

    Args:
        labels (Sequence[Hashable]): Stratification label of each item (e.g. 0/1).
        fractions (Mapping[str, float]): Split name to relative size, e.g.
            ``{'train': 0.8, 'val': 0.2}``; normalised to sum to 1.
        seed (int): Random seed. Defaults to 0.
        groups (Sequence[Hashable], optional): Group id of each item; items sharing one
            always land in the same split. Defaults to None (every item its own group).

    Returns:
        dict[str, list[int]]: Sorted item indices for each split name, in the order of
        ``fractions``.
    """
    fracs = _normalise_fractions(fractions)
    n = len(labels)
    if groups is None:
        groups = list(range(n))
    if len(groups) != n:
        raise ValueError(f'labels ({n}) and groups ({len(groups)}) differ in length')

    members: 'OrderedDict[Hashable, List[int]]' = OrderedDict()
    for idx, group in enumerate(groups):
        members.setdefault(group, []).append(idx)
    strata: 'OrderedDict[Hashable, List[Hashable]]' = OrderedDict()
    for group, idxs in members.items():
        strata.setdefault(labels[idxs[0]], []).append(group)

    rng = np.random.default_rng(seed)
    out: Dict[str, List[int]] = {name: [] for name in fracs}
    names = list(fracs)
    for stratum in sorted(strata, key=repr):
        stratum_groups = strata[stratum]
        order = rng.permutation(len(stratum_groups))
        counts = _largest_remainder(len(stratum_groups), list(fracs.values()))
        start = 0
        for name, count in zip(names, counts):
            for g in order[start:start + count]:
                out[name].extend(members[stratum_groups[g]])
            start += count
    return {name: sorted(idxs) for name, idxs in out.items()}


def _largest_remainder(total: int, fractions: List[float]) -> List[int]:
    """Integer counts summing to ``total`` that follow ``fractions`` as closely as possible."""
    raw = np.asarray(fractions) * total
    counts = np.floor(raw).astype(int)
    remainder = total - counts.sum()
    for i in np.argsort(-(raw - counts), kind='stable')[:remainder]:
        counts[i] += 1
    return counts.tolist()


def leaking_groups(groups: Mapping[Hashable, Sequence[Hashable]],
                   split_of: Mapping[Hashable, str]) -> Dict[Hashable, Dict[str, List[Hashable]]]:
    """Find groups (patients) whose members sit in more than one split.

    Args:
        groups (Mapping): Group name to member ids (e.g. ``dup_list.json``).
        split_of (Mapping): Member id to split name; members absent here are ignored.

    Returns:
        dict: For each leaking group, split name to the members found there.
    """
    leaks = {}
    for name, ids in groups.items():
        where: Dict[str, List[Hashable]] = {}
        for member in ids:
            if member in split_of:
                where.setdefault(split_of[member], []).append(member)
        if len(where) > 1:
            leaks[name] = where
    return leaks
