"""Shared fixtures. No __init__.py in tests/: the mmseg wheel ships a top-level `tests`."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_cli(args, cwd=None, timeout=900, env=None):
    """Run a command the way a user would (venv's mim/python first on PATH).

    Returns the completed process; fails the test with the output tail on a non-zero exit.
    """
    full_env = dict(os.environ)
    full_env['PATH'] = f'{BIN}{os.pathsep}{full_env.get("PATH", "")}'
    full_env.setdefault('OMP_NUM_THREADS', '2')
    full_env.update(env or {})
    proc = subprocess.run([str(a) for a in args], cwd=cwd or REPO, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        out = proc.stdout
        first = out.find('Traceback')
        head = out[first:first + 4000] + '\n[...]\n' if first >= 0 else ''
        pytest.fail(f'command failed ({proc.returncode}): {" ".join(map(str, args))}\n'
                    f'{head}{out[-6000:]}')
    return proc


@pytest.fixture
def cli():
    """The :func:`run_cli` helper as a fixture."""
    return run_cli


@pytest.fixture(scope='session')
def repo_root():
    return REPO
