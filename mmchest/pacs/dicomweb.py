"""A PACS round trip over DICOMweb: QIDO-RS to find images, WADO-RS to fetch them, a model
to predict, STOW-RS to store the SEG/SR back into the same study.

Framework-free (pydicom, dicomweb-client; no OpenMMLab imports): the model is any callable
``derive(source_path, series_instance_uid, instance_number) -> pydicom.Dataset`` (see
:func:`mmchest.pacs.model_deriver`, which wraps the inference API and
:mod:`mmchest.apis.dicom_output`).

* Which instances are images: every instance of the study except derived or non-image
  objects (Modality SEG, SR, PR, KO, DOC, RTSTRUCT; SR, SEG and presentation-state SOP
  classes).
* Each image is handled once: an image that an ``mmchest`` SEG/SR in the study already
  references (read from that object's metadata over WADO-RS: Manufacturer, Referenced Series
  Sequence, Current Requested Procedure Evidence Sequence) is skipped, so a rerun or a
  restarted watcher stores nothing twice.
* The outputs of one run in one study share one new series (Series Number 900 for SEG,
  901 for SR) with instance numbers 1, 2, ...
* :func:`watch` polls QIDO-RS for studies and handles the images it has not seen yet.

Logs and results name studies and instances by UID only, never a patient identifier.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Set

from pydicom.dataset import Dataset

__all__ = ['Derive', 'InstanceResult', 'SKIPPED_MODALITIES', 'image_instances',
           'derived_sources', 'process_study', 'watch', 'study_uids']

logger = logging.getLogger(__name__)

#: ``derive(source_path, series_instance_uid, instance_number) -> derived data set``.
Derive = Callable[[str, str, int], Dataset]
#: Modalities that are never model inputs (derived objects, reports, presentation states).
SKIPPED_MODALITIES = frozenset({'SEG', 'SR', 'PR', 'KO', 'DOC', 'RTSTRUCT', 'REG', 'OT_SR'})
_SKIPPED_CLASS_PREFIXES = ('1.2.840.10008.5.1.4.1.1.66',  # SEG, surface SEG, registration
                           '1.2.840.10008.5.1.4.1.1.88',  # structured reports
                           '1.2.840.10008.5.1.4.1.1.11',  # presentation states
                           '1.2.840.10008.5.1.4.1.1.104')  # encapsulated PDF/CDA
# DICOM JSON tags (PS3.18 F.2)
_SOP_CLASS, _SOP_INSTANCE, _SERIES, _MODALITY = '00080016', '00080018', '0020000E', '00080060'
_STUDY, _MANUFACTURER = '0020000D', '00080070'
_REF_SERIES, _EVIDENCE = '00081115', '0040A375'


@dataclass
class InstanceResult:
    """What happened to one image of a study.

    Attributes:
        study_instance_uid (str): the study.
        series_instance_uid (str): the image's series.
        sop_instance_uid (str): the image.
        derived_sop_instance_uid (str, optional): the stored SEG/SR; None when it failed.
        derived_sop_class_uid (str, optional): its SOP class.
        error (str, optional): why it failed (exception type and message).
    """
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    derived_sop_instance_uid: Optional[str] = None
    derived_sop_class_uid: Optional[str] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        """bool: the derived object was stored."""
        return self.error is None


def _value(item: Dict[str, dict], tag: str) -> Optional[str]:
    """The first value of a DICOM JSON attribute, or None."""
    values = (item.get(tag) or {}).get('Value') or []
    return str(values[0]) if values else None


def _is_image(item: Dict[str, dict]) -> bool:
    modality = (_value(item, _MODALITY) or '').upper()
    sop_class = _value(item, _SOP_CLASS) or ''
    return modality not in SKIPPED_MODALITIES and not sop_class.startswith(
        _SKIPPED_CLASS_PREFIXES)


def study_uids(client) -> List[str]:
    """Study Instance UIDs of every study on the server (QIDO-RS, all pages).

    Args:
        client (dicomweb_client.DICOMwebClient): the server.

    Returns:
        list[str]: the UIDs, in the server's order.
    """
    studies = client.search_for_studies(get_remaining=True)
    return [uid for uid in (_value(s, _STUDY) for s in studies) if uid]


def image_instances(client, study_instance_uid: str) -> List[Dict[str, str]]:
    """The image instances of a study (QIDO-RS), derived and non-image objects left out.

    Args:
        client (dicomweb_client.DICOMwebClient): the server.
        study_instance_uid (str): the study.

    Returns:
        list[dict[str, str]]: ``{'series': SeriesInstanceUID, 'sop': SOPInstanceUID}`` per
        image, in the server's order.
    """
    found = client.search_for_instances(study_instance_uid=study_instance_uid,
                                        get_remaining=True)
    return [dict(series=_value(i, _SERIES), sop=_value(i, _SOP_INSTANCE)) for i in found
            if _is_image(i) and _value(i, _SERIES) and _value(i, _SOP_INSTANCE)]


def _referenced_sops(meta: Dataset) -> Set[str]:
    """SOP Instance UIDs that a SEG (Referenced Series Sequence) or an SR (Current Requested
    Procedure Evidence Sequence) references."""
    refs: Set[str] = set()
    for series in meta.get('ReferencedSeriesSequence', []):
        refs.update(str(i.ReferencedSOPInstanceUID)
                    for i in series.get('ReferencedInstanceSequence', []))
    for study in meta.get('CurrentRequestedProcedureEvidenceSequence', []):
        for series in study.get('ReferencedSeriesSequence', []):
            refs.update(str(i.ReferencedSOPInstanceUID)
                        for i in series.get('ReferencedSOPSequence', []))
    return refs


def derived_sources(client, study_instance_uid: str, manufacturer: str = 'mmchest') -> Set[str]:
    """The images of a study that a SEG/SR made by ``manufacturer`` already references.

    Args:
        client (dicomweb_client.DICOMwebClient): the server.
        study_instance_uid (str): the study.
        manufacturer (str): Manufacturer of the derived objects. Defaults to 'mmchest'.

    Returns:
        set[str]: SOP Instance UIDs of the source images.
    """
    sources: Set[str] = set()
    for modality in ('SEG', 'SR'):
        series = client.search_for_series(study_instance_uid=study_instance_uid,
                                          search_filters={'Modality': modality},
                                          get_remaining=True)
        for item in series:
            series_uid = _value(item, _SERIES)
            if not series_uid:
                continue
            for meta in client.retrieve_series_metadata(study_instance_uid, series_uid):
                if _value(meta, _MANUFACTURER) != manufacturer:
                    continue
                refs = {k: v for k, v in meta.items() if k in (_REF_SERIES, _EVIDENCE)}
                sources |= _referenced_sops(Dataset.from_json(refs))
    return sources


def process_study(client,
                  study_instance_uid: str,
                  derive: Derive,
                  *,
                  skip: Optional[Set[str]] = None,
                  work_dir: Optional[str] = None,
                  new_uid: Optional[Callable[[], str]] = None) -> List[InstanceResult]:
    """Fetch each new image of a study, derive a SEG/SR from it and store that back.

    Args:
        client (dicomweb_client.DICOMwebClient): the server (QIDO-RS, WADO-RS, STOW-RS).
        study_instance_uid (str): the study.
        derive (Derive): ``derive(source_path, series_instance_uid, instance_number)``
            returns the derived data set of the DICOM file at ``source_path``.
        skip (set[str], optional): SOP Instance UIDs already handled (updated in place with
            the images handled now, failures included). The images that an ``mmchest``
            SEG/SR on the server already references are always skipped.
        work_dir (str, optional): folder for the fetched files (removed after each
            image); a temporary folder if None.
        new_uid (callable, optional): UID factory for the output series; ``highdicom.UID``
            if None.

    Returns:
        list[InstanceResult]: one per image handled now (none for skipped ones).
    """
    if new_uid is None:
        from highdicom import UID as new_uid
    skip = set() if skip is None else skip
    todo = [i for i in image_instances(client, study_instance_uid) if i['sop'] not in skip]
    results: List[InstanceResult] = []
    if todo:  # the derived objects' metadata is read only when there is something new
        skip |= derived_sources(client, study_instance_uid)
        todo = [i for i in todo if i['sop'] not in skip]
    if not todo:
        return results
    series_uid = new_uid()
    with tempfile.TemporaryDirectory(prefix='mmchest-pacs-', dir=work_dir) as tmp:
        for number, item in enumerate(todo, start=1):
            result = InstanceResult(study_instance_uid, item['series'], item['sop'])
            path = osp.join(tmp, 'source.dcm')
            try:
                source = client.retrieve_instance(study_instance_uid, item['series'],
                                                  item['sop'])
                source.save_as(path, enforce_file_format=True)
                derived = derive(path, series_uid, number)
                client.store_instances([derived])
                result.derived_sop_instance_uid = str(derived.SOPInstanceUID)
                result.derived_sop_class_uid = str(derived.SOPClassUID)
                logger.info('study %s: instance %s -> %s %s', study_instance_uid, item['sop'],
                            derived.Modality, derived.SOPInstanceUID)
            except Exception as err:  # noqa: BLE001  (one bad image must not stop a study)
                result.error = f'{type(err).__name__}: {err}'.replace('\n', ' ')
                logger.warning('study %s: instance %s failed: %s', study_instance_uid,
                               item['sop'], result.error)
            finally:
                if osp.exists(path):
                    os.remove(path)
            skip.add(item['sop'])
            results.append(result)
    return results


def watch(client,
          derive: Derive,
          *,
          interval: float = 10.0,
          studies: Optional[Iterable[str]] = None,
          max_polls: Optional[int] = None,
          sleep: Callable[[float], None] = time.sleep,
          work_dir: Optional[str] = None) -> Iterator[InstanceResult]:
    """Poll the server for new images and handle each once (see :func:`process_study`).

    Every ``interval`` seconds the studies are listed (QIDO-RS) and each image not handled
    yet, by this watcher or by an earlier ``mmchest`` run (its SEG/SR is in the study), is
    fetched, predicted and its SEG/SR stored. A study that fails to list is retried at the
    next poll.

    Args:
        client (dicomweb_client.DICOMwebClient): the server.
        derive (Derive): see :func:`process_study`.
        interval (float): seconds between polls. Defaults to 10.
        studies (Iterable[str], optional): only these studies; all if None.
        max_polls (int, optional): stop after this many polls; forever if None.
        sleep (callable): the waiting function (tests pass a no-op). Defaults to
            ``time.sleep``.
        work_dir (str, optional): folder for fetched files; a temporary one if None.

    Yields:
        InstanceResult: one per image handled, as it is handled.
    """
    handled: Dict[str, Set[str]] = {}
    only = None if studies is None else list(studies)
    polls = 0
    while max_polls is None or polls < max_polls:
        if polls:
            sleep(interval)
        polls += 1
        try:
            uids = only if only is not None else study_uids(client)
        except Exception as err:  # noqa: BLE001  (server down: try again next poll)
            logger.warning('listing studies failed: %s: %s', type(err).__name__, err)
            continue
        for uid in uids:
            try:
                yield from process_study(client, uid, derive,
                                         skip=handled.setdefault(uid, set()), work_dir=work_dir)
            except Exception as err:  # noqa: BLE001
                logger.warning('study %s failed: %s: %s', uid, type(err).__name__, err)
