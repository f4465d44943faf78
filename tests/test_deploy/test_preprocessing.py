"""mmchest.deploy.preprocessing replays mmcv/mmseg's test pipeline steps exactly."""
import cv2
import numpy as np
import pytest
import torch

from mmchest.deploy.preprocessing import (pad_amounts, pad_image, read_image, rescale_size,
                                          resize_image, resize_logit, sigmoid)
from mmchest.synthetic import chest_radiograph, write_dicom


@pytest.mark.parametrize('size', [(256, 256), (300, 200), (170, 301), (97, 97), (1024, 768),
                                  (5, 700)])
@pytest.mark.parametrize('scale', [(128, 128), (512, 512), (1333, 800), 0.37])
def test_rescale_size_is_mmcv(size, scale):
    import mmcv
    assert rescale_size(size, scale) == mmcv.rescale_size(size, scale)


@pytest.mark.parametrize('shape', [(256, 256), (200, 300), (301, 170), (97, 131)])
@pytest.mark.parametrize('args', [dict(scale=(128, 128), keep_ratio=True),
                                  dict(scale=(160, 96), keep_ratio=False),
                                  dict(scale_factor=0.6, keep_ratio=True),
                                  dict(scale=(128, 128), keep_ratio=True,
                                       interpolation='bicubic')])
def test_resize_image_is_mmcv_resize(shape, args):
    from mmcv.transforms import Resize
    img = np.random.RandomState(0).randint(0, 256, shape + (3,), dtype=np.uint8)
    expected = Resize(**args)(dict(img=img.copy()))['img']
    got = resize_image(img, dict(args))
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_resize_none_and_bad_backend():
    img = np.zeros((4, 5, 3), np.uint8)
    assert resize_image(img, None) is img
    with pytest.raises(ValueError, match='pillow'):
        resize_image(img, dict(scale=(2, 2), backend='pillow'))


@pytest.mark.parametrize('src,dst', [((32, 32), (256, 256)), ((128, 96), (301, 170)),
                                     ((128, 128), (97, 97)), ((64, 40), (64, 40)),
                                     ((128, 128), (64, 64))])
@pytest.mark.parametrize('align_corners', [False, True])
def test_resize_logit_is_torch_bilinear(src, dst, align_corners):
    logit = np.random.RandomState(1).randn(*src).astype(np.float32) * 8
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(logit)[None, None], size=dst, mode='bilinear',
        align_corners=align_corners)[0, 0].numpy()
    got = resize_logit(logit, dst, align_corners)
    assert got.shape == dst and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4


def test_sigmoid_matches_torch_and_saturates():
    x = np.array([-200, -30, -1, 0, 1e-3, 2, 30, 200], np.float32)
    got = sigmoid(x)
    assert np.abs(got - torch.sigmoid(torch.from_numpy(x)).numpy()).max() < 1e-7
    assert np.isfinite(got).all() and got[0] == 0 and got[-1] == 1


def test_pad_matches_mmseg_stack_batch():
    from mmseg.utils import stack_batch
    img = np.random.RandomState(2).rand(85, 128, 3).astype(np.float32)
    for pad in (dict(size_divisor=16), dict(size=(128, 160))):
        padded, _ = stack_batch([torch.from_numpy(img.transpose(2, 0, 1))], pad_val=7,
                                **pad)
        got = pad_image(img, pad, [7, 7, 7])
        assert np.array_equal(got.transpose(2, 0, 1), padded[0].numpy())
    assert pad_amounts((85, 128), dict(size_divisor=16)) == (11, 0)
    assert pad_amounts((85, 128), None) == (0, 0)
    assert pad_image(img, None, [0, 0, 0]) is img


@pytest.mark.parametrize('color_type', ['color', 'grayscale'])
def test_read_image_is_the_training_loader(tmp_path, color_type):
    from mmchest.transforms.loading import LoadDicomImageFromFile
    image = chest_radiograph(96, 5).image
    dcm8 = tmp_path / 'a.dcm'
    write_dicom(dcm8, image)
    dcm16 = tmp_path / 'b.dcm'  # 12-bit MONOCHROME1 CR: modality LUT, window, inversion
    write_dicom(dcm16, image, bits_stored=12, compressed=False, photometric='MONOCHROME1',
                rescale_slope=1.0, rescale_intercept=-1024.0)
    png = tmp_path / 'c.png'
    cv2.imwrite(str(png), image)
    loader = dict(type='LoadDicomImageFromFile', color_type=color_type, norm='auto')
    transform = LoadDicomImageFromFile(color_type=color_type, norm='auto')
    for path in (dcm8, dcm16, png):
        expected = transform(dict(img_path=str(path)))['img']
        if expected.ndim == 2:
            expected = np.repeat(expected[:, :, None], 3, axis=2)
        got = read_image(str(path), loader)
        assert got.shape == (96, 96, 3)
        assert np.array_equal(got, expected), path


def test_read_image_errors(tmp_path):
    from mmchest.io.dicom import DicomReadError
    bad = tmp_path / 'bad.dcm'
    bad.write_bytes(b'not a dicom')
    with pytest.raises(DicomReadError, match='bad.dcm'):
        read_image(str(bad), dict(type='LoadDicomImageFromFile'))
    junk = tmp_path / 'junk.png'
    junk.write_bytes(b'\x89PNG broken')
    with pytest.raises(ValueError, match='junk.png'):
        read_image(str(junk), dict(type='LoadDicomImageFromFile'))
    with pytest.raises(ValueError, match='unsupported image loader'):
        read_image(str(junk), dict(type='LoadSomething'))
