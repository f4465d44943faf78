"""mmchest.io.image_check: the cheap header check agrees with what the loader will do."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

from mmchest.io import image_check
from mmchest.io.image_check import check_image, inspect_image, scan_images
from mmchest.synthetic import write_deflate_bomb, write_dicom
from mmchest.transforms.loading import LoadDicomImageFromFile

IMG = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(64, 48)


def _cut(src: Path, dst: Path, keep: int) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    return dst


@pytest.fixture
def files(tmp_path):
    """Good and bad files of every kind, by name."""
    out = {}
    out['jpeg_dcm'] = tmp_path / 'jpeg.dcm'
    write_dicom(out['jpeg_dcm'], IMG)
    out['native_dcm'] = tmp_path / 'native.dcm'
    write_dicom(out['native_dcm'], IMG, compressed=False)
    out['png'] = tmp_path / 'ok.png'
    cv2.imwrite(str(out['png']), IMG)
    out['jpg'] = tmp_path / 'ok.jpg'
    cv2.imwrite(str(out['jpg']), IMG)
    return out


def _loads(path) -> bool:
    try:
        LoadDicomImageFromFile()({'img_path': str(path)})
        return True
    except Exception:  # noqa: BLE001
        return False


def test_good_files_pass_with_their_size(files):
    for path in files.values():
        result = inspect_image(path)
        assert result.reason is None, (path, result)
        assert (result.height, result.width) == IMG.shape
        assert _loads(path)
    assert inspect_image(files['jpeg_dcm']).view_position == 'PA'


@pytest.mark.parametrize('kind', ['jpeg_dcm', 'native_dcm'])
@pytest.mark.parametrize('keep', [-100, 0.5, 400])
def test_truncated_dicom(files, tmp_path, kind, keep):
    src = files[kind]
    size = src.stat().st_size
    keep = int(size * keep) if isinstance(keep, float) else keep
    bad = _cut(src, tmp_path / 'cut.dcm', keep)
    reason = check_image(bad)
    assert reason is not None and ('truncated' in reason or 'no pixel data' in reason), reason
    assert not _loads(bad)


@pytest.mark.parametrize('kind', ['jpeg_dcm', 'native_dcm'])
@pytest.mark.parametrize('keep', [-1, -4, -8])
def test_check_agrees_with_the_loader_near_the_end(files, tmp_path, kind, keep):
    # JPEG: only the closing sequence delimiter is cut, the pixel data is whole
    bad = _cut(files[kind], tmp_path / 'cut.dcm', keep)
    assert (check_image(bad) is None) == _loads(bad), check_image(bad)


def test_a_cut_fragment_is_reported_even_if_a_decoder_copes(files, tmp_path):
    size = len(files['jpeg_dcm'].read_bytes())
    bad = _cut(files['jpeg_dcm'], tmp_path / 'cut.dcm', size - 9)  # last fragment byte gone
    assert 'file truncated' in check_image(bad)


def test_empty_missing_and_not_dicom(tmp_path):
    empty = tmp_path / 'empty.dcm'
    empty.write_bytes(b'')
    assert check_image(empty) == 'empty file'
    assert check_image(tmp_path / 'missing.dcm') == 'file not found'
    junk = tmp_path / 'junk.dcm'
    junk.write_bytes(b'not a dicom at all\n' * 20)
    assert 'not a DICOM file' in check_image(junk)
    assert not _loads(junk)


def test_no_pixel_data(files, tmp_path):
    ds = pydicom.dcmread(files['native_dcm'])
    del ds.PixelData
    path = tmp_path / 'nopix.dcm'
    ds.save_as(path)
    assert 'no pixel data' in check_image(path)
    assert not _loads(path)


def test_native_pixel_data_shorter_than_rows_x_columns(files, tmp_path):
    ds = pydicom.dcmread(files['native_dcm'])
    ds.Rows = 100  # header promises more rows than the pixel data holds
    path = tmp_path / 'short.dcm'
    ds.save_as(path)
    reason = check_image(path)
    assert 'pixel data holds 3,072 bytes' in reason and '100 x 48' in reason
    assert not _loads(path)


def test_undecodable_transfer_syntax(files, tmp_path):
    ds = pydicom.dcmread(files['jpeg_dcm'])
    ds.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2.4.100'  # MPEG2: pydicom has no decoder
    path = tmp_path / 'mpeg.dcm'
    ds.save_as(path)
    assert 'no decoder' in check_image(path) and '1.2.840.10008.1.2.4.100' in check_image(path)
    assert not _loads(path)


def test_oversized_dicom_uses_the_loader_budget(files, tmp_path):
    assert check_image(files['native_dcm'], max_pixels=64 * 48) is None
    reason = check_image(files['native_dcm'], max_pixels=64 * 48 - 1)
    assert 'exceeds the pixel budget' in reason
    bomb = tmp_path / 'bomb.dcm'
    write_deflate_bomb(bomb, rows=20000, columns=20000, pixel_rows=10)
    assert 'exceeds the pixel budget' in check_image(bomb)  # header only, never inflated
    assert check_image(bomb, max_pixels=None) is None  # deflated pixels: left to the decoder


def test_truncated_png_and_jpeg(files, tmp_path):
    png = _cut(files['png'], tmp_path / 'cut.png', -20)
    assert 'PNG without IEND' in check_image(png)
    assert not _loads(png)
    jpg = _cut(files['jpg'], tmp_path / 'cut.jpg', -20)
    assert 'JPEG without end-of-image' in check_image(jpg)
    other = tmp_path / 'junk.png.bin'
    other.write_bytes(b'garbage' * 10)
    assert 'not a readable image' in check_image(other)


def test_scan_cache_keyed_by_size_and_mtime(files, tmp_path, monkeypatch):
    monkeypatch.setattr(image_check, 'CACHE_MIN_FILES', 1)
    monkeypatch.setattr(image_check, '_MEMO', {})
    calls = []
    real = image_check._inspect
    monkeypatch.setattr(image_check, '_inspect', lambda p: calls.append(p) or real(p))
    cache = tmp_path / 'cache'
    paths = [str(p) for p in files.values()]
    first = scan_images(paths, cache_dir=str(cache))
    assert len(calls) == 4 and all(r.reason is None for r in first.values())
    cache_files = list(cache.glob('*.json'))
    assert len(cache_files) == 1
    assert len(json.loads(cache_files[0].read_text())['files']) == 4

    monkeypatch.setattr(image_check, '_MEMO', {})  # a new process: only the disk cache
    calls.clear()
    again = scan_images(paths, cache_dir=str(cache))
    assert calls == [] and again == first
    # the budget is applied after the cache
    assert 'pixel budget' in scan_images(paths, max_pixels=10,
                                         cache_dir=str(cache))[str(files['jpeg_dcm'])].reason
    # a changed file is checked again
    data = files['jpeg_dcm'].read_bytes()
    files['jpeg_dcm'].write_bytes(data[:len(data) // 2])
    os.utime(files['jpeg_dcm'], ns=(1, 1))
    third = scan_images(paths, cache_dir=str(cache))
    assert calls == [str(files['jpeg_dcm'])]
    assert 'truncated' in third[str(files['jpeg_dcm'])].reason


def test_small_scans_skip_the_disk_cache(files, tmp_path):
    cache = tmp_path / 'cache'
    scan_images([str(p) for p in files.values()], cache_dir=str(cache))
    assert not cache.exists()


def test_header_longer_than_the_first_read(files, tmp_path):
    ds = pydicom.dcmread(files['native_dcm'])
    ds.add_new(0x00091010, 'LO', 'mmchest test')  # private creator
    ds.add_new(0x00091011, 'OB', bytes(200_000))  # a 200 kB private element before the pixels
    path = tmp_path / 'long_header.dcm'
    ds.save_as(path)
    assert path.stat().st_size > 2 * image_check._HEAD_BYTES
    assert inspect_image(path) == (None, 64, 48, 'PA')
    cut = _cut(path, tmp_path / 'long_header_cut.dcm', -10)
    assert 'file truncated' in check_image(cut)
    cut = _cut(path, tmp_path / 'long_header_cut_in_header.dcm', 100_000)
    assert check_image(cut) is not None and not _loads(cut)
