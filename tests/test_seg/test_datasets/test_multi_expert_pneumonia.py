"""MultiExpertPneumoniaDataset + LoadExpertMasks on a hand-made tree, and the re-split tool."""
import json
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('mmseg')
# isort: off
from mmcv.transforms import LoadImageFromFile  # noqa: E402
from mmseg.datasets.transforms import RandomCrop, RandomFlip  # noqa: E402

from mmchest.io.expert_masks import ExpertMaskError  # noqa: E402
from mmchest.seg.datasets.multi_expert_pneumonia import (MissingExpertMaskError,  # noqa: E402
                                                         MultiExpertPneumoniaDataset,
                                                         SplitLeakWarning)
from mmchest.seg.transforms import LoadExpertMasks  # noqa: E402
# isort: on

H, W = 4, 6


def _row(cols):
    m = np.zeros((H, W), np.uint8)
    m[0, cols] = 1
    return m


# pneumonia/1_pa: the experts disagree at the edges of one lesion
E1, E2, E3 = _row([0, 1, 2]), _row([1, 2, 3]), _row([2, 3, 4])
MAJORITY, UNION, INTERSECTION = _row([1, 2, 3]), _row([0, 1, 2, 3, 4]), _row([2])
VOTES = np.zeros((H, W), np.uint8)
VOTES[0, :5] = [1, 2, 3, 2, 1]
# masks for id 2 (pneumonia/2): a normal image norma/2 must never get them
P2 = np.ones((H, W), np.uint8)


def _save_mask(path, mask, kind):
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == 'png':
        cv2.imwrite(str(path.with_suffix('.png')), mask * 255)
    elif kind == 'npz':
        np.savez_compressed(path.with_suffix('.npz'), mask=mask)
    else:  # single array under another key
        np.savez(path.with_suffix('.npz'), arr_0=mask.astype(bool))


def _save_img(path, value=50):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((H, W), value, np.uint8))


@pytest.fixture
def root(tmp_path):
    """pneumonia {1: pa+lat, 2: pa+lat, 3: pa}, norma {1: pa, 2: pa+lat}; expert3 lacks 3_pa."""
    r = tmp_path / 'mep'
    for cls, stems in {'pneumonia': ['1_pa', '1_lat', '2_pa', '2_lat', '3_pa'],
                       'norma': ['1_pa', '2_pa', '2_lat']}.items():
        for stem in stems:
            _save_img(r / 'images' / cls / f'{stem}.png')
    masks = r / 'masks'
    # png / npz mix, including a single-array npz under a non-'mask' key
    _save_mask(masks / 'expert1/1_pa', E1, 'png')
    _save_mask(masks / 'expert2/1_pa', E2, 'npz')
    _save_mask(masks / 'expert3/1_pa', E3, 'npz_other_key')
    for e, kind in (('expert1', 'npz'), ('expert2', 'png'), ('expert3', 'png')):
        _save_mask(masks / e / '1_lat', _row([5]), kind)
        _save_mask(masks / e / '2_pa', P2, kind)
        _save_mask(masks / e / '2_lat', P2, kind)
    _save_mask(masks / 'expert1/3_pa', _row([0]), 'png')
    _save_mask(masks / 'expert2/3_pa', _row([0]), 'png')
    (r / 'indices.json').write_text(json.dumps({
        'train': {'pneumonia': [1, 3], 'norma': [1]},
        'val': {'pneumonia': [2], 'norma': [2]},
    }))
    (masks / 'dup_list.json').write_text(json.dumps({'case_1': [1, 2]}))
    return r


def _build(root, **kwargs):
    kwargs.setdefault('ann_file', 'indices.json')  # the fixture's hand-made split file
    kwargs.setdefault('pipeline', [])
    kwargs.setdefault('missing_mask', 'skip')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', SplitLeakWarning)
        return MultiExpertPneumoniaDataset(data_root=str(root), **kwargs)


def _load(ds, i, fusion=None):
    results = LoadImageFromFile()(dict(ds.get_data_info(i)))
    return LoadExpertMasks(fusion)(results)


