"""Exported demo models shared by the deploy tests (random weights, exported once)."""
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SIIM = 'configs/demo/unet_siim_synthetic.py'
MULTI_EXPERT = 'configs/demo/unet_multi_expert_pneumonia_synthetic.py'


def random_checkpoint(config: str, path: Path, seed: int = 0, logit_gain: float = 4.0
                      ) -> Path:
    """The config's model with random weights, its classifier scaled by ``logit_gain`` so
    that the foreground probabilities spread over (0, 1) (masks are then not all-or-nothing)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmchest  # noqa: F401
    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    from mmchest.synthetic import chest_radiograph
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(str(REPO / config)).model).eval()
    # centre the random head's logits on a radiograph, then steepen them
    image = chest_radiograph(128, seed).image
    batch = torch.from_numpy(image).float()[None, None].repeat(1, 3, 1, 1)
    head = model.decode_head.conv_seg
    with torch.no_grad():
        logits = model.encode_decode((batch - 120) / 58, [dict(img_shape=(128, 128))])
        head.bias.sub_(float(logits.median()))
        head.weight.mul_(logit_gain)
        head.bias.mul_(logit_gain)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('background', 'finding')}}}, path)
    return path


def _export(tmp_path_factory, config: str, name: str) -> dict:
    from mmchest.deploy.onnx_export import export_onnx
    root = tmp_path_factory.mktemp(name)
    ckpt = random_checkpoint(config, root / f'{name}.pth')
    out = root / f'{name}.onnx'
    meta = export_onnx(str(REPO / config), str(ckpt), str(out))
    return dict(config=str(REPO / config), checkpoint=str(ckpt), onnx=str(out), meta=meta)


@pytest.fixture(scope='session')
def siim_export(tmp_path_factory):
    """SIIM demo U-Net (ResNet-18-style encoder, triplet thresholds, 128 px input)."""
    return _export(tmp_path_factory, SIIM, 'siim')


@pytest.fixture(scope='session')
def multi_expert_export(tmp_path_factory):
    """Multi-expert demo (mmseg UNet backbone, test-time padding to a multiple of 16)."""
    return _export(tmp_path_factory, MULTI_EXPERT, 'multi_expert')
