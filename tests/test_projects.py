"""projects/: every README names configs that exist, and every project config is documented."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config

import mmchest  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
PROJECTS = sorted(p.parent for p in (REPO / 'projects').glob('*/README.md'))
CONFIG_RE = re.compile(r'(projects/[\w./-]+?\.py|configs/[\w./-]+?\.py)')


def test_projects_exist():
    assert {p.name for p in PROJECTS} >= {'chest_image_pneum_unet', 'siim_unet',
                                          'rsna_mask_rcnn'}


@pytest.mark.parametrize('project', PROJECTS, ids=lambda p: p.name)
def test_readme_commands_and_configs_agree(project):
    text = (project / 'README.md').read_text()
    named = set()
    for ref in CONFIG_RE.findall(text):
        # projects/... from the repository root; configs/... in the project, else the root's
        candidates = ([REPO / ref] if ref.startswith('projects/') else
                      [project / ref, REPO / ref])
        path = next((c for c in candidates if c.is_file()), None)
        assert path is not None, f'{project.name}/README.md names a missing config: {ref}'
        named.add(path.resolve())
    configs = sorted((project / 'configs').glob('*.py'))
    assert configs, f'{project.name} has no configs'
    for cfg in configs:
        assert cfg.resolve() in named, f'{cfg.name} is not mentioned in the README'
    # results that need real data are marked, never invented
    assert 'not yet measured' in text
    assert 'mim train' in text and 'Synthetic data' in text


@pytest.mark.parametrize('path', sorted((REPO / 'projects').glob('*/configs/*.py')),
                         ids=lambda p: f'{p.parent.parent.name}/{p.name}')
def test_project_configs_inherit_from_configs(path):
    """Each config reaches configs/ through its _base_ chain, and none bakes a work_dir."""
    seen, todo = set(), [path.resolve()]
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        bases = Config._get_base_files(str(cur))  # noqa: SLF001 - mmengine's own parser
        todo += [(cur.parent / b).resolve() for b in bases if '::' not in b]
    assert any((REPO / 'configs') in p.parents for p in seen), path
    assert 'work_dir' not in Config.fromfile(str(path))