def _find(ds, study, view='pa'):
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        if info['study'] == study and info['view'] == view:
            return i
    raise AssertionError(f'{study} {view} not in dataset')


def test_data_info_contract_and_views(root):
    ds = _build(root, split='val', views='both')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(d['study'], d['view']) for d in infos] == [
        ('pneumonia/2', 'pa'), ('pneumonia/2', 'lat'), ('norma/2', 'pa'), ('norma/2', 'lat')]
    d = infos[0]
    assert d['img_path'] == str(root / 'images/pneumonia/2_pa.png')
    assert d['seg_map_path'] is None and d['seg_fields'] == []
    assert d['reduce_zero_label'] is False and 'label_map' in d
    assert d['mask_experts'] == ['expert1', 'expert2', 'expert3']
    assert d['fusion'] == 'majority' and d['image_class'] == 'pneumonia'
    assert set(d['expert_mask_paths']) == {'expert1', 'expert2', 'expert3'}
    assert len(_build(root, split='val', views='lat')) == 2
    assert ds.metainfo['classes'] == ('background', 'pneumonia')


def test_id_collision_normal_image_gets_empty_mask(root):
    ds = _build(root, split='val', views='pa')
    i = _find(ds, 'norma/2')
    info = ds.get_data_info(i)
    # masks/expert*/2_pa.* exist (they belong to pneumonia/2) but are not used
    assert (root / 'masks/expert2/2_pa.png').exists()
    assert info['expert_mask_paths'] == {'expert1': None, 'expert2': None, 'expert3': None}
    assert info['img_path'] == str(root / 'images/norma/2_pa.png')
    assert _load(ds, i)['gt_seg_map'].sum() == 0
    # while the pneumonia image with the same id does get them
    gt = _load(ds, _find(ds, 'pneumonia/2'))['gt_seg_map']
    np.testing.assert_array_equal(gt, P2)


def test_png_npz_mix_each_expert_read(root):
    ds = _build(root, split='train', fusion='each')
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['study'] == 'pneumonia/1']
    assert [ds.get_data_info(i)['mask_experts'] for i in idx] == [
        ['expert1'], ['expert2'], ['expert3']]
    paths = ds.get_data_info(idx[0])['expert_mask_paths']
    assert paths['expert1'].endswith('1_pa.png') and paths['expert2'].endswith('1_pa.npz')
    for i, expected in zip(idx, (E1, E2, E3)):
        out = _load(ds, i)
        assert out['gt_seg_map'].dtype == np.uint8
        np.testing.assert_array_equal(out['gt_seg_map'], expected)
    # normal images are repeated per expert too (class ratio unchanged)
    assert sum(ds.get_data_info(i)['study'] == 'norma/1' for i in range(len(ds))) == 3


@pytest.mark.parametrize('fusion,expected', [
    ('majority', MAJORITY), ('union', UNION), ('intersection', INTERSECTION), ('mean', VOTES)])
def test_fusion_modes_against_hand_made_masks(root, fusion, expected):
    ds = _build(root, split='train', fusion=fusion)
    out = _load(ds, _find(ds, 'pneumonia/1'))
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    assert 'gt_seg_map' in out['seg_fields']
    if fusion == 'mean':
        assert out['soft_target_votes'] == 3
    assert _load(ds, _find(ds, 'norma/1'))['gt_seg_map'].sum() == 0


@pytest.mark.parametrize('expert,expected', [(1, E1), ('expert2', E2), ('3', E3)])
def test_single_expert(root, expert, expected):
    ds = _build(root, split='train', experts=[expert], fusion='single')
    np.testing.assert_array_equal(_load(ds, _find(ds, 'pneumonia/1'))['gt_seg_map'], expected)
    with pytest.raises(ValueError, match="fusion='single' needs exactly one expert"):
        _build(root, split='train', experts=[1, 2], fusion='single')


def test_two_experts_majority_means_both(root):
    ds = _build(root, split='train', experts=[1, 2], fusion='majority')
    np.testing.assert_array_equal(_load(ds, _find(ds, 'pneumonia/1'))['gt_seg_map'],
                                  _row([1, 2]))


