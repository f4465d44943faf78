"""Tests for mmchest.synthetic.seeding: deterministic UIDs and patient ids."""
import re

from mmchest.synthetic import synthetic_patient_id, synthetic_uid

SIZE = 64
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
UID_RE = re.compile(r'^2\.25\.\d+$')


def test_ids_are_deterministic_and_well_formed():
    assert synthetic_uid(0, 'x') == synthetic_uid(0, 'x') != synthetic_uid(1, 'x')
    assert UID_RE.match(synthetic_uid(0, 'x')) and len(synthetic_uid(0, 'x')) <= 64
    assert UUID_RE.match(synthetic_patient_id(0, 'p'))
    assert synthetic_patient_id(0, 'p') != synthetic_patient_id(0, 'q')
