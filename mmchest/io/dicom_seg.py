"""A segmentation prediction as a DICOM Segmentation (SEG) instance, built with highdicom.

Pure module (numpy, pydicom, highdicom; no registry, no OpenMMLab imports).

DICOM Segmentation IOD (PS3.3 A.51, SOP Class 1.2.840.10008.5.1.4.1.1.66.4): one segment,
one frame, pixel for pixel on the source radiograph (Derivation Image Sequence with Spatial
Locations Preserved = YES, Referenced Series Sequence, Source Image Sequence):

* ``BINARY`` from a 0/1 mask (bit-packed), or ``FRACTIONAL`` / ``PROBABILITY`` from a
  probability map in [0, 1] (stored as 0..255, Maximum Fractional Value 255);
* the segment: label (e.g. "Pneumothorax"), Segmented Property Category Morphologically
  Abnormal Structure (SCT 49755003, CID 7150), Segmented Property Type from
  :func:`mmchest.io.dicom_derived.finding_code` (Pneumothorax SCT 36118008, Pneumonia SCT
  233604007), Segment Algorithm Type AUTOMATIC with the Segmentation Algorithm
  Identification (name ``mmchest``, version, family Artificial Intelligence DCM 123110,
  parameters: config and checkpoint names and SHA-256), a red recommended display colour;
* equipment: Manufacturer ``mmchest``, Manufacturer's Model Name = the config's stem,
  Software Versions = mmchest's version, Device Serial Number = the checkpoint's hash prefix.

Geometry, as the source gives it. Kaggle SIIM/RSNA files (Secondary Capture, Modality CR,
``PixelSpacing``, empty ``PatientOrientation``, no Frame of Reference, no orientation) give a
SEG with that Pixel Spacing in its Pixel Measures and the source's Patient Orientation. A
source with a full patient plane (Frame of Reference UID, Image Position/Orientation (Patient),
Pixel Spacing and Slice Thickness) gives a SEG in the same Frame of Reference with plane
position and orientation. A projection image with a Frame of Reference UID but no such plane
(e.g. some DX) gets no Frame of Reference in its SEG: there is no position for the SEG to
carry, and a SEG that has one needs a Slice Thickness that a radiograph does not have
(``dciodvfy``); the SEG stays registered to its source pixel for pixel. A DX with only
Imager Pixel Spacing (spacing at the detector, not calibrated at the patient) gets no Pixel
Measures.

Reading back: highdicom 0.28's ``hd.seg.segread`` requires a Slice Thickness in every Pixel
Measures item, which highdicom itself does not write for a source without a Frame of Reference
(and which the standard, and ``dciodvfy``, refuse there); :func:`read_segmentation` reads such
a SEG with highdicom all the same (pydicom reads every SEG as is).
"""
from __future__ import annotations

import copy
import os
from typing import Literal, Optional, Union

import highdicom as hd
import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from mmchest.io.dicom_derived import (AlgorithmInfo, DerivedObjectError, finding_code,
                                      read_source_header)

__all__ = ['SegmentationKind', 'SEG_SERIES_NUMBER', 'build_segmentation', 'write_segmentation',
           'read_segmentation', 'algorithm_identification']

PathLike = Union[str, 'os.PathLike[str]']
SegmentationKind = Literal['binary', 'fractional']
#: Series Number of the SEG series (one new series per SEG unless a series UID is given).
SEG_SERIES_NUMBER: int = 900
_PLANE_KEYS = ('FrameOfReferenceUID', 'ImagePositionPatient', 'ImageOrientationPatient',
               'PixelSpacing', 'SliceThickness')
_RED = hd.color.CIELabColor.from_rgb(255, 0, 0)


def algorithm_identification(algorithm: AlgorithmInfo) -> hd.AlgorithmIdentificationSequence:
    """The Algorithm Identification macro of a model (PS3.3 Table 10-19).

    Args:
        algorithm (AlgorithmInfo): the model.

    Returns:
        highdicom.AlgorithmIdentificationSequence: one item: name, version, family Artificial
        Intelligence (DCM 123110), source ``mmchest``, parameters.
    """
    return hd.AlgorithmIdentificationSequence(
        name=algorithm.name,
        family=codes.DCM.ArtificialIntelligence,
        version=algorithm.version,
        source='mmchest',
        parameters=algorithm.parameters)