def test_missing_mask_error_policy(root):
    with pytest.raises(MissingExpertMaskError,
                       match=r'pneumonia/3_pa.png: no mask from expert3.*missing_mask=.skip'):
        _build(root, split='train', missing_mask='error')


def test_missing_mask_skip_policy_counts(root):
    ds = _build(root, split='train', missing_mask='skip')
    assert [ds.get_data_info(i)['study'] for i in range(len(ds))] == [
        'pneumonia/1', 'norma/1']
    assert ds.num_skipped == 1
    assert ds.missing_masks == {'expert1': 0, 'expert2': 0, 'expert3': 1}
    # an expert subset that has the mask: nothing skipped
    ds12 = _build(root, split='train', experts=[1, 2], missing_mask='error')
    assert ds12.num_skipped == 0 and len(ds12) == 3


def test_split_leak_warning(root):
    with pytest.warns(SplitLeakWarning,
                      match=r"indices.json puts 1 same-patient group of dup_list.json across "
                      r"train/val \(1 of them with studies in split 'val'"):
        ds = MultiExpertPneumoniaDataset(data_root=str(root), ann_file='indices.json',
                                         split='val', pipeline=[])
    assert ds.leaking_groups == {'case_1': {'train': ['1'], 'val': ['2']}}
    assert "the authors' split indices.json" in ds.split_description
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)  # no leak check without groups
        MultiExpertPneumoniaDataset(data_root=str(root), ann_file='indices.json', split='val',
                                    pipeline=[], dup_list=None)


def test_no_split_file_uses_every_image(root):
    ds = _build(root, ann_file='', views='both', experts=[1, 2])
    assert len(ds) == 8  # 5 pneumonia + 3 normal images


def test_bad_arguments_and_files(root):
    with pytest.raises(ValueError, match='views must be'):
        _build(root, views='ap')
    with pytest.raises(ValueError, match='fusion must be one of'):
        _build(root, fusion='vote')
    with pytest.raises(ValueError, match="no 'test' split"):
        _build(root, split='test')
    with pytest.raises(FileNotFoundError, match='data not found.*nowhere'):
        MultiExpertPneumoniaDataset(data_root=str(root / 'nowhere'), pipeline=[])
    with pytest.raises(ValueError, match="split='val' is not one of split_ratios"):
        MultiExpertPneumoniaDataset(data_root=str(root), split='val', pipeline=[],
                                    split_ratios=dict(train=0.8, test=0.2))
    with pytest.raises(ValueError, match='split_ratios keys must be in'):
        MultiExpertPneumoniaDataset(data_root=str(root), pipeline=[],
                                    split_ratios=dict(train=0.8, holdout=0.2))
    (root / 'indices.json').write_text(json.dumps({'train': [1, 2]}))
    with pytest.raises(ValueError, match=r"indices.json: \['train'\] must map class to ids"):
        _build(root, split='train')
    (root / 'indices.json').write_text(json.dumps({'train': {'pneumonia': [9]}}))
    with pytest.raises(FileNotFoundError, match='pneumonia/9 has no image'):
        _build(root, split='train')


def test_bad_mask_file_fails_clearly(root):
    np.savez(root / 'masks/expert1/2_lat.npz', a=P2, b=P2)
    ds = _build(root, split='val', views='lat')
    with pytest.raises(ExpertMaskError, match=r'2_lat.npz.*no .mask. array'):
        _load(ds, _find(ds, 'pneumonia/2', 'lat'))
    _save_mask(root / 'masks/expert1/2_pa', np.ones((3, 3), np.uint8), 'npz')
    ds = _build(root, split='val', views='pa')
    with pytest.raises(ValueError, match=r'2_pa.npz: mask shape \(3, 3\) != image shape'):
        _load(ds, _find(ds, 'pneumonia/2'))
    _save_mask(root / 'masks/expert1/2_pa', P2, 'png')  # now both 2_pa.png and 2_pa.npz
    with pytest.raises(ExpertMaskError, match='ambiguous expert mask.*2_pa.png and'):
        _build(root, split='val', views='pa')
    with pytest.raises(ValueError, match='mask shape'):
        _load(ds, _find(ds, 'pneumonia/2'))


