"""mmchest.weights.convert: the file-level conversion behind tools/convert_weights.py."""
import pytest
import torch

from mmchest.weights import WeightConversionError
from mmchest.weights.convert import convert_seresnext_file, read_state_dict


def test_read_state_dict_unwraps_and_refuses(tmp_path):
    tensors = {'a': torch.zeros(2), 'b': torch.ones(1)}
    for i, obj in enumerate((tensors, {'state_dict': tensors}, {'model': tensors})):
        torch.save(obj, tmp_path / f'{i}.pth')
        assert list(read_state_dict(str(tmp_path / f'{i}.pth'))) == ['a', 'b']
    torch.save({'a': 1}, tmp_path / 'ints.pth')
    with pytest.raises(WeightConversionError, match='ints.pth holds no state dict of tensors'):
        read_state_dict(str(tmp_path / 'ints.pth'))
    (tmp_path / 'junk.pth').write_bytes(b'junk')
    with pytest.raises(WeightConversionError, match='cannot read .*junk.pth'):
        read_state_dict(str(tmp_path / 'junk.pth'))


def test_convert_file_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        convert_seresnext_file(str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth'))
    torch.save({'layer9.weight': torch.zeros(1)}, tmp_path / 'odd.pth')
    with pytest.raises(WeightConversionError):
        convert_seresnext_file(str(tmp_path / 'odd.pth'), str(tmp_path / 'out' / 'o.pth'))
    assert not (tmp_path / 'out').exists()
