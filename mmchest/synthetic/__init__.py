"""Synthetic chest radiographs and the download layouts of SIIM-ACR, RSNA and multi-expert data.

Pure package (numpy, cv2, pydicom, simplejpeg and :mod:`mmchest.io.rle`; no OpenMMLab imports).
Everything is deterministic from a seed: the same arguments give the same pixels, UIDs, ids and
bytes (UIDs are ``2.25.<UUID>`` built from a seeded UUID, patient ids seeded UUID4 strings).

Modules (the names below are re-exported here, so ``from mmchest.synthetic import X`` works):

* :mod:`~mmchest.synthetic.painter`: :func:`chest_radiograph` (anatomy, pneumothorax, pneumonia;
  the images are cartoons drawn so a tiny model learns them in a few CPU minutes);
* :mod:`~mmchest.synthetic.dicom_writer`: :func:`write_dicom`, :func:`write_deflate_bomb`,
  :func:`dicom_dataset` + :func:`save_dicom` (raw test files);
* :mod:`~mmchest.synthetic.siim`, :mod:`~mmchest.synthetic.rsna`,
  :mod:`~mmchest.synthetic.multi_expert`: the layout writers and their case generators;
* :mod:`~mmchest.synthetic.seeding`: seeds, UIDs, patient ids and size limits;
  :mod:`~mmchest.synthetic.files`: :class:`SyntheticCase` and the PNG/NPZ writers;
* :mod:`~mmchest.synthetic.layouts`: every layout behind one call (what
  ``tools/make_synthetic_data.py`` runs).

Layouts (each a ``write_*`` function, used by ``tools/make_synthetic_data.py``):

* ``siim/``: ``dicom-images-{train,test}/<Study>/<Series>/<SOPInstanceUID>.dcm``,
  ``train-rle.csv`` (header ``ImageId, EncodedPixels``, SIIM relative RLE, ``' -1'`` = empty,
  one row per lesion part) and ``stage_2_train.csv`` (header ``ImageId,EncodedPixels``);
* ``siim_png/``: what MMSegmentation's ``projects/medical/2d_image/x_ray/chest_image_pneum``
  tools produce: ``images/{train,test}/<id>.png``, ``masks/train/<id>.png`` (0/1) and the
  ``train.txt`` / ``val.txt`` split files (``train/<id>`` lines);
* ``rsna/``: ``stage_2_{train,test}_images/<patientId>.dcm``, ``stage_2_train_labels.csv``
  (``patientId,x,y,width,height,Target``) and ``stage_2_detailed_class_info.csv``;
* ``multi_expert_pneumonia/``: ``images/{pneumonia,norma}/<id>_{pa,lat}.png``,
  ``masks/expert{1,2,3}/<id>_<view>.png|.npz``, ``indices.json``, ``masks/dup_list.json``.

The labels live in memory too (:func:`siim_cases`, :func:`rsna_cases`,
:func:`multi_expert_cases`), so tests compare files with the generator's truth.
"""
from .dicom_writer import dicom_dataset, save_dicom, write_deflate_bomb, write_dicom
from .files import SyntheticCase
from .multi_expert import expert_mask, multi_expert_cases, write_multi_expert
from .painter import SyntheticImage, chest_radiograph
from .rsna import rsna_cases, write_rsna
from .seeding import MAX_SIZE, MIN_SIZE, synthetic_patient_id, synthetic_uid
from .siim import siim_cases, write_siim, write_siim_png

__all__ = [
    'SyntheticImage', 'SyntheticCase', 'MIN_SIZE', 'MAX_SIZE', 'chest_radiograph', 'synthetic_uid',
    'synthetic_patient_id', 'write_dicom', 'siim_cases', 'write_siim', 'write_siim_png',
    'rsna_cases', 'write_rsna', 'multi_expert_cases', 'write_multi_expert', 'expert_mask',
    'write_deflate_bomb', 'dicom_dataset', 'save_dicom'
]