def test_mask_follows_image_through_crop_and_flip(root):
    # image encodes the majority mask: bright where 2+ experts marked pneumonia
    img = np.where(MAJORITY == 1, 200, 10).astype(np.uint8)
    cv2.imwrite(str(root / 'images/pneumonia/1_pa.png'), img)
    ds = _build(root, split='train', fusion='majority')
    results = _load(ds, _find(ds, 'pneumonia/1'))
    results = RandomFlip(prob=1.0, direction='horizontal')(results)
    results = RandomCrop(crop_size=(3, 4))(results)
    assert results['gt_seg_map'].shape == (3, 4)
    np.testing.assert_array_equal(results['gt_seg_map'], results['img'][..., 0] > 100)


def test_resplit_tool_groups_patients_and_dataset_reads_it(root, cli, repo_root):
    (root / 'indices.json').write_text(json.dumps({
        'train': {'pneumonia': [1], 'norma': [1]},
        'val': {'pneumonia': [2], 'norma': []},
        'test': {'pneumonia': [3], 'norma': [2]}}))
    assert 'case_1' in json.loads((root / 'masks/dup_list.json').read_text())
    out = root / 'by_patient.json'
    proc = cli([sys.executable, repo_root / 'tools' / 'multi_expert_split.py', root, '--out',
                out, '--fractions', '0.5', '0.25', '0.25', '--seed', '1'])
    assert '1 same-patient group(s) span several splits' in proc.stdout
    split = json.loads(out.read_text())
    # the command writes what the package computes
    from mmchest.analysis.multi_expert_split import split_by_patient
    from mmchest.io.multi_expert_layout import indices_to_json
    computed = split_by_patient(str(root), (0.5, 0.25, 0.25), seed=1)
    assert computed.source_leaks == 1
    assert indices_to_json(computed.indices) == split
    where = {(c, i): s for s, b in split.items() for c, ids in b.items() for i in ids}
    assert sorted(where) == [('norma', 1), ('norma', 2), ('pneumonia', 1), ('pneumonia', 2),
                             ('pneumonia', 3)]
    assert where[('pneumonia', 1)] == where[('pneumonia', 2)]  # one patient, one split
    # no study in two splits, and both views of a study come from the same split
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)
        seen = {}
        for s in split:
            ds = MultiExpertPneumoniaDataset(data_root=str(root), ann_file='by_patient.json',
                                             split=s, views='both', missing_mask='skip',
                                             pipeline=[]) if any(split[s].values()) else None
            for i in range(len(ds) if ds else 0):
                study = ds.get_data_info(i)['study']
                assert seen.setdefault(study, s) == s
    assert seen['pneumonia/1'] == seen['pneumonia/2']


def test_positive_flags_follow_class_not_id(root):
    ds = _build(root, split='val', views='both')
    # pneumonia/2 (pa, lat) then norma/2 (pa, lat): same id, different class
    assert ds.get_positive_flags().tolist() == [True, True, False, False]


# ----------------------------------------------------- the zenodo download, without indices.json
@pytest.fixture(scope='module')
def zenodo(tmp_path_factory):
    """A synthetic tree laid out like the zenodo download (no indices.json), and the
    authors'-style split file kept aside."""
    from mmchest.synthetic import write_multi_expert
    info = write_multi_expert(tmp_path_factory.mktemp('zenodo'), 12, 12, size=64, seed=3)
    root = Path(info['root'])
    authors = root.parent / 'authors_indices.json'
    (root / 'indices.json').rename(authors)
    return root, authors, info


def _studies_of(ds):
    return {ds.get_data_info(i)['study'] for i in range(len(ds))}


