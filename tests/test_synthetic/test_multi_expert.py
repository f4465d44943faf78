"""Tests for mmchest.synthetic.multi_expert: the multi-expert pneumonia layout."""
import json
import re

import cv2
import numpy as np
import pytest

from mmchest.synthetic import expert_mask, multi_expert_cases, write_multi_expert

SIZE = 64


# ---------------------------------------------------------------------------- multi-expert
@pytest.fixture(scope='module')
def expert_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('multi')
    info = write_multi_expert(root, 8, 6, size=SIZE, seed=2)
    return root / 'multi_expert_pneumonia', info


def test_multi_expert_layout(expert_root):
    out, info = expert_root
    studies = {cls: sorted({p.stem.rsplit('_', 1)[0] for p in (out / 'images' / cls).glob('*')})
               for cls in ('pneumonia', 'norma')}
    assert len(studies['pneumonia']) == 8 and len(studies['norma']) == 6
    assert set(studies['pneumonia']) & set(studies['norma'])  # ids repeat across folders
    for cls, ids in studies.items():
        for i in ids:
            for view in ('pa', 'lat'):
                img = cv2.imread(str(out / 'images' / cls / f'{i}_{view}.png'),
                                 cv2.IMREAD_UNCHANGED)
                assert img.dtype == np.uint8 and img.shape == (SIZE, SIZE)
    suffixes = {e: {p.suffix for p in (out / 'masks' / f'expert{e}').iterdir()} for e in (1, 2, 3)}
    assert suffixes == {1: {'.png'}, 2: {'.npz'}, 3: {'.png', '.npz'}}
    for e in (1, 2, 3):  # masks for pneumonia images only, both views
        stems = sorted(p.stem for p in (out / 'masks' / f'expert{e}').iterdir())
        assert stems == sorted(f'{i}_{v}' for i in studies['pneumonia'] for v in ('pa', 'lat'))
    with np.load(next((out / 'masks' / 'expert2').glob('*.npz'))) as archive:
        assert archive.files == ['mask'] and archive['mask'].dtype == np.uint8

    indices = json.loads((out / 'indices.json').read_text())
    assert set(indices) == {'train', 'val', 'test'}
    for cls in ('pneumonia', 'norma'):
        listed = [i for split in indices.values() for i in split[cls]]
        assert all(isinstance(i, int) for i in listed)
        assert sorted(map(str, listed)) == sorted(studies[cls])  # each study in one split
    dup_list = json.loads((out / 'masks' / 'dup_list.json').read_text())
    assert dup_list and all(re.match(r'^case_\d+$', k) for k in dup_list)
    split_of = {i: s for s, by_class in indices.items() for i in by_class['pneumonia']}
    leaking = [g for g, ids in dup_list.items() if {split_of[i] for i in ids} >= {'train', 'val'}]
    assert leaking  # the published split leaks one patient across train and val


def test_multi_expert_masks_disagree_at_edges(expert_root):
    out, _ = expert_root
    cases, _, _ = multi_expert_cases(8, 6, size=SIZE, seed=2)
    reader = pytest.importorskip('mmchest.io.expert_masks')
    kernel = np.ones((7, 7), np.uint8)
    differs = 0
    for case in cases:
        if case.label != 'pneumonia':
            continue
        truth = case.sample.mask
        assert truth.any()
        for e in (1, 2, 3):
            path = reader.find_expert_mask(out / 'masks' / f'expert{e}', case.case_id)
            mask = reader.read_expert_mask(path)
            assert mask.any()
            assert not (mask & (1 - cv2.dilate(truth, kernel))).any()  # within 3 px outside
            assert not (cv2.erode(truth, kernel) & (1 - mask)).any()  # and 3 px inside
            differs += not np.array_equal(mask, truth)
    assert differs > 0


def test_multi_expert_files_parse_with_package_layout(expert_root):
    layout = pytest.importorskip('mmchest.io.multi_expert_layout')
    out, info = expert_root
    indices = layout.parse_indices(layout.load_json(out / 'indices.json'))
    groups = layout.parse_dup_list(layout.load_json(out / 'masks' / 'dup_list.json'))
    assert layout.split_leaks(indices, groups)
    scanned = layout.scan_images(out / 'images')
    assert sorted(scanned['pneumonia']) == sorted(
        i for split in indices.values() for i in split['pneumonia'])


def test_expert_mask_is_seeded():
    truth = np.zeros((SIZE, SIZE), np.uint8)
    truth[20:40, 20:40] = 1
    a = expert_mask(truth, 1, [0, 'x'])
    assert np.array_equal(a, expert_mask(truth, 1, [0, 'x']))
    tiny = np.zeros((SIZE, SIZE), np.uint8)
    tiny[5, 5] = 1
    assert all(expert_mask(tiny, e, [s]).any() for e in (1, 2, 3) for s in range(5))
