"""Tests for mmchest.synthetic.painter: the radiograph, its anatomy and lesions."""

import cv2
import numpy as np
import pytest

from mmchest.synthetic import chest_radiograph

SIZE = 64


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    """Pixels between ``inner`` and ``outer`` px outside a mask."""
    def grow(r):
        return cv2.dilate(mask, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) if r else mask
    return grow(outer).astype(bool) & ~grow(inner).astype(bool)


# ---------------------------------------------------------------------------- images
def test_radiograph_is_deterministic_and_seed_dependent():
    a = chest_radiograph(SIZE, 3, lesion='pneumothorax')
    b = chest_radiograph(SIZE, 3, lesion='pneumothorax')
    c = chest_radiograph(SIZE, 4, lesion='pneumothorax')
    assert a.image.dtype == np.uint8 and a.image.shape == (SIZE, SIZE)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, c.image)


def test_radiograph_anatomy_dark_background_bright_spine():
    img = chest_radiograph(128, 0).image.astype(float)
    corners = np.concatenate([img[:8, :8].ravel(), img[:8, -8:].ravel()])
    assert corners.mean() < 40  # air
    spine = img[100:120, 60:68].mean()  # spine below the heart, centre column
    lungs = np.mean([img[50:70, 30:40].mean(), img[50:70, 90:100].mean()])
    assert spine > lungs + 40


@pytest.mark.parametrize('seed', range(4))
def test_pneumothorax_is_dark_flat_crescent_with_parts(seed):
    sample = chest_radiograph(128, seed, lesion='pneumothorax')
    mask = sample.mask
    assert sample.lesion == 'pneumothorax' and 30 < mask.sum() < 0.1 * mask.size
    assert len(sample.instances) == 1 and 1 <= len(sample.parts) <= 3
    np.testing.assert_array_equal(np.maximum.reduce(sample.parts), mask)
    img = sample.image.astype(float)
    inside = img[cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)]
    lung_side = img[ring(mask, 3, 8) & (img > 40)]  # lung / tissue next to it, not air
    assert inside.mean() < lung_side.mean() - 15
    assert inside.std() < lung_side.std()  # flat: no ribs, no lung texture


def test_bilateral_pneumothorax_has_two_lesions():
    sample = chest_radiograph(SIZE, 1, lesion='pneumothorax', bilateral=True)
    assert len(sample.instances) == 2
    left, right = (np.flatnonzero(m.any(axis=0)).mean() for m in sample.instances)
    assert (left < SIZE / 2) != (right < SIZE / 2)


@pytest.mark.parametrize('view', ['pa', 'lat'])
def test_pneumonia_opacities_are_bright_and_boxed(view):
    sample = chest_radiograph(128, 5, lesion='pneumonia', num_opacities=3, view=view)
    assert len(sample.instances) == len(sample.boxes) >= 1
    img = sample.image.astype(float)
    for inst, (x1, y1, x2, y2) in zip(sample.instances, sample.boxes):
        rows, cols = np.nonzero(inst)
        assert (x1, y1, x2, y2) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        assert img[inst.astype(bool)].mean() > img[ring(inst, 2, 6)].mean() + 8
    for i, a in enumerate(sample.instances):  # separate lesions do not overlap
        for b in sample.instances[i + 1:]:
            assert not (a & b).any()
    np.testing.assert_array_equal(np.maximum.reduce(sample.instances), sample.mask)


def test_no_lesion_means_empty_labels():
    sample = chest_radiograph(SIZE, 0, lesion='none', view='lat')
    assert sample.mask.sum() == 0 and sample.instances == [] and sample.parts == []
    assert sample.boxes.shape == (0, 4)


def test_same_anatomy_seed_shares_anatomy():
    a = chest_radiograph(SIZE, 'a', anatomy_seed='patient')
    b = chest_radiograph(SIZE, 'b', anatomy_seed='patient')
    c = chest_radiograph(SIZE, 'c', anatomy_seed='other')
    def corr(x, y):  # correlation of the smoothed images: anatomy, not noise or gamma
        x, y = (cv2.GaussianBlur(v.astype(np.float32), (0, 0), 2).ravel() for v in (x, y))
        return np.corrcoef(x, y)[0, 1]
    assert corr(a.image, b.image) > 0.99 > corr(a.image, c.image)


@pytest.mark.parametrize('kwargs,message', [
    (dict(size=32), 'size must be between 64 and 512'),
    (dict(size=513), 'size must be between 64 and 512'),
    (dict(lesion='nodule'), 'lesion must be'),
    (dict(view='ap'), 'view must be'),
    (dict(lesion='pneumothorax', view='lat'), 'frontal'),
    (dict(num_opacities=5), 'num_opacities'),
])
def test_radiograph_rejects_bad_arguments(kwargs, message):
    args = dict(size=SIZE, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        chest_radiograph(**args)
