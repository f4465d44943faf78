"""mmseg tests build from mmseg's registries: run each under the mmseg default scope, as the
runner does (earlier mmdet tests may have left the global default scope at 'mmdet')."""
import pytest
from mmengine.registry import init_default_scope


@pytest.fixture(autouse=True)
def _mmseg_default_scope():
    init_default_scope('mmseg')
