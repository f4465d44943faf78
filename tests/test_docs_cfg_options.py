"""Every ``--cfg-options`` command in the READMEs, docs/ and the config comments runs.

Each is parsed as ``mim train``/``mim test`` parse it (mmengine's ``DictAction``), merged into
its config with ``Config.merge_from_dict``, and training is set up exactly as ``mim train``
does, stopping before the first iteration (``Runner.train()``: datasets, samplers, loops,
evaluators, optimizer, ``init_cfg`` weights, ``load_from``). Offline: data roots point at
synthetic downloads, ``torchvision://`` and URL weights are served from ``$TORCH_HOME`` (files
built here with random weights), local checkpoint paths are replaced by such files; then the
weights are checked to have really loaded (counts asserted).

A ``--cfg-options`` that cannot be parsed (prose around it, an unknown placeholder or shell
variable, a fragment in a file with no known config) is a failing case, never a skip.
"""
import argparse
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmchest  # noqa: F401
from mmchest.engine import FineTuneLoadHook

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted({REPO / 'README.md', *REPO.glob('datasets/*/README.md'),
               *REPO.glob('projects/**/*.md'), *REPO.glob('docs/**/*.md'),
               *REPO.glob('benchmarks/*.md')})
CONFIG_FILES = sorted([*REPO.glob('configs/**/*.py'), *REPO.glob('projects/*/configs/*.py')])
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: The config that options written without one (a prose fragment) apply to, per file.
FRAGMENT_CONFIG = {
    'README.md': 'configs/demo/unet_siim_synthetic.py',  # the torchrun/gloo smoke run
    'datasets/siim/README.md': 'configs/unet_siim.py',
    'datasets/rsna/README.md': 'configs/mask_rcnn_rsna.py',
    'datasets/multi_expert_pneumonia/README.md': 'configs/unet_multi_expert_pneumonia.py',
    'projects/siim_unet/README.md': 'projects/siim_unet/configs/unet_r34_sliding_triplet_siim.py',
    'configs/_base_/datasets/siim.py': 'configs/unet_siim.py',
    'configs/_base_/datasets/rsna.py': 'configs/mask_rcnn_rsna.py',
    'configs/_base_/datasets/multi_expert_pneumonia.py': 'configs/unet_multi_expert_pneumonia.py',
}
#: Values the reader is told to choose, written as one capital letter: by option name.
PLACEHOLDERS = {'score_thr': '0.5', 'top_score_threshold': '0.75', 'min_area': '2000',
                'bottom_threshold': '0.4', 'batch_size': '2'}
#: mmdet COCO checkpoints the docs name -> the 80-class model's config in mmdet/.mim/configs.
COCO_CHECKPOINTS = {
    'mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth': 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth':
    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
}
#: mmpretrain ImageNet checkpoints the configs name -> the model's config in mmpretrain/.mim.
MMPRETRAIN_CHECKPOINTS = {
    'resnet50_8xb32_in1k_20210831-ea4938fc.pth': 'resnet/resnet50_8xb32_in1k.py',
    'vgg16_batch256_imagenet_20210208-db26f1a5.pth': 'vgg/vgg16_8xb32_in1k.py',
}
#: torchvision ImageNet files as mmengine names them for torchvision://<arch>.
TORCHVISION_FILES = {'resnet34': 'resnet34-b627a593.pth', 'resnet50': 'resnet50-0676ba61.pth'}
CLASS_LAYER = re.compile(r'^roi_head\.(bbox_head\.fc_(cls|reg)|mask_head\.conv_logits)\.')
OPTION = re.compile(r'^[A-Za-z_][\w.]*=')


@dataclass
class DocCommand:
    where: str  # file:line
    text: str
    config: Optional[str] = None
    options: List[str] = field(default_factory=list)
    error: Optional[str] = None


def _options_after(tokens: List[str], strict: bool) -> List[str]:
    start = tokens.index('--cfg-options') + 1
    opts = []
    for tok in tokens[start:]:
        if tok.startswith('--'):
            break
        if not OPTION.match(tok):
            if strict:
                raise ValueError(f'{tok!r} after --cfg-options is not KEY=VALUE')
            break
        opts.append(tok)
    if not opts:
        raise ValueError('no KEY=VALUE after --cfg-options')
    return opts


