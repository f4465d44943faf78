"""`import mmchest.cls` needs neither mmseg nor mmdet (blocked in a fresh interpreter, as if not
installed), and registers every type= the classification configs use."""
import json
import subprocess
import sys

CODE = r'''
import json, sys
sys.modules['mmseg'] = None
sys.modules['mmdet'] = None
import mmchest.cls
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, METRICS, MODELS, TRANSFORMS

def types(node, out):
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            out.add(node['type'])
        for v in node.values():
            types(v, out)
    elif isinstance(node, (list, tuple)):
        for v in node:
            types(v, out)
    return out

init_default_scope('mmpretrain')
missing = []
for path in ['configs/resnet50_rsna.py', 'configs/vgg16_rsna.py',
             'configs/demo/resnet18_rsna_cls_synthetic.py']:
    cfg = Config.fromfile(path)
    for t in sorted(types(cfg.to_dict(), set())):
        if not any(r.get(t) for r in (DATASETS, METRICS, MODELS, TRANSFORMS)):
            if t not in ('Pretrained', 'OptimWrapper', 'SGD', 'AdamW', 'LinearLR',
                         'CosineAnnealingLR', 'DefaultSampler') and not t.endswith('Hook') \
                    and t not in ('LocalVisBackend', 'UniversalVisualizer'):
                missing.append((path, t))
print(json.dumps(dict(missing=missing, hosts=[m for m in ('mmseg', 'mmdet')
                                              if sys.modules.get(m) is not None])))
'''


def test_cls_without_mmseg_and_mmdet(repo_root):
    proc = subprocess.run([sys.executable, '-c', CODE], cwd=repo_root, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == dict(missing=[], hosts=[])