def _geometry_source(src: Dataset) -> Dataset:
    """The header highdicom derives the SEG's geometry from (see the module docstring)."""
    has_for = 'FrameOfReferenceUID' in src
    if not has_for or all(k in src for k in _PLANE_KEYS):
        return src
    header = copy.deepcopy(src)
    for key in ('FrameOfReferenceUID', 'PositionReferenceIndicator', 'ImagePositionPatient',
                'ImageOrientationPatient'):
        if key in header:
            delattr(header, key)
    return header


def _content_label(finding: str) -> str:
    """A Content Label (CS, 16 characters of ``A-Z 0-9 _``) from a finding name."""
    label = ''.join(c if c.isalnum() else '_' for c in finding.upper())[:16]
    return label or 'SEGMENTATION'


def _check_array(array: np.ndarray, kind: SegmentationKind, shape: tuple) -> np.ndarray:
    """Validate a mask / probability map against the source size; return it as stored."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise DerivedObjectError(f'the {kind} segmentation must be 2-D, got shape {array.shape}')
    if array.shape != shape:
        raise DerivedObjectError(
            f'the {kind} segmentation is {array.shape[0]}x{array.shape[1]} but the DICOM source '
            f'is {shape[0]}x{shape[1]} (Rows x Columns): it must cover the source pixel for pixel')
    if kind == 'binary':
        if array.dtype != bool and not np.issubdtype(array.dtype, np.integer):
            raise DerivedObjectError(f'a binary mask must be bool or integer, got {array.dtype}')
        if array.size and (array.min() < 0 or array.max() > 1):
            raise DerivedObjectError('a binary mask must hold only 0 and 1')
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.floating):
        raise DerivedObjectError(f'a probability map must be floating point, got {array.dtype}')
    if not np.isfinite(array).all() or (array.size and (array.min() < 0 or array.max() > 1)):
        raise DerivedObjectError('a probability map must hold finite values in [0, 1]')
    return array.astype(np.float32)


def build_segmentation(source: Union[PathLike, Dataset],
                       array: np.ndarray,
                       algorithm: AlgorithmInfo,
                       *,
                       finding: str = 'pneumothorax',
                       kind: SegmentationKind = 'binary',
                       series_instance_uid: Optional[str] = None,
                       series_number: int = SEG_SERIES_NUMBER,
                       sop_instance_uid: Optional[str] = None,
                       instance_number: int = 1,
                       content_qualification: str = 'RESEARCH') -> hd.seg.Segmentation:
    """Build a DICOM SEG of one radiograph's prediction.

    Args:
        source (str | os.PathLike | pydicom.Dataset): the DICOM image the prediction was made
            on (only its header is read).
        array (np.ndarray): (Rows, Columns) 0/1 mask (``kind='binary'``) or float probability
            map in [0, 1] (``kind='fractional'``), in the source's pixel grid.
        algorithm (AlgorithmInfo): the model.
        finding (str): class name of the segment, e.g. 'pneumothorax' or 'pneumonia'.
            Defaults to 'pneumothorax'.
        kind (str): 'binary' (Segmentation Type BINARY) or 'fractional' (FRACTIONAL,
            PROBABILITY). Defaults to 'binary'.
        series_instance_uid (str, optional): the SEG series; a new UID if None.
        series_number (int): Series Number. Defaults to :data:`SEG_SERIES_NUMBER`.
        sop_instance_uid (str, optional): the SEG's SOP Instance UID; a new UID if None.
        instance_number (int): Instance Number. Defaults to 1.
        content_qualification (str): Content Qualification: 'RESEARCH' (the default: these
            models are not cleared for clinical use), 'PRODUCT' or 'SERVICE'.

    Returns:
        highdicom.seg.Segmentation: the SEG (a pydicom Dataset; ``.save_as(path)`` writes it).
        An empty mask still gives one (empty) frame: "nothing found" is a result too.

    Raises:
        DerivedObjectError: when the source is not a usable DICOM image or the array does
            not fit it.
    """
    if kind not in ('binary', 'fractional'):
        raise DerivedObjectError(f"kind must be 'binary' or 'fractional', got {kind!r}")
    src = read_source_header(source)
    pixels = _check_array(array, kind, (int(src.Rows), int(src.Columns)))
    name = finding_code(finding)
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=finding.strip().capitalize() or name.meaning,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=name,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm_identification(algorithm),
        display_color=_RED)
    try:
        seg = hd.seg.Segmentation(
            source_images=[_geometry_source(src)],
            pixel_array=pixels,
            segmentation_type=('BINARY' if kind == 'binary' else 'FRACTIONAL'),
            segment_descriptions=[segment],
            series_instance_uid=series_instance_uid or hd.UID(),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or hd.UID(),
            instance_number=instance_number,
            manufacturer='mmchest',
            manufacturer_model_name=algorithm.model_name,
            software_versions=algorithm.version,
            device_serial_number=algorithm.serial_number,
            fractional_type='PROBABILITY',
            max_fractional_value=255,
            content_description=(f'{algorithm.name} {algorithm.model_name}: {finding} '
                                 f'({"mask" if kind == "binary" else "probability"})')[:64],
            content_label=_content_label(finding),
            omit_empty_frames=False,
            series_description=f'{algorithm.name} SEG {algorithm.model_name}'[:64],
            content_qualification=content_qualification)
    except (ValueError, TypeError, AttributeError) as err:
        raise DerivedObjectError(f'highdicom refused the segmentation: {err}') from None
    if 'PlaneOrientationSequence' not in seg.SharedFunctionalGroupsSequence[0]:
        # General Image module: Patient Orientation is Type 2C, required without an
        # Image Orientation (Patient); copied as the source gives it (may be empty).
        seg.PatientOrientation = src.get('PatientOrientation', '')
    return seg


def write_segmentation(path: PathLike,
                       source: Union[PathLike, Dataset],
                       array: np.ndarray,
                       algorithm: AlgorithmInfo,
                       **kwargs) -> hd.seg.Segmentation:
    """Build a SEG with :func:`build_segmentation` and write it as a DICOM Part 10 file.

    Args:
        path (str | os.PathLike): the output file; its folder must exist.
        source (str | os.PathLike | pydicom.Dataset): the DICOM source image.
        array (np.ndarray): mask or probability map.
        algorithm (AlgorithmInfo): the model.
        **kwargs: further arguments of :func:`build_segmentation`.

    Returns:
        highdicom.seg.Segmentation: the SEG as written.
    """
    seg = build_segmentation(source, array, algorithm, **kwargs)
    seg.save_as(os.fspath(path), enforce_file_format=True)
    return seg


def read_segmentation(path: PathLike) -> hd.seg.Segmentation:
    """Read a SEG with highdicom, also one whose Pixel Measures has no Slice Thickness.

    ``hd.seg.segread`` (highdicom 0.28) refuses a shared Pixel Measures item without Slice
    Thickness, which is what :func:`build_segmentation` writes (through highdicom) for a
    radiograph without a Frame of Reference. Such an item is taken out for highdicom's
    parser and put back on the returned object, unchanged; any other SEG is read by
    ``hd.seg.segread`` as is.

    Args:
        path (str | os.PathLike): the SEG file.

    Returns:
        highdicom.seg.Segmentation: the SEG.
    """
    ds = dcmread(os.fspath(path))
    shared = ds.get('SharedFunctionalGroupsSequence')
    measures = None
    if (shared and 'PixelMeasuresSequence' in shared[0] and 'FrameOfReferenceUID' not in ds
            and 'SliceThickness' not in shared[0].PixelMeasuresSequence[0]):
        measures = shared[0].PixelMeasuresSequence
        del shared[0].PixelMeasuresSequence
    seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
    if measures is not None:
        seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence = measures
    return seg