def _config_in(tokens: List[str]) -> Optional[str]:
    for tok in tokens:
        if tok.endswith('.py') and tok.startswith(('configs/', 'projects/')):
            return tok
    return None


def _join(lines: List[str], i: int):
    """The shell command around line ``i``, continuation backslashes joined."""
    start = i
    while start > 0 and lines[start - 1].rstrip().endswith('\\'):
        start -= 1
    end = i
    while end < len(lines) - 1 and lines[end].rstrip().endswith('\\'):
        end += 1
    return start, ' '.join(line.rstrip().rstrip('\\') for line in lines[start:end + 1])


def _command(where, text, fallback_config, strict=True, env=None) -> DocCommand:
    cmd = DocCommand(where=where, text=text.strip())
    try:
        for name, value in (env or {}).items():
            text = text.replace(f'${{{name}}}', value).replace(f'${name}', value)
        if '$' in text:
            raise ValueError('an unknown shell variable')
        tokens = shlex.split(text, comments=True)
        cmd.options = _options_after(tokens, strict)
        cmd.config = _config_in(tokens) or fallback_config
        if cmd.config is None:
            raise ValueError('no config in the command, and none known for this file '
                             '(add it to FRAGMENT_CONFIG)')
        if not (REPO / cmd.config).is_file():
            raise ValueError(f'{cmd.config} does not exist')
    except ValueError as exc:
        cmd.error = f'{where}: cannot run `{cmd.text}`: {exc}'
    return cmd


def markdown_commands(rel: str, text: str) -> List[DocCommand]:
    """The commands of a markdown file ``rel`` (relative to the repository) with ``text``.

    Code (fenced blocks, 4-space indented lines) is read as shell, continuation lines joined
    and ``VAR=value`` lines of the same block substituted; in prose, ``--cfg-options`` must sit
    in `inline code` (which may wrap lines), alone (naming the flag), in a usage synopsis
    (``[--cfg-options ...]``) or with its options.
    """
    lines = text.splitlines()
    prose = list(lines)
    out, in_fence, env, done = [], False, {}, set()
    for i, line in enumerate(lines):
        fence = line.lstrip().startswith('```')
        indented = not in_fence and line.startswith('    ') and '`' not in line
        if fence or in_fence or indented:
            prose[i] = ''
        if fence:
            in_fence, env = not in_fence, {}
            continue
        assign = re.match(r'^([A-Z_][A-Z0-9_]*)=(\S+)$', line.strip())
        if in_fence and assign:
            env[assign.group(1)] = assign.group(2)
        if (in_fence or indented) and '--cfg-options' in line:
            start, joined = _join(lines, i)
            if start not in done:
                done.add(start)
                out.append(_command(f'{rel}:{start + 1}', joined, FRAGMENT_CONFIG.get(rel),
                                    env=env))
    prose_text = '\n'.join(prose)
    span = re.compile(r'(?<!`)`([^`]+)`(?!`)')
    for m in span.finditer(prose_text):
        content = ' '.join(m.group(1).split())
        if '--cfg-options' not in content or content == '--cfg-options' or \
                '[--cfg-options ...]' in content:  # the flag named, or a usage synopsis
            continue
        where = f'{rel}:{prose_text.count(chr(10), 0, m.start()) + 1}'
        out.append(_command(where, content, FRAGMENT_CONFIG.get(rel)))
    rest = span.sub(lambda m: '\n' * m.group(0).count('\n'), prose_text)
    for i, line in enumerate(rest.splitlines()):
        if '--cfg-options' in line:
            where = f'{rel}:{i + 1}'
            out.append(DocCommand(where, line.strip(), error=f'{where}: --cfg-options outside a '
                                  'code block or `inline code`: write the command as code'))
    return out


def config_comment_commands(rel: str, text: str) -> List[DocCommand]:
    """The commands in the comments of config file ``rel`` with ``text``."""
    lines = [re.sub(r'^\s*#\s?', '', line) if line.lstrip().startswith('#') else ''
             for line in text.splitlines()]
    own = None if '/_base_/' in f'/{rel}' else rel
    out, done = [], set()
    for i, line in enumerate(lines):
        if '--cfg-options' not in line:
            continue
        start, text = _join(lines, i)
        if start in done:
            continue
        done.add(start)
        where = f'{rel}:{start + 1}'
        if text.lstrip().startswith(('mim ', 'python ', 'torchrun ')):
            out.append(_command(where, text, own or FRAGMENT_CONFIG.get(rel)))
        else:  # prose: "Other targets: --cfg-options a.b=c (explanation ...)"
            text = text[text.index('--cfg-options'):]
            out.append(_command(where, text, own or FRAGMENT_CONFIG.get(rel), strict=False))
    return out


