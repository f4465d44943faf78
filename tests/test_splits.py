"""Seeded, stratified, grouped splits."""
import pytest

from mmchest.splits import grouped_stratified_split, leaking_groups


def test_stratified_split_keeps_label_shares_and_covers_everything():
    labels = [1] * 20 + [0] * 80
    out = grouped_stratified_split(labels, {'train': 0.8, 'val': 0.2}, seed=3)
    assert sorted(out['train'] + out['val']) == list(range(100))
    assert not set(out['train']) & set(out['val'])
    assert sum(labels[i] for i in out['val']) == 4  # 20% of the 20 positives
    assert len(out['val']) == 20


def test_split_is_deterministic_and_seed_dependent():
    labels = [i % 2 for i in range(50)]
    a = grouped_stratified_split(labels, {'train': 0.7, 'val': 0.3}, seed=1)
    b = grouped_stratified_split(labels, {'train': 0.7, 'val': 0.3}, seed=1)
    c = grouped_stratified_split(labels, {'train': 0.7, 'val': 0.3}, seed=2)
    assert a == b
    assert a != c


def test_groups_never_span_two_splits():
    groups = [i // 3 for i in range(60)]  # 20 patients, 3 images each
    labels = [g % 2 for g in groups]
    out = grouped_stratified_split(labels, {'train': 0.6, 'val': 0.2, 'test': 0.2},
                                   seed=0, groups=groups)
    split_of_group = {}
    for name, idxs in out.items():
        for i in idxs:
            assert split_of_group.setdefault(groups[i], name) == name
    assert {len(v) for v in out.values()} == {36, 12}


def test_bad_fractions_and_lengths_raise():
    with pytest.raises(ValueError, match='fractions'):
        grouped_stratified_split([0, 1], {'train': -1, 'val': 0.5})
    with pytest.raises(ValueError, match='differ in length'):
        grouped_stratified_split([0, 1], {'train': 1}, groups=[0])


def test_leaking_groups_reports_members_per_split():
    groups = {'case_1': [1, 2], 'case_2': [3, 4], 'case_3': [5, 99]}
    split_of = {1: 'train', 2: 'val', 3: 'test', 4: 'test', 5: 'train'}
    assert leaking_groups(groups, split_of) == {'case_1': {'train': [1], 'val': [2]}}