def test_default_is_a_seeded_split_grouped_by_patient(zenodo):
    root, _, info = zenodo
    assert not (root / 'indices.json').exists()
    parts = {s: MultiExpertPneumoniaDataset(data_root=str(root), split=s, views='both',
                                            pipeline=[]) for s in ('train', 'val', 'test')}
    studies = {s: _studies_of(ds) for s, ds in parts.items()}
    assert all(studies.values())
    assert not (studies['train'] & studies['val'] or studies['train'] & studies['test']
                or studies['val'] & studies['test'])
    assert set().union(*studies.values()) == {f'{c}/{i}' for c in ('pneumonia', 'norma')
                                              for i in info['indices']['train'][c]
                                              + info['indices']['val'][c]
                                              + info['indices']['test'][c]}
    where = {st: s for s, sts in studies.items() for st in sts}
    for group in info['dup_list'].values():  # one patient, one split
        assert len({where[f'pneumonia/{i}'] for i in group}) == 1
    for ds in parts.values():  # both views of every study, in the same split
        views = {}
        for i in range(len(ds)):
            views.setdefault(ds.get_data_info(i)['study'], set()).add(
                ds.get_data_info(i)['view'])
        assert all(v == {'pa', 'lat'} for v in views.values())
        assert ds.leaking_groups == {}
    text = parts['val'].split_description
    assert "split 'val': seeded patient-grouped split (seed 0, train/val/test = 0.7/0.1/0.2" in text
    assert "NOT the authors' indices.json; scores are not comparable with the paper's" in text
    # the split depends on the files and the seed only, not on `views`
    pa = MultiExpertPneumoniaDataset(data_root=str(root), split='val', views='pa', pipeline=[])
    assert _studies_of(pa) == studies['val']


def test_default_split_is_what_the_resplit_tool_writes(zenodo, tmp_path):
    from mmchest.analysis.multi_expert_split import split_by_patient, write_split
    root, _, _ = zenodo
    out = tmp_path / 'by_patient.json'
    write_split(str(out), split_by_patient(str(root)).indices)  # tools/multi_expert_split.py
    written = json.loads(out.read_text())
    for s in ('train', 'val', 'test'):
        ds = MultiExpertPneumoniaDataset(data_root=str(root), split=s, views='both',
                                         pipeline=[])
        assert _studies_of(ds) == {f'{c}/{i}' for c, ids in written[s].items() for i in ids}


def test_authors_split_is_explicit_and_warns_about_leaking_groups(zenodo, tmp_path):
    import shutil

    from mmchest.data_root import DatasetNotFoundError
    from mmchest.io.multi_expert_layout import parse_dup_list, parse_indices, split_leaks
    root, authors, info = zenodo
    with pytest.raises(DatasetNotFoundError,
                       match=r"indices.json does not exist. The zenodo download has no split "
                       r"file: the authors' split is .src/indsices.json \(sic\).*ann_file=None"):
        MultiExpertPneumoniaDataset(data_root=str(root), ann_file='indices.json', split='train',
                                    pipeline=[])
    copy = tmp_path / 'with_indices'
    shutil.copytree(root, copy)
    shutil.copy(authors, copy / 'indices.json')
    expected = len(split_leaks(parse_indices(info['indices']),
                               parse_dup_list(info['dup_list'])))
    assert expected >= 1  # the synthetic file leaks, as the published one does
    with pytest.warns(SplitLeakWarning,
                      match=rf'indices.json puts {expected} same-patient groups? of '
                      r'dup_list.json across train/val/test'):
        ds = MultiExpertPneumoniaDataset(data_root=str(copy), ann_file='indices.json',
                                         split='train', views='both', pipeline=[])
    assert _studies_of(ds) == {f'{c}/{i}' for c, ids in info['indices']['train'].items()
                               for i in ids}
    assert "the authors' split indices.json" in ds.split_description
    assert 'not comparable' in ds.split_description


def test_seeded_split_skips_studies_without_the_requested_view(root):
    (root / 'indices.json').unlink()
    # pneumonia/3 and norma/1 have no lateral image: the seeded split skips them, counted
    ds = MultiExpertPneumoniaDataset(data_root=str(root), views='lat', missing_mask='skip',
                                     pipeline=[])
    assert _studies_of(ds) == {'pneumonia/1', 'pneumonia/2', 'norma/2'}
    assert ds.num_missing_views == 2
