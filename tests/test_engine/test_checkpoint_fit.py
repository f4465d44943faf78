"""Evaluation refuses a checkpoint that does not fit the model; training stays lenient."""
import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint
from torch import nn

import mmchest  # noqa: F401  (installs the checks)
from mmchest.engine.checkpoint_fit import CheckpointMismatchError, check_fit, require_fit

SIIM = 'configs/demo/unet_siim_synthetic.py'
MULTI_EXPERT = 'configs/demo/unet_multi_expert_pneumonia_synthetic.py'
RSNA = 'configs/demo/mask_rcnn_rsna_synthetic.py'


class _Net(nn.Module):

    def __init__(self, width: int = 4, classes: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, classes)


def _save(state, path):
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_check_fit_lists_missing_and_mismatched():
    model = _Net()
    state = {k: v for k, v in _Net(classes=3).state_dict().items() if not k.startswith('bn.')}
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as info:
        check_fit(model, state, 'other.pth', 'cfg.py')
    err = info.value
    # BatchNorm's num_batches_tracked is tolerated, as mmengine does
    assert err.missing == ['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var']
    assert err.mismatched == {'head.weight': ((3, 4), (2, 4)), 'head.bias': ((3,), (2,))}
    assert err.unexpected == ['extra.weight']
    message = str(err)
    assert "checkpoint 'other.pth' does not fit the model of cfg.py" in message
    assert '4 of the model' in message and 'bn.running_var' in message
    assert 'head.weight (3, 4)->(2, 4)' in message and 'extra.weight' in message


def test_check_fit_accepts_full_cover_and_extra_keys():
    model = _Net()
    state = dict(model.state_dict())
    del state['bn.num_batches_tracked']
    state['aux.weight'] = torch.zeros(1)  # e.g. an auxiliary head the test config drops
    check_fit(model, state, 'ok.pth')
    check_fit(model, {f'module.{k}': v for k, v in state.items()}, 'ddp.pth')


def test_tta_wrapper_is_checked_by_its_model():
    """`mim test --tta` wraps the model: the checkpoint holds the inner model's keys."""
    from mmengine.model import BaseTTAModel

    class _TTA(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return data_samples_list

    class _Testable(_Net):
        def test_step(self, data):
            return data

    inner = _Testable()
    check_fit(_TTA(module=inner), inner.state_dict(), 'ok.pth')
    with pytest.raises(CheckpointMismatchError, match="weights are not in the checkpoint: "
                                                      "conv.weight"):
        check_fit(_TTA(module=inner), {}, 'empty_state.pth')


def test_message_lists_the_first_keys_and_a_count():
    model = nn.Sequential(*[nn.Linear(1, 1) for _ in range(30)])
    with pytest.raises(CheckpointMismatchError, match=r'60 of the model.s 60 weights .*'
                                                      r'\(\+50 more\)'):
        check_fit(model, {}, 'empty_state.pth')


def test_mmengine_load_checkpoint_is_strict_only_when_required(tmp_path):
    path = _save(_Net(classes=3).state_dict(), tmp_path / 'other.pth')
    model = _Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with require_fit(path), pytest.raises(CheckpointMismatchError, match='head.bias'):
        load_checkpoint(model, path, map_location='cpu')
    for key, value in model.state_dict().items():  # nothing was copied
        assert torch.equal(value, before[key]), key
    # outside evaluation (Pretrained init, fine-tuning) mmengine stays lenient
    load_checkpoint(model, path, map_location='cpu')
    assert torch.equal(model.conv.weight, torch.load(path)['state_dict']['conv.weight'])


def test_load_segmentor_refuses_another_model(tmp_path, repo_root):
    from mmchest.apis import load_segmentor
    siim = load_segmentor(str(repo_root / SIIM), None, device='cpu')
    own = _save(siim.state_dict(), tmp_path / 'siim.pth')
    load_segmentor(str(repo_root / SIIM), own, device='cpu')  # its own config: fine

    with pytest.raises(CheckpointMismatchError) as info:
        load_segmentor(str(repo_root / MULTI_EXPERT), own, device='cpu')
    assert info.value.missing and 'unet_multi_expert_pneumonia_synthetic.py' in str(info.value)

    headless = {k: v for k, v in siim.state_dict().items() if 'conv_seg' not in k}
    with pytest.raises(CheckpointMismatchError) as info:
        load_segmentor(str(repo_root / SIIM), _save(headless, tmp_path / 'headless.pth'),
                       device='cpu')
    assert info.value.missing == ['decode_head.conv_seg.weight', 'decode_head.conv_seg.bias']
    assert not info.value.mismatched


def test_load_detector_refuses_a_segmentation_checkpoint(tmp_path, repo_root):
    from mmchest.apis import load_detector, load_segmentor
    seg = load_segmentor(str(repo_root / SIIM), None, device='cpu')
    path = _save(seg.state_dict(), tmp_path / 'seg.pth')
    with pytest.raises(CheckpointMismatchError) as info:
        load_detector(str(repo_root / RSNA), path)
    assert info.value.missing and info.value.mismatched
    assert 'backbone.conv1.weight (16, 3, 7, 7)->(32, 3, 7, 7)' in str(info.value)


@pytest.fixture(scope='module')
def multi_expert_checkpoint(tmp_path_factory, repo_root):
    from mmchest.apis import load_segmentor
    model = load_segmentor(str(repo_root / MULTI_EXPERT), None, device='cpu')
    return _save(model.state_dict(), tmp_path_factory.mktemp('fit') / 'multi_expert.pth')


def test_infer_exits_non_zero_listing_the_keys(tmp_path, repo_root, capsys,
                                               multi_expert_checkpoint):
    from mmchest.synthetic import chest_radiograph, write_dicom
    write_dicom(tmp_path / 'in' / 'a.dcm', chest_radiograph(64, [1, 2]).image)
    out = tmp_path / 'out'
    from mmchest.apis.infer_folder import infer_to_folder
    rc = infer_to_folder(str(repo_root / SIIM), multi_expert_checkpoint, [str(tmp_path / 'in')],
                         str(out), device='cpu')
    assert rc == 1
    err = capsys.readouterr().err
    assert 'error: checkpoint' in err and 'does not fit' in err and 'backbone.' in err
    assert not (out / 'summary.csv').exists()  # no predictions from random weights


def test_serve_exits_non_zero_before_serving(repo_root, capsys, multi_expert_checkpoint):
    from mmchest.apis.webapp import run_server
    rc = run_server(str(repo_root / SIIM), multi_expert_checkpoint, device='cpu', port=0)
    assert rc == 1
    captured = capsys.readouterr()
    assert 'does not fit' in captured.err and 'serving' not in captured.out


def test_infer_names_an_empty_checkpoint(tmp_path, repo_root, capsys):
    from mmchest.synthetic import chest_radiograph, write_dicom
    write_dicom(tmp_path / 'in' / 'a.dcm', chest_radiograph(64, [1, 2]).image)
    (tmp_path / 'empty.pth').write_bytes(b'')
    from mmchest.apis.infer_folder import infer_to_folder
    rc = infer_to_folder(str(repo_root / SIIM), str(tmp_path / 'empty.pth'), [str(tmp_path / 'in')],
                         str(tmp_path / 'o'), device='cpu')
    assert rc == 1
    assert 'empty.pth' in capsys.readouterr().err.split('is empty (0 bytes)')[0]
