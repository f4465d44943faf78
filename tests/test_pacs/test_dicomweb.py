"""mmchest.pacs against a real Orthanc over DICOMweb: synthetic studies uploaded, SEG/SR
stored back with STOW-RS, checked through Orthanc's REST API; tools/pacs_infer.py run once
as a user runs it."""
import sys

import numpy as np
import pytest
from dicomweb_client import DICOMwebClient

from mmchest.io.dicom_derived import AlgorithmInfo, DerivedObjectError
from mmchest.io.dicom_seg import build_segmentation
from mmchest.pacs import derived_sources, image_instances, model_deriver, process_study, watch
from mmchest.synthetic import chest_radiograph, synthetic_uid, write_dicom

SIZE = 64
SEG_CLASS = '1.2.840.10008.5.1.4.1.1.66.4'
SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.34'


def _study(root, name, count):
    """``count`` synthetic CR files of one study (one series); returns (study uid, paths)."""
    study, series = synthetic_uid(name, 'study'), synthetic_uid(name, 'series')
    paths = []
    for i in range(count):
        path = root / name / f'{i}.dcm'
        write_dicom(path, chest_radiograph(SIZE, [3, name, i]).image,
                    study_instance_uid=study, series_instance_uid=series,
                    sop_instance_uid=synthetic_uid(name, i, 'sop'))
        paths.append(path)
    return study, paths


def _sop(path):
    import pydicom
    return pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID


def _seg_refs(tags):
    return [i['ReferencedSOPInstanceUID'] for s in tags['ReferencedSeriesSequence']
            for i in s['ReferencedInstanceSequence']]


def _sr_refs(tags):
    return [i['ReferencedSOPInstanceUID']
            for st in tags['CurrentRequestedProcedureEvidenceSequence']
            for s in st['ReferencedSeriesSequence'] for i in s['ReferencedSOPSequence']]


@pytest.fixture
def stub_derive(tmp_path):
    """A model-free ``derive``: a SEG of a fixed square; refuses files named in ``fail``."""
    cfg = tmp_path / 'stub.py'
    cfg.write_text('x = 1\n')
    algorithm = AlgorithmInfo.from_files(cfg)
    calls = []

    def derive(path, series_uid, number):
        calls.append(_sop(path))
        if calls[-1] in derive.fail:
            raise DerivedObjectError('refused for the test')
        mask = np.zeros((SIZE, SIZE), np.uint8)
        mask[8:24, 8:24] = 1
        return build_segmentation(path, mask, algorithm, series_instance_uid=series_uid,
                                  instance_number=number)

    derive.fail = set()
    derive.calls = calls
    return derive


def test_process_study_stores_one_seg_per_image(orthanc, tmp_path, stub_derive):
    study, paths = _study(tmp_path, 'a', 3)
    for p in paths:
        orthanc.upload(p)
    client = DICOMwebClient(orthanc.dicomweb)
    sources = [_sop(p) for p in paths]
    stub_derive.fail = {sources[2]}

    results = process_study(client, study, stub_derive)
    assert [r.sop_instance_uid for r in results] == sorted(sources, key=sources.index)
    assert [r.ok for r in results] == [True, True, False]
    assert 'refused for the test' in results[2].error

    tags = orthanc.instances_tags()
    segs = {uid: t for uid, t in tags.items() if t['SOPClassUID'] == SEG_CLASS}
    assert set(segs) == {r.derived_sop_instance_uid for r in results[:2]}
    for r in results[:2]:
        seg = segs[r.derived_sop_instance_uid]
        assert seg['Modality'] == 'SEG' and seg['StudyInstanceUID'] == study
        assert seg['Manufacturer'] == 'mmchest'
        assert _seg_refs(seg) == [r.sop_instance_uid]
    assert len({s['SeriesInstanceUID'] for s in segs.values()}) == 1  # one series per run
    assert sorted(int(s['InstanceNumber']) for s in segs.values()) == [1, 2]

    # the study now holds SEGs: they are not images, and their sources are handled
    assert sorted(i['sop'] for i in image_instances(client, study)) == sorted(sources)
    assert derived_sources(client, study) == set(sources[:2])
    stub_derive.fail = set()
    again = process_study(client, study, stub_derive)
    assert [r.sop_instance_uid for r in again] == [sources[2]] and again[0].ok
    assert process_study(client, study, stub_derive) == []


