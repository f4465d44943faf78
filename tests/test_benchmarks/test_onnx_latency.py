"""benchmarks/onnx_latency.py runs end to end on the demo U-Net (two timed runs; the numbers
themselves are recorded in benchmarks/README.md, not checked)."""
import json


def test_onnx_latency_demo(tmp_path, cli):
    out = cli(['python', 'benchmarks/onnx_latency.py', '--configs', 'demo', '--runs', '2',
               '--warmup', '0', '--threads', '1', '--json', tmp_path / 'r.json']).stdout
    assert '| model | input | PyTorch median / min (ms) | onnxruntime median / min (ms) |' in out
    assert '| configs/demo/unet_siim_synthetic.py | 1x3x128x128 |' in out
    (row,) = json.loads((tmp_path / 'r.json').read_text())
    assert row['input'] == [1, 3, 128, 128] and row['max_abs_diff'] < 1e-4
    assert row['pytorch_ms']['n'] == row['onnxruntime_ms']['n'] >= 2
    assert 0 < row['onnxruntime_ms']['min'] <= row['onnxruntime_ms']['median']