def all_commands() -> List[DocCommand]:
    rel = lambda p: str(p.relative_to(REPO))  # noqa: E731
    cmds = [c for p in DOCS for c in markdown_commands(rel(p), p.read_text())]
    cmds += [c for p in CONFIG_FILES for c in config_comment_commands(rel(p), p.read_text())]
    return cmds


COMMANDS = all_commands()


def test_the_documented_weight_routes_are_among_the_commands():
    assert len(COMMANDS) >= 12
    texts = [c.text for c in COMMANDS]
    assert any('model.backbone.init_cfg.checkpoint=' in t and 'seresnext' in t for t in texts)
    assert any('load_from=https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/' in t
               for t in texts)
    assert any('load_from=https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/' in t
               for t in texts)


def test_unparsable_commands_fail():
    probe = 'docs/_probe.md'
    bad = markdown_commands(probe, 'x\nsee --cfg-options a=1 in prose\n')
    assert bad[0].error and 'outside a code block' in bad[0].error
    bad = markdown_commands(probe, '```bash\nmim train mmseg configs/unet_siim.py '
                            '--cfg-options a=1 ... (val_ too)\n```\n')
    assert bad[0].error and 'not KEY=VALUE' in bad[0].error
    bad = markdown_commands(probe, '```bash\nmim train mmseg configs/unet_siim.py '
                            '--cfg-options a=$NOPE\n```\n')
    assert bad[0].error and 'shell variable' in bad[0].error
    bad = markdown_commands(probe, 'inline: `--cfg-options a=1`\n')
    assert bad[0].error and 'FRAGMENT_CONFIG' in bad[0].error
    bad = config_comment_commands('configs/x.py', '#   mim train mmdet configs/mask_rcnn_rsna.py '
                                  '--cfg-options a=1 \\\n#     b=2 ... (val_/test_ too)\n')
    assert bad[0].error and 'not KEY=VALUE' in bad[0].error
    good = config_comment_commands('configs/unet_multi_expert_pneumonia.py',
                                   '# Other targets: --cfg-options a.b=each (one sample per\n')
    assert good[0].error is None and good[0].options == ['a.b=each']


# --- the environment the commands run in: synthetic data, weight files -------------------


