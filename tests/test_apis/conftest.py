"""Checkpoints of the demo configs shared by the API tests (random weights, saved once)."""
import pytest
import torch


@pytest.fixture(scope='session')
def rigged_segmentor(tmp_path_factory, repo_root):
    """The demo U-Net config and checkpoints of it with the logits forced to +10
    (``'positive'``: every pixel is a finding) or -10 (``'negative'``: no finding)."""
    from mmchest.apis import load_segmentor
    tmp = tmp_path_factory.mktemp('rigged_seg')
    cfg = str(repo_root / 'configs/demo/unet_siim_synthetic.py')
    torch.manual_seed(0)
    model = load_segmentor(cfg, None, device='cpu')
    ckpts = {}
    for name, bias in (('positive', 10.0), ('negative', -10.0)):
        with torch.no_grad():
            model.decode_head.conv_seg.weight.zero_()
            model.decode_head.conv_seg.bias.fill_(bias)
        ckpts[name] = tmp / f'{name}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpts[name])
    return cfg, ckpts


@pytest.fixture(scope='session')
def untrained_detector(tmp_path_factory, repo_root):
    """The demo Mask R-CNN config and a checkpoint of its untrained weights."""
    from mmdet.apis import init_detector
    cfg = str(repo_root / 'configs/demo/mask_rcnn_rsna_synthetic.py')
    torch.manual_seed(0)
    ckpt = tmp_path_factory.mktemp('untrained_det') / 'det.pth'
    torch.save({'state_dict': init_detector(cfg, None, device='cpu').state_dict(), 'meta': {}},
               ckpt)
    return cfg, ckpt
