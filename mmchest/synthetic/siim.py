"""The SIIM-ACR pneumothorax download layouts: Kaggle DICOMs + RLE CSVs, and the PNG export.

* ``siim/``: ``dicom-images-{train,test}/<Study>/<Series>/<SOPInstanceUID>.dcm``,
  ``train-rle.csv`` (header ``ImageId, EncodedPixels``, SIIM relative RLE, ``' -1'`` = empty,
  one row per lesion part) and ``stage_2_train.csv`` (header ``ImageId,EncodedPixels``);
* ``siim_png/``: what MMSegmentation's ``projects/medical/2d_image/x_ray/chest_image_pneum``
  tools produce: ``images/{train,test}/<id>.png``, ``masks/train/<id>.png`` (0/1) and the
  ``train.txt`` / ``val.txt`` split files (``train/<id>`` lines).
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Iterator, List, Tuple

from mmchest.io.rle import rle_encode

from .dicom_writer import _jpeg_pixels, _write_tagged_dicom
from .files import SyntheticCase, _imwrite, _labelled_draws, _patient_tags, _spacing
from .painter import SyntheticImage, chest_radiograph
from .seeding import PathLike, Progress, _check_size, _rng

__all__ = ['siim_cases', 'write_siim', 'write_siim_png']


def siim_cases(num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.45) -> Iterator[SyntheticCase]:
    """Generate the SIIM-ACR images and labels (train then test).

    About 15% of positives are bilateral, and a third of the lesions are split into 2-3
    overlapping parts, each one row of ``train-rle.csv``, whose union is the mask.

    Args:
        num_train (int): labelled images. Defaults to 40.
        num_test (int): unlabelled images. Defaults to 10.
        size (int): image side, 64..512. Defaults to 256.
        seed (int): dataset seed. Defaults to 0.
        positive_fraction (float): fraction with pneumothorax, in each split. Defaults to 0.45.

    Yields:
        SyntheticCase: ``case_id`` = SOPInstanceUID, ``label`` 'positive' or 'negative',
        ``tags`` with the UIDs, sex, age and view position.
    """
    size = _check_size(size)
    for split, index, positive, rng in _labelled_draws('siim', seed, num_train, num_test,
                                                       positive_fraction):
        sample = chest_radiograph(size, [seed, 'siim', split, index],
                                  lesion='pneumothorax' if positive else 'none',
                                  bilateral=positive and rng.random() < 0.15)
        tags = _patient_tags('siim', seed, split, index, rng)
        tags['ViewPosition'] = str(rng.choice(['PA', 'AP'], p=[0.6, 0.4]))
        yield SyntheticCase(split, tags['SOPInstanceUID'], sample,
                            'positive' if positive else 'negative', tags)


def _rle_rows(sample: SyntheticImage) -> List[str]:
    """SIIM relative RLE rows of one image: one per part, or '-1' when empty."""
    return [rle_encode(part) for part in sample.parts] or ['-1']


def write_siim(root: PathLike,
               num_train: int = 40,
               num_test: int = 10,
               *,
               size: int = 256,
               seed: int = 0,
               positive_fraction: float = 0.45,
               stage2: bool = True,
               progress: Progress = None) -> Dict[str, object]:
    """Write the SIIM-ACR Kaggle download layout under ``<root>/siim``.

    Files: ``dicom-images-{train,test}/<Study>/<Series>/<SOPInstanceUID>.dcm``,
    ``train-rle.csv`` (header ``ImageId, EncodedPixels`` with the space, rows ``<id>, <rle>``,
    ``' -1'`` for empty) and, if ``stage2``, ``stage_2_train.csv`` (header
    ``ImageId,EncodedPixels``, rows ``<id>,<rle>``). Rows of one image are adjacent; images come
    in random order, as in the real file.

    Args:
        root (str | os.PathLike): output root; ``siim/`` is created inside.
        num_train, num_test, size, seed, positive_fraction: as in :func:`siim_cases`.
        stage2 (bool): also write ``stage_2_train.csv``. Defaults to True.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'test', 'positives', 'rows'}`` (ids and counts).
    """
    out = osp.join(os.fspath(root), 'siim')
    rows: List[Tuple[str, str]] = []
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    positives = 0
    for case in siim_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        tags = case.tags
        path = osp.join(out, f'dicom-images-{case.split}', tags['StudyInstanceUID'],
                        tags['SeriesInstanceUID'], f'{case.case_id}.dcm')
        _write_tagged_dicom(path, case.sample.image, tags, _spacing(size))
        ids[case.split].append(case.case_id)
        if case.split == 'train':
            positives += case.label == 'positive'
            rows.extend((case.case_id, rle) for rle in _rle_rows(case.sample))
        if progress is not None:
            progress()
    # Shuffle whole images (their rows stay adjacent), as the Kaggle file is not sorted.
    order = _rng(seed, 'siim', 'row-order').permutation(len(ids['train']))
    by_id: Dict[str, List[str]] = {}
    for image_id, rle in rows:
        by_id.setdefault(image_id, []).append(rle)
    shuffled = [(ids['train'][i], rle) for i in order for rle in by_id[ids['train'][i]]]
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'train-rle.csv'), 'w', newline='') as f:
        f.write('ImageId, EncodedPixels\n')
        f.writelines(f'{image_id}, {rle}\n' for image_id, rle in shuffled)
    if stage2:
        with open(osp.join(out, 'stage_2_train.csv'), 'w', newline='') as f:
            f.write('ImageId,EncodedPixels\n')
            f.writelines(f'{image_id},{rle}\n' for image_id, rle in shuffled)
    return {'root': out, 'train': ids['train'], 'test': ids['test'], 'positives': positives,
            'rows': len(shuffled)}


def write_siim_png(root: PathLike,
                   num_train: int = 40,
                   num_test: int = 10,
                   *,
                   size: int = 256,
                   seed: int = 0,
                   positive_fraction: float = 0.45,
                   val_fraction: float = 0.2,
                   progress: Progress = None) -> Dict[str, object]:
    """Write SIIM as MMSegmentation's ``chest_image_pneum`` project prepares it, under
    ``<root>/siim_png``.

    Its ``tools/prepare_dataset.py`` writes ``images/train/<id>.png``, ``images/test/<id>.png``
    and ``masks/train/<id>.png`` (8-bit, 0/1); there are no test masks because the Kaggle test
    set is unlabelled. ``split_seg_dataset.py`` then writes ``train.txt`` / ``val.txt``
    (``train/<id>`` per line, an 80/20 split of the training images). The images and ids are
    those of :func:`siim_cases` with the same arguments, stored as the pixels decoded from the
    SIIM DICOMs' JPEG frames (as the real export is); masks are the union of all rows.

    Args:
        root (str | os.PathLike): output root; ``siim_png/`` is created inside.
        num_train, num_test, size, seed, positive_fraction: as in :func:`siim_cases`.
        val_fraction (float): share of the training images listed in ``val.txt``.
            Defaults to 0.2.
        progress (Callable[[], None], optional): called once per image written.

    Returns:
        dict: ``{'root', 'train', 'val', 'test'}`` with the ids of each list.
    """
    out = osp.join(os.fspath(root), 'siim_png')
    ids: Dict[str, List[str]] = {'train': [], 'test': []}
    for case in siim_cases(num_train, num_test, size=size, seed=seed,
                           positive_fraction=positive_fraction):
        _imwrite(osp.join(out, 'images', case.split, f'{case.case_id}.png'),
                 _jpeg_pixels(case.sample.image))
        if case.split == 'train':
            _imwrite(osp.join(out, 'masks', 'train', f'{case.case_id}.png'), case.sample.mask)
        ids[case.split].append(case.case_id)
        if progress is not None:
            progress()
    names = sorted(ids['train'])
    order = _rng(seed, 'siim_png', 'split').permutation(len(names))
    num_val = int(round(len(names) * val_fraction))
    val = sorted(names[i] for i in order[:num_val])
    train = sorted(names[i] for i in order[num_val:])
    os.makedirs(out, exist_ok=True)
    for list_name, members in (('train.txt', train), ('val.txt', val)):
        with open(osp.join(out, list_name), 'w') as f:
            f.writelines(f'train/{name}\n' for name in members)
    return {'root': out, 'train': train, 'val': val, 'test': ids['test']}