class Offline:
    """Synthetic downloads and weight files, made on first use, shared by all commands."""

    def __init__(self, base: Path):
        self.base = base
        self.torch_home = base / 'torch'
        self.hub = self.torch_home / 'hub' / 'checkpoints'
        self.hub.mkdir(parents=True)
        self.roots: Dict[str, Path] = {}
        self.files: Dict[str, Path] = {}

    # data
    def data_root(self, dataset: dict) -> Path:
        from mmchest import synthetic
        kind = {'SIIMPneumothoraxDataset': 'siim_png' if dataset.get('layout') == 'png' else 'siim',
                'RSNAPneumoniaDataset': 'rsna', 'RSNAClassificationDataset': 'rsna',
                'MultiExpertPneumoniaDataset': 'multi_expert'}.get(dataset['type'])
        if kind is None:
            pytest.fail(f'no synthetic data for {dataset["type"]}')
        if kind not in self.roots:
            out = self.base / 'data'
            if kind == 'siim':
                info = synthetic.write_siim(out, num_train=24, num_test=2, size=64, seed=5)
            elif kind == 'siim_png':
                info = synthetic.write_siim_png(out, num_train=24, num_test=2, size=64, seed=5)
            elif kind == 'rsna':
                info = synthetic.write_rsna(out, num_train=20, num_test=2, size=64, seed=5)
            else:
                info = synthetic.write_multi_expert(out, num_pneumonia=8, num_normal=8, size=64,
                                                    seed=5)
            self.roots[kind] = Path(info['root'])
        return self.roots[kind]

    def ann_file(self, root: Path, name: str) -> str:
        if (root / name).is_file():
            return name
        if name == 'indices_by_patient.json':  # tools/multi_expert_split.py's output shape
            shutil.copy(root / 'indices.json', root / name)
            return name
        pytest.fail(f'no synthetic stand-in for ann_file={name}')

    # weights
    def torchvision(self, arch: str) -> Path:
        import torchvision
        path = self.hub / TORCHVISION_FILES[arch]
        if not path.exists():
            torch.manual_seed(0)
            torch.save(getattr(torchvision.models, arch)(weights=None).state_dict(), path)
        return path

    def seresnext(self) -> Path:
        path = self.base / 'seresnext50_32x4d_mmpretrain.pth'
        if not path.exists():
            import timm

            from mmchest.weights import convert_seresnext
            torch.manual_seed(0)
            src = timm.create_model('seresnext50_32x4d', pretrained=False).state_dict()
            torch.save({'state_dict': convert_seresnext(src).state_dict, 'meta': {}}, path)
        return path

    def _random_openmmlab(self, scope: str, name: str, config: str,
                          backbone_init: bool = True) -> Path:
        """``self.hub / name``: random weights of the model of ``config`` (a path in the .mim
        configs of the OpenMMLab package ``scope``), with the keys of the real checkpoint."""
        path = self.hub / name
        if not path.exists():
            import importlib
            package = importlib.import_module(scope)
            models = importlib.import_module(f'{scope}.registry').MODELS
            init_default_scope(scope)
            cfg = Config.fromfile(str(Path(package.__file__).parent / '.mim' / 'configs' /
                                      config))
            if not backbone_init:
                cfg.model.backbone.init_cfg = None
            torch.manual_seed(0)
            torch.save({'state_dict': models.build(cfg.model).state_dict(), 'meta': {}}, path)
        return path

    def coco(self, name: str) -> Path:
        return self._random_openmmlab('mmdet', name, COCO_CHECKPOINTS[name], backbone_init=False)

    def mmpretrain(self, name: str) -> Path:
        """An ImageNet classifier checkpoint of mmpretrain (random weights, same keys)."""
        return self._random_openmmlab('mmpretrain', name, MMPRETRAIN_CHECKPOINTS[name])

    def checkpoint_for(self, cfg, key: str, value) -> str:
        """A local file standing in for the path a reader writes in a command."""
        if key == 'load_from':
            name = Path(str(value)).name
            if name not in COCO_CHECKPOINTS:
                pytest.fail(f'load_from={value}: name one of {sorted(COCO_CHECKPOINTS)}')
            return str(self.coco(name))
        if Path(str(value)).name in MMPRETRAIN_CHECKPOINTS:
            return str(self.mmpretrain(Path(str(value)).name))
        backbone = cfg.model.backbone
        if 'SEResNeXt' in backbone.type:
            return str(self.seresnext())
        if backbone.type == 'ResNet' and f'resnet{backbone.depth}' in TORCHVISION_FILES:
            return str(self.torchvision(f'resnet{backbone.depth}'))
        pytest.fail(f'no local weights for a {backbone.type} backbone')

    def resolve(self, checkpoint: str) -> Path:
        """The file mmengine reads for a checkpoint name (torchvision:// or URL: the hub cache)."""
        if checkpoint.startswith('torchvision://'):
            return self.torchvision(checkpoint[len('torchvision://'):])
        if checkpoint.startswith(('http://', 'https://')):
            name = checkpoint.rsplit('/', 1)[1]
            if name in MMPRETRAIN_CHECKPOINTS:
                return self.mmpretrain(name)
            if name not in COCO_CHECKPOINTS:
                pytest.fail(f'{checkpoint}: no local stand-in')
            return self.coco(name)
        return Path(checkpoint)


@pytest.fixture(scope='module')
def offline(tmp_path_factory):
    return Offline(tmp_path_factory.mktemp('offline'))


def _state(path: Path) -> dict:
    obj = torch.load(path, map_location='cpu', weights_only=True)
    return obj.get('state_dict', obj)


