"""ChestClsInferencer: picked by init_inferencer for default_scope 'mmpretrain', DICOM in,
class probabilities out; safe loading of a trained-format checkpoint, refusal of another
model's."""
import numpy as np
import pytest
import torch

from mmchest.apis import INFERENCERS, init_inferencer
from mmchest.synthetic import chest_radiograph, write_dicom

CLS = 'configs/demo/resnet18_rsna_cls_synthetic.py'


@pytest.fixture(scope='module')
def dicom(tmp_path_factory):
    path = tmp_path_factory.mktemp('cls') / 'img.dcm'
    write_dicom(path, chest_radiograph(64, [7, 1]).image)
    return str(path)


def test_scope_dispatch_and_prediction(dicom, repo_root):
    from mmchest.apis import ChestClsInferencer
    assert INFERENCERS['mmpretrain'].endswith(':ChestClsInferencer')
    torch.manual_seed(0)
    inf = init_inferencer(str(repo_root / CLS), None, device='cpu',
                          cfg_options={'test_dataloader.dataset.pipeline.1.scale': (64, 64)})
    assert isinstance(inf, ChestClsInferencer) and inf.task == 'cls'
    pred = inf.predict_file(dicom)
    assert pred.class_scores.shape == (2, )
    assert pred.class_scores.sum() == pytest.approx(1.0, abs=1e-5)
    assert pred.probability == pytest.approx(float(pred.class_scores[1]))
    assert pred.has_finding == (pred.probability > 0.5)
    assert pred.image.shape == (64, 64, 3)
    out = inf([dicom])['predictions'][0]
    assert out['probability'] == pytest.approx(pred.probability)
    assert np.allclose(out['class_scores'], pred.class_scores)
    assert pred.overlay().shape == (64, 64, 3)


def test_checkpoint_safe_load_and_refusal(tmp_path, dicom, repo_root):
    from mmengine.logging import HistoryBuffer

    from mmchest.engine.checkpoint_fit import CheckpointMismatchError
    torch.manual_seed(0)
    inf = init_inferencer(str(repo_root / CLS), None, device='cpu')
    # the same model, saved as mmengine does (message_hub with a HistoryBuffer, numpy)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': inf.model.state_dict(),
                'message_hub': {'log_scalars': {'loss': HistoryBuffer([0.5, 0.4], [1, 1])}},
                'meta': {'seed': np.int64(0)}}, good)
    again = init_inferencer(str(repo_root / CLS), str(good), device='cpu')
    assert again.predict_file(dicom).probability == pytest.approx(
        inf.predict_file(dicom).probability, abs=1e-6)
    # a wider backbone's weights do not fit: refused, nothing loaded
    bad = tmp_path / 'wider.pth'
    other = init_inferencer(str(repo_root / CLS), None, device='cpu', cfg_options={
        'model.backbone.base_channels': 32, 'model.backbone.stem_channels': 32,
        'model.head.in_channels': 256})
    torch.save({'state_dict': other.model.state_dict(), 'meta': {}}, bad)
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        init_inferencer(str(repo_root / CLS), str(bad), device='cpu')
