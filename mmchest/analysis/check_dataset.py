"""Decode every image of a config's datasets, in parallel, and list the ones that fail.

The datasets' build-time check (:mod:`mmchest.engine.bad_files`) reads headers only; this
decodes each file fully with the config's own loader (``LoadDicomImageFromFile`` or
whatever the pipeline starts with), so what it passes, training can read. The result is an
exclude list (``path<TAB>reason``, paths relative to ``data_root``) that every mmchest
dataset accepts as ``exclude_file``. ``tools/check_dataset.py`` is the command line.
"""
from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.logging import MMLogger

__all__ = ['SPLITS', 'LOADER_TYPES', 'collect_files', 'decode_file', 'check_dataset']

#: The config's dataloaders, by split name.
SPLITS: Dict[str, str] = dict(train='train_dataloader', val='val_dataloader',
                              test='test_dataloader')
#: Image loaders recognised at the start of a pipeline.
LOADER_TYPES = ('LoadDicomImageFromFile', 'LoadImageFromFile')
_DEFAULT_LOADER = dict(type='LoadDicomImageFromFile')
_loaders: List = []  # per worker process: the built loaders, by index


def _leaf_datasets(cfg) -> List[dict]:
    """The dataset configs inside dataset wrappers (Repeat/ClassBalanced/Concat)."""
    if 'datasets' in cfg:
        return [leaf for sub in cfg['datasets'] for leaf in _leaf_datasets(sub)]
    if 'dataset' in cfg:
        return _leaf_datasets(cfg['dataset'])
    return [cfg]


def _loader_cfg(pipeline) -> dict:
    for step in pipeline or []:
        if isinstance(step, dict) and step.get('type') in LOADER_TYPES:
            return dict(step)
    return dict(_DEFAULT_LOADER)


def _build_dataset(cfg: dict):
    from mmengine.registry import DATASETS
    cfg = copy.deepcopy(cfg)
    cfg['bad_files'] = 'skip'  # build even with bad files, and list them
    cfg['pipeline'] = []
    try:
        return DATASETS.build(cfg)
    except TypeError as exc:  # a dataset type without the build-time check
        if 'bad_files' not in str(exc):
            raise
        cfg.pop('bad_files')
        return DATASETS.build(cfg)


def collect_files(cfg: Config, splits: Sequence[str] = tuple(SPLITS)) -> dict:
    """Build the config's datasets and list their files.

    Args:
        cfg (Config): The config (after ``--cfg-options``), with ``custom_imports`` applied
            and its default scope set.
        splits (Sequence[str]): Keys of :data:`SPLITS` to check (missing loaders are skipped).

    Returns:
        dict: ``files``: ``{path: (kind, loader index, [splits])}`` to decode (kind 'image' or
        'mask'); ``loaders``: the loader configs; ``found``: ``{path: (reason, [splits])}``
        refused when the datasets were built; ``data_root``: the first dataset's root.
    """
    files: Dict[str, list] = {}
    found: Dict[str, list] = {}
    loaders: List[dict] = []
    data_root = None
    for split in splits:
        loader_cfg = cfg.get(SPLITS[split])
        if not loader_cfg or not loader_cfg.get('dataset'):
            continue
        for ds_cfg in _leaf_datasets(loader_cfg['dataset']):
            loader = _loader_cfg(ds_cfg.get('pipeline'))
            if loader not in loaders:
                loaders.append(loader)
            index = loaders.index(loader)
            dataset = _build_dataset(ds_cfg)
            data_root = data_root or getattr(dataset, 'data_root', None)
            for path, reason in getattr(dataset, 'bad_files', []):
                found.setdefault(path, [reason, []])[1].append(split)
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                todo = [(info['img_path'], 'image')]
                if info.get('seg_map_path'):
                    todo.append((info['seg_map_path'], 'mask'))
                for path, kind in todo:
                    entry = files.setdefault(path, [kind, index, []])
                    if split not in entry[2]:
                        entry[2].append(split)
    return dict(files=files, loaders=loaders, found=found, data_root=data_root)


def _init_worker(loaders: List[dict]) -> None:
    from mmengine.registry import TRANSFORMS

    import mmchest  # noqa: F401  (registers LoadDicomImageFromFile)
    _loaders[:] = [TRANSFORMS.build(copy.deepcopy(c)) for c in loaders]