def _pretrained_checkpoints(node) -> List[str]:
    """The ``checkpoint`` of every ``dict(type='Pretrained', ...)`` in a model config."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            return [node['checkpoint']]
        return [c for v in node.values() for c in _pretrained_checkpoints(v)]
    if isinstance(node, (list, tuple)):
        return [c for v in node for c in _pretrained_checkpoints(v)]
    return []


def _parse(tokens: List[str]) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *tokens]).cfg_options


@pytest.mark.parametrize('cmd', COMMANDS, ids=[c.where for c in COMMANDS])
def test_documented_command_runs(cmd: DocCommand, offline, tmp_path, monkeypatch, train_prelude):
    if cmd.error:
        pytest.fail(cmd.error)
    monkeypatch.setenv('TORCH_HOME', str(offline.torch_home))
    tokens = []
    for tok in cmd.options:
        key, value = tok.split('=', 1)
        # "T": a value the reader picks (data roots are replaced below whatever they say)
        if re.fullmatch(r'[A-Z]', value) and not key.endswith('.data_root'):
            name = key.rsplit('.', 1)[-1]
            if name not in PLACEHOLDERS:
                pytest.fail(f'{cmd.where}: no stand-in for the placeholder {tok} (PLACEHOLDERS)')
            value = PLACEHOLDERS[name]
        tokens.append(f'{key}={value}')
    options = _parse(tokens)
    cfg = Config.fromfile(str(REPO / cmd.config))
    for key, value in list(options.items()):  # the reader's paths -> offline stand-ins
        if key.endswith('.data_root'):
            loader = key.split('.')[0]
            options[key] = str(offline.data_root(cfg[loader].dataset))
        elif key.endswith('.ann_file'):
            loader = key.split('.')[0]
            options[key] = offline.ann_file(offline.data_root(cfg[loader].dataset), value)
        elif (key == 'load_from' or key.endswith('init_cfg.checkpoint')) and not \
                str(value).startswith(('http://', 'https://', 'torchvision://')):
            options[key] = offline.checkpoint_for(cfg, key, value)
    cfg.merge_from_dict(options)
    for key, value in options.items():  # what was documented is what the config now says
        node = cfg
        for part in key.split('.'):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert node == value or (value is None and node is None), key
    for loader in LOADERS:  # loaders the command leaves alone read the synthetic copy too
        if cfg.get(loader) and f'{loader}.dataset.data_root' not in options:
            cfg[loader].dataset.data_root = str(offline.data_root(cfg[loader].dataset))

    # every checkpoint the run will read exists offline (URLs: in $TORCH_HOME's hub cache)
    for checkpoint in _pretrained_checkpoints(cfg.model) + [cfg.get('load_from')]:
        if checkpoint:
            assert offline.resolve(checkpoint).is_file(), checkpoint

    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
        # mmengine 0.10.7 refuses to build it without a GPU (is_cuda_available); the set-up
        # stops before the first iteration, and tests/test_seg/test_mixed_precision.py trains
        from mmengine.optim.optimizer import amp_optimizer_wrapper
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    init_default_scope(cfg.default_scope)
    runner = train_prelude(cfg, tmp_path / 'work')
    assert len(runner.train_dataloader.dataset) > 0
    runner.train_dataloader.dataset[0]  # the training pipeline on a synthetic image
    if any(k.startswith(('test_', 'val_')) for k in options):
        loop = runner.test_loop if any(k.startswith('test_') for k in options) else runner.val_loop
        assert len(loop.dataloader.dataset) > 0
        loop.dataloader.dataset[0]

    model = runner.model
    state = model.state_dict()
    if cfg.get('load_from'):  # COCO fine-tuning: all but the class layers loaded
        ckpt = _state(offline.resolve(cfg.load_from))
        hook = next(h for h in runner.hooks if isinstance(h, FineTuneLoadHook))
        skipped = set(hook.skipped or ())
        assert skipped and all(CLASS_LAYER.match(k) for k in skipped), skipped
        loaded = [k for k in state if k in ckpt and k not in skipped
                  and torch.equal(state[k], ckpt[k])]
        assert len(loaded) == len(state) - len(skipped)
    else:
        init = cfg.model.get('backbone', {}).get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            weights = _state(offline.resolve(init['checkpoint']))
            prefix = init.get('prefix')  # e.g. 'backbone.' of a whole classifier's checkpoint
            if prefix:
                weights = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
            own = model.backbone.state_dict()
            loaded = [k for k in own if k in weights and torch.equal(own[k], weights[k])]
            assert len(loaded) == len(own), f'{len(loaded)}/{len(own)} backbone tensors loaded'
