"""Tiny RSNA-layout fixtures (8-bit MONOCHROME2, explicit VR LE; mmchest.synthetic writer)."""
import numpy as np
import pytest

from mmchest.synthetic import dicom_dataset, save_dicom


def write_dicom(path, img, view='PA'):
    """8-bit MONOCHROME2, Explicit VR Little Endian (the project's raw writer)."""
    save_dicom(dicom_dataset(np.ascontiguousarray(img, dtype=np.uint8), Modality='CR',
                             ViewPosition=view), path)


def write_rsna(root, patients, size=(64, 64), class_info=True, seed=0):
    """Write an RSNA layout under ``root``.

    ``patients``: list of ``(patientId, [(x, y, w, h), ...])``; no boxes = Target 0.
    Boxes are drawn bright on a dark noisy background. Returns ``root``.
    """
    rng = np.random.default_rng(seed)
    img_dir = root / 'stage_2_train_images'
    img_dir.mkdir(parents=True, exist_ok=True)
    label_rows = ['patientId,x,y,width,height,Target']
    class_rows = ['patientId,class']
    for i, (pid, boxes) in enumerate(patients):
        img = rng.integers(20, 60, size=size).astype(np.uint8)
        for x, y, w, h in boxes:
            img[int(y):int(y + h), int(x):int(x + w)] = 220
        write_dicom(img_dir / f'{pid}.dcm', img, view='AP' if i % 2 else 'PA')
        if boxes:
            for box in boxes:
                label_rows.append(f'{pid},' + ','.join(str(v) for v in box) + ',1')
                class_rows.append(f'{pid},Lung Opacity')
        else:
            label_rows.append(f'{pid},,,,,0')
            class_rows.append(f'{pid},Normal' if i % 4 == 1 else
                              f'{pid},No Lung Opacity / Not Normal')
    (root / 'stage_2_train_labels.csv').write_text('\n'.join(label_rows) + '\n')
    if class_info:
        (root / 'stage_2_detailed_class_info.csv').write_text('\n'.join(class_rows) + '\n')
    return root


@pytest.fixture
def rsna_writer():
    """The :func:`write_rsna` helper."""
    return write_rsna
