"""Tests for mmchest.synthetic (all layouts) and tools/make_synthetic_data.py: bytes, files, CLI."""
import hashlib
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mmchest import synthetic
from mmchest.synthetic import (rsna_cases, siim_cases, write_multi_expert, write_rsna, write_siim,
                               write_siim_png)

SIZE = 64


def tree_digest(root: Path) -> dict:
    """Relative path -> sha256 of every file under root."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


# ---------------------------------------------------------------------------- determinism, CLI
def test_layouts_are_byte_identical_for_the_same_seed(tmp_path):
    for sub in ('a', 'b'):
        write_siim(tmp_path / sub, 3, 1, size=SIZE, seed=11)
        write_rsna(tmp_path / sub, 3, 1, size=SIZE, seed=11)
        write_multi_expert(tmp_path / sub, 2, 2, size=SIZE, seed=11)
        write_siim_png(tmp_path / sub, 3, 1, size=SIZE, seed=11)
    first, second = tree_digest(tmp_path / 'a'), tree_digest(tmp_path / 'b')
    assert first == second and len(first) > 30
    write_siim(tmp_path / 'c', 3, 1, size=SIZE, seed=12)
    assert (tmp_path / 'c' / 'siim' / 'train-rle.csv').read_bytes() != (
        tmp_path / 'a' / 'siim' / 'train-rle.csv').read_bytes()


def test_npz_files_are_plain_numpy_archives(tmp_path):
    write_multi_expert(tmp_path, 2, 1, size=SIZE, seed=0)
    path = next((tmp_path / 'multi_expert_pneumonia' / 'masks' / 'expert2').glob('*.npz'))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ['mask.npy']
    assert np.load(path)['mask'].shape == (SIZE, SIZE)


def test_bad_counts_raise():
    with pytest.raises(ValueError, match='num_train must be >= 0'):
        list(siim_cases(-1, 0, size=SIZE))
    with pytest.raises(ValueError, match='size must be between'):
        list(rsna_cases(1, 0, size=1024))


def test_tool_writes_every_layout(tmp_path, cli, repo_root):
    proc = cli([sys.executable, repo_root / 'tools' / 'make_synthetic_data.py', '--out',
                tmp_path / 'syn', '--size', str(SIZE), '--num', '4', '--seed', '1'],
               cwd=tmp_path)
    assert 'Summary' in proc.stdout
    syn = tmp_path / 'syn'
    assert (syn / 'siim' / 'train-rle.csv').is_file()
    assert (syn / 'siim_png' / 'train.txt').is_file()
    assert (syn / 'rsna' / 'stage_2_train_labels.csv').is_file()
    assert (syn / 'multi_expert_pneumonia' / 'indices.json').is_file()
    assert len(list((syn / 'siim' / 'dicom-images-train').glob('*/*/*.dcm'))) == 4
    assert len(list((syn / 'siim' / 'dicom-images-test').glob('*/*/*.dcm'))) == 1
    assert len(list((syn / 'multi_expert_pneumonia' / 'images').glob('*/*.png'))) == 8


def test_tool_rejects_bad_size(tmp_path, repo_root):
    import subprocess
    proc = subprocess.run([sys.executable, str(repo_root / 'tools' / 'make_synthetic_data.py'),
                           '--out', str(tmp_path), '--size', '32'], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and '--size must be between 64 and 512' in proc.stderr


def test_module_has_no_openmmlab_imports():
    modules = sorted(Path(synthetic.__file__).parent.glob('*.py'))
    assert len(modules) > 5  # the package: painter, DICOM writer, layouts...
    for path in modules:
        source = path.read_text()
        assert not re.search(r'^\s*(from|import)\s+mm(cv|engine|seg|det)', source, re.M), path
