"""MultiExpertPneumoniaDataset + LoadExpertMasks on a hand-made tree, and the re-split tool."""
import importlib.util
import json
import warnings

import cv2
import numpy as np
import pytest

pytest.importorskip('mmseg')
from mmcv.transforms import LoadImageFromFile  # noqa: E402
from mmseg.datasets.transforms import RandomCrop, RandomFlip  # noqa: E402

from mmchest.io.expert_masks import ExpertMaskError  # noqa: E402
from mmchest.seg.datasets.multi_expert_pneumonia import (  # noqa: E402
    MissingExpertMaskError, MultiExpertPneumoniaDataset, SplitLeakWarning)
from mmchest.seg.transforms_multi_expert import LoadExpertMasks  # noqa: E402

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
    with pytest.warns(SplitLeakWarning, match=r"1 same-patient group.*split 'val'"):
        ds = MultiExpertPneumoniaDataset(data_root=str(root), split='val', pipeline=[])
    assert ds.leaking_groups == {'case_1': {'train': ['1'], 'val': ['2']}}
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)  # no leak check without groups
        MultiExpertPneumoniaDataset(data_root=str(root), split='val', pipeline=[],
                                    dup_list=None)


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


def _tool():
    spec = importlib.util.spec_from_file_location(
        'multi_expert_split', str(__import__('pathlib').Path(__file__).parents[2]
                                  / 'tools/multi_expert_split.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resplit_tool_groups_patients_and_dataset_reads_it(root, capsys):
    (root / 'indices.json').write_text(json.dumps({
        'train': {'pneumonia': [1], 'norma': [1]},
        'val': {'pneumonia': [2], 'norma': []},
        'test': {'pneumonia': [3], 'norma': [2]}}))
    assert 'case_1' in json.loads((root / 'masks/dup_list.json').read_text())
    out = root / 'by_patient.json'
    assert _tool().main([str(root), '--out', str(out), '--fractions', '0.5', '0.25', '0.25',
                         '--seed', '1']) == 0
    assert '1 same-patient group(s) span several splits' in capsys.readouterr().out
    split = json.loads(out.read_text())
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