def decode_file(task: Tuple[str, str, int]) -> Tuple[str, Optional[str]]:
    """Decode one file in a worker: ``(path, kind, loader index) -> (path, reason or None)``.

    Images go through the config's loader (as training reads them); masks through OpenCV.
    """
    path, kind, index = task
    try:
        if kind == 'mask':
            import cv2
            if cv2.imread(path, cv2.IMREAD_UNCHANGED) is None:
                return path, 'cannot decode the mask image'
            return path, None
        results = _loaders[index]({'img_path': path})
        if results is None or results.get('img') is None:
            return path, 'the loader returned no image'
        return path, None
    except Exception as exc:  # noqa: BLE001 - every failure is a reason to report
        reason = getattr(exc, 'reason', None) or str(exc) or type(exc).__name__
        if reason.startswith(f'{path}: '):
            reason = reason[len(path) + 2:]
        return path, f'{reason} ({type(exc).__name__})' if not getattr(exc, 'reason', None) \
            else reason


def check_dataset(cfg: Config,
                  splits: Sequence[str] = tuple(SPLITS),
                  workers: Optional[int] = None,
                  out: Optional[str] = None,
                  progress: bool = True) -> dict:
    """Decode every file of the config's train/val/test datasets and write an exclude list.

    Args:
        cfg (Config): The config, as ``mim train`` reads it (after ``--cfg-options``).
        splits (Sequence[str]): Which of 'train', 'val', 'test'. Defaults to all three.
        workers (int, optional): Decoding processes (spawned, so no thread state is
            forked); 0 decodes in this process. Defaults to ``min(8, cpu_count)``.
        out (str, optional): The exclude list to write. Defaults to
            ``<data_root>/exclude.txt``.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``checked`` (files decoded), ``bad`` (list of ``(path, reason, splits)``),
        ``exclude_file`` (the written list), ``data_root``.
    """
    from mmengine.registry import init_default_scope
    from mmengine.utils import ProgressBar, import_modules_from_strings

    from mmchest.engine.bad_files import write_file_list

    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f'splits must be among {list(SPLITS)}, got {unknown}')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # the datasets' own bad-file warnings: summarised below
    try:
        listed = collect_files(cfg, splits)
    finally:
        logger.setLevel(level)
    tasks = [(path, kind, index) for path, (kind, index, _) in listed['files'].items()]
    workers = min(8, os.cpu_count() or 1) if workers is None else workers
    bar = ProgressBar(len(tasks)) if progress and tasks else None
    failures: Dict[str, str] = {}

    def record(result: Tuple[str, Optional[str]]) -> None:
        path, reason = result
        if reason is not None:
            failures[path] = reason
        if bar is not None:
            bar.update()

    if workers > 0 and len(tasks) > 1:
        ctx = multiprocessing.get_context('spawn')  # forking after torch threads can hang
        with ctx.Pool(min(workers, len(tasks)), initializer=_init_worker,
                      initargs=(listed['loaders'],)) as pool:
            for result in pool.imap_unordered(decode_file, tasks, chunksize=4):
                record(result)
    else:
        _init_worker(listed['loaders'])
        for task in tasks:
            record(decode_file(task))
    if bar is not None:
        print()
    bad = [(path, reason, list(split_names))
           for path, (reason, split_names) in listed['found'].items()]
    bad += [(path, failures[path], listed['files'][path][2])
            for path in listed['files'] if path in failures]
    data_root = listed['data_root']
    if out is None:
        out = osp.join(data_root or '.', 'exclude.txt')
    write_file_list(out, [(p, f'[{",".join(s)}] {r}') for p, r, s in bad], data_root, header=[
        f'tools/check_dataset.py: {len(bad)} file(s) that will not load, of '
        f'{len(tasks) + len(listed["found"])} in splits {", ".join(splits)}.',
        'Format: path relative to data_root<TAB>[splits] reason. Use it as the datasets\' '
        'exclude_file.'])
    return dict(checked=len(tasks) + len(listed['found']), bad=bad, exclude_file=out,
                data_root=data_root)
