"""indices.json / dup_list.json parsing, leak check and grouped re-split
(mmchest/io/multi_expert_layout.py)."""
import pytest

from mmchest.io.multi_expert_layout import (LayoutError, indices_to_json, parse_dup_list,
                                            parse_indices, resplit, scan_images, split_leaks)

AUTHORS = {
    'train': {'pneumonia': [1, 2, 3], 'norma': [1, 2]},
    'val': {'pneumonia': [4], 'norma': [3]},
    'test': {'pneumonia': ['5'], 'norma': []},
}


def test_parse_indices_authors_shape_ids_as_strings():
    out = parse_indices(AUTHORS)
    assert out['train'] == {'pneumonia': ['1', '2', '3'], 'norma': ['1', '2']}
    assert out['test'] == {'pneumonia': ['5'], 'norma': []}
    # the same id under both classes is two patients, not a leak
    assert '1' in out['train']['norma'] and '1' in out['train']['pneumonia']
    assert parse_indices({'val': {'pneumonia': [7]}})['val'] == {'pneumonia': ['7'], 'norma': []}


@pytest.mark.parametrize('data,match', [
    ([1, 2], 'expected .*got list'),
    ({}, 'empty'),
    ({'training': {'pneumonia': []}}, "unknown split 'training'"),
    ({'train': [1, 2]}, r"\['train'\] must map class to ids"),
    ({'train': {'pneumonia': [1], 'normal': [2]}}, r"unknown class key\(s\) \['normal'\]"),
    ({'train': {'pneumonia': 3}}, 'expected a list of ids, got int'),
    ({'train': {'pneumonia': [1.5]}}, 'ids must be integers or strings, got 1.5'),
    ({'train': {'pneumonia': [True]}}, 'ids must be integers or strings'),
    ({'train': {'pneumonia': ['../x']}}, 'invalid id'),
    ({'train': {'pneumonia': [1, '1']}}, "id '1' is listed twice"),
    ({'train': {'norma': [4]}, 'test': {'norma': [4]}}, "norma/4 is in both 'train' and 'test'"),
])
def test_parse_indices_rejects_other_shapes(data, match):
    with pytest.raises(LayoutError, match=match):
        parse_indices(data, source='my/indices.json')


def test_parse_dup_list():
    assert parse_dup_list({'case_1': [1, 7], 'case_2': ['3']}) == {'case_1': ['1', '7'],
                                                                     'case_2': ['3']}
    with pytest.raises(LayoutError, match=r'dup_list.json: expected \{"case_N"'):
        parse_dup_list([[1, 2]])
    with pytest.raises(LayoutError, match=r"\['case_1'\]: expected a list"):
        parse_dup_list({'case_1': 4})


def test_split_leaks_pneumonia_only():
    idx = parse_indices(AUTHORS)
    groups = parse_dup_list({'case_1': [1, 4], 'case_2': [2, 3], 'case_3': [5, 9]})
    # case_1 spans train and val; case_2 is inside train; '9' is in no split
    assert split_leaks(idx, groups) == {'case_1': {'train': ['1'], 'val': ['4']}}
    assert split_leaks(idx, groups, split='val') == {'case_1': {'train': ['1'], 'val': ['4']}}
    assert split_leaks(idx, groups, split='test') == {}
    # a normal study with the same id as a pneumonia group member is another patient
    idx2 = parse_indices({'train': {'pneumonia': [1]}, 'val': {'norma': [4]}})
    assert split_leaks(idx2, {'case_1': ['1', '4']}) == {}


def test_scan_images(tmp_path):
    for rel in ('pneumonia/2_pa.png', 'pneumonia/2_lat.png', 'pneumonia/10_pa.png',
                'norma/2_pa.png', 'norma/x_y_lat.png', 'norma/notes.txt', 'norma/3_ap.png'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'')
    out = scan_images(tmp_path)
    assert list(out['pneumonia']) == ['2', '10']  # numeric order
    assert out['pneumonia']['2'] == {'pa': str(tmp_path / 'pneumonia/2_pa.png'),
                                     'lat': str(tmp_path / 'pneumonia/2_lat.png')}
    assert out['norma'] == {'2': {'pa': str(tmp_path / 'norma/2_pa.png')},
                            'x_y': {'lat': str(tmp_path / 'norma/x_y_lat.png')}}
    assert list(scan_images(tmp_path, views=['lat'])['pneumonia']) == ['2']


def _split_of(indices):
    return {(cls, i): name for name, by_class in indices.items()
            for cls, ids in by_class.items() for i in ids}


def test_resplit_grouped_stratified_no_patient_in_two_splits():
    studies = {'pneumonia': [str(i) for i in range(1, 31)],
               'norma': [str(i) for i in range(1, 31)]}  # same ids, other patients
    groups = {'case_1': ['1', '2', '3'], 'case_2': ['3', '4'],  # share '3': one patient
              'case_3': ['10', '20', '30']}
    fracs = {'train': 0.6, 'val': 0.2, 'test': 0.2}
    out = resplit(studies, groups, fracs, seed=3)
    where = _split_of(out)
    # every study exactly once
    assert sorted(where) == sorted((c, i) for c, ids in studies.items() for i in ids)
    assert sum(len(ids) for b in out.values() for ids in b.values()) == 60
    # merged group 1-2-3-4 and group 10-20-30 each in one split
    assert len({where[('pneumonia', i)] for i in '1234'}) == 1
    assert len({where[('pneumonia', i)] for i in ('10', '20', '30')}) == 1
    assert split_leaks(out, groups) == {}
    # stratified: normals are singletons -> exactly 18/6/6
    assert [len(out[s]['norma']) for s in fracs] == [18, 6, 6]
    # seeded: same seed same split, another seed differs
    assert resplit(studies, groups, fracs, seed=3) == out
    assert resplit(studies, groups, fracs, seed=4) != out


def test_resplit_rejects_unknown_names_and_json_shape():
    with pytest.raises(LayoutError, match='unknown class'):
        resplit({'normal': ['1']}, None, {'train': 1})
    with pytest.raises(LayoutError, match='unknown split'):
        resplit({'norma': ['1']}, None, {'training': 1})
    as_json = indices_to_json({'train': {'pneumonia': ['12', '007', 'a1'], 'norma': []}})
    assert as_json == {'train': {'pneumonia': [12, '007', 'a1'], 'norma': []}}
    assert parse_indices(as_json)['train']['pneumonia'] == ['12', '007', 'a1']
