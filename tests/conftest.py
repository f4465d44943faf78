"""Shared fixtures. No __init__.py in tests/: the mmseg wheel ships a top-level `tests`."""
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pytest_configure(config):
    config.addinivalue_line('markers', 'needs_dciodvfy: the test runs dciodvfy (Debian '
                            'dicom3tools); skipped where it is not installed')


def pytest_collection_modifyitems(config, items):
    if shutil.which('dciodvfy') is None:
        skip = pytest.mark.skip(
            reason='dciodvfy (Debian dicom3tools) not installed: `make test-deps` installs it')
        for item in items:
            if item.get_closest_marker('needs_dciodvfy'):
                item.add_marker(skip)


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


@pytest.fixture(scope='session')
def synthetic_rsna(tmp_path_factory):
    """``synthetic_rsna(num_test=1, seed=1)``: writes a new synthetic RSNA download (20 training
    patients, 64 px) into its own folder and returns its ``rsna/`` root (a str)."""
    from mmchest.synthetic import write_rsna

    def write(num_test=1, seed=1):
        out = tmp_path_factory.mktemp('synthetic')
        return write_rsna(out, num_train=20, num_test=num_test, size=64, seed=seed)['root']
    return write


def read_latest_metrics(work_dir):
    """The metrics json of the latest run under ``work_dir`` (as mim train/test write it)."""
    import glob
    import json
    runs = sorted(glob.glob(os.path.join(work_dir, '*', '*.json')), key=os.path.getmtime)
    assert runs, f'no metrics json under {work_dir}'
    return json.load(open(runs[-1]))


@pytest.fixture
def latest_metrics():
    """The :func:`read_latest_metrics` helper."""
    return read_latest_metrics


def mmlogger_messages(fn):
    """The messages the current MMLogger writes while ``fn()`` runs (a list)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        fn()
    finally:
        logger.removeHandler(handler)
    return messages


@pytest.fixture
def logged():
    """The :func:`mmlogger_messages` helper."""
    return mmlogger_messages
