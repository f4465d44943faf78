"""mmchest.apis.visualization: mask contours and boxes drawn where expected."""
import numpy as np
import pytest

from mmchest.apis.visualization import BOX_COLOR, MASK_COLOR, box_overlay, mask_overlay, to_display


def test_overlays_draw_where_expected():
    img = np.full((32, 32), 100, np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[10:20, 12:22] = 1
    out = mask_overlay(img, mask)
    assert out.shape == (32, 32, 3)
    assert tuple(out[10, 15]) == MASK_COLOR  # on the contour
    assert tuple(out[15, 16]) == (100, 100, 100)  # inside, untouched
    assert tuple(out[2, 30]) == (100, 100, 100)  # outside
    boxes = box_overlay(img, np.array([[5.0, 20.0, 25.0, 30.0]]), np.array([0.7]))
    assert tuple(boxes[30, 15]) == BOX_COLOR  # bottom edge
    assert tuple(boxes[25, 15]) == (100, 100, 100)
    with pytest.raises(ValueError, match='differs'):
        mask_overlay(img, mask[:10])


def test_to_display_scales_float_images():
    img = np.array([[0.0, 2.0], [4.0, 4.0]], np.float32)
    out = to_display(img)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out[0, 0, 0] == 0 and out[1, 1, 2] == 255 and out[0, 1, 1] == 127