def test_watch_handles_each_new_image_once(orthanc, tmp_path, stub_derive):
    study_a, paths_a = _study(tmp_path, 'a', 2)
    study_b, paths_b = _study(tmp_path, 'b', 1)
    for p in paths_a:
        orthanc.upload(p)
    client = DICOMwebClient(orthanc.dicomweb)
    arrivals = [paths_b, [paths_a[0]]]  # a new study, then a duplicate upload

    def sleep(seconds):
        for p in arrivals.pop(0) if arrivals else []:
            orthanc.upload(p)

    results = list(watch(client, stub_derive, interval=0, max_polls=4, sleep=sleep))
    handled = [(r.study_instance_uid, r.sop_instance_uid) for r in results]
    expected = [(study_a, _sop(p)) for p in paths_a] + [(study_b, _sop(paths_b[0]))]
    assert sorted(handled) == sorted(expected)
    assert all(r.ok for r in results)
    assert sorted(stub_derive.calls) == sorted(uid for _, uid in expected)  # each once
    segs = [t for t in orthanc.instances_tags().values() if t['SOPClassUID'] == SEG_CLASS]
    assert len(segs) == 3


def test_model_round_trip_segmentation(orthanc, tmp_path, repo_root):
    study, paths = _study(tmp_path, 'seg', 2)
    for p in paths:
        orthanc.upload(p)
    derive = model_deriver(str(repo_root / 'configs/demo/unet_siim_synthetic.py'), None,
                           device='cpu', seg_type='fractional')
    results = process_study(DICOMwebClient(orthanc.dicomweb), study, derive)
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    tags = orthanc.instances_tags()
    for r in results:
        seg = tags[r.derived_sop_instance_uid]
        assert seg['SOPClassUID'] == SEG_CLASS and seg['SegmentationType'] == 'FRACTIONAL'
        assert _seg_refs(seg) == [r.sop_instance_uid]
        segment = seg['SegmentSequence'][0]
        assert segment['SegmentedPropertyTypeCodeSequence'][0]['CodeValue'] == '36118008'
        params = segment['SegmentationAlgorithmIdentificationSequence'][0]
        assert 'config=unet_siim_synthetic.py' in params['AlgorithmParameters']


def test_tool_detection_round_trip(orthanc, tmp_path, repo_root, cli):
    study, paths = _study(tmp_path, 'det', 1)
    orthanc.upload(paths[0])
    proc = cli([sys.executable, repo_root / 'tools/pacs_infer.py',
                repo_root / 'configs/demo/mask_rcnn_rsna_synthetic.py', 'none',
                '--url', orthanc.dicomweb, '--study', study, '--device', 'cpu',
                '--score-thr', '0'])
    source = _sop(paths[0])
    lines = [line for line in proc.stdout.splitlines() if line.startswith(study)]
    assert len(lines) == 1 and f'{study} {source} -> SR ' in lines[0], proc.stdout[-2000:]
    derived = lines[0].rsplit(' ', 1)[1]
    sr = orthanc.instances_tags()[derived]
    assert sr['SOPClassUID'] == SR_CLASS and sr['Modality'] == 'SR'
    assert sr['StudyInstanceUID'] == study and _sr_refs(sr) == [source]
    # a rerun finds the SR and stores nothing
    again = cli([sys.executable, repo_root / 'tools/pacs_infer.py',
                 repo_root / 'configs/demo/mask_rcnn_rsna_synthetic.py', 'none',
                 '--url', orthanc.dicomweb, '--study', study, '--device', 'cpu'])
    assert f'{study}: nothing to do' in again.stdout and ' -> ' not in again.stdout
    assert len(orthanc.get('/instances')) == 2
