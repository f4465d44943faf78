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


def start_training(cfg, work_dir):
    """``Runner.train()`` up to the first iteration, as ``mim train`` runs it.

    Builds the train and val loops (datasets, samplers, evaluators), the optimizer and the
    schedulers, calls ``before_run``, initialises the weights (``init_cfg``, e.g. a Pretrained
    backbone) and loads ``load_from``; then stops before the first iteration. Data loaders run
    in-process (``num_workers=0``). Returns the runner.
    """
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class _StopBeforeFirstIteration(Hook):
        def before_train(self, runner):
            runner.train_loop.stop_training = True

    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].num_workers = 0
            cfg[loader].persistent_workers = False
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_StopBeforeFirstIteration(), priority='LOWEST')
    runner.train()
    return runner


@pytest.fixture
def train_prelude():
    """The :func:`start_training` helper."""
    return start_training
