"""benchmarks/gpu_siim_throughput.sh --dry-run: the GPU benchmark's whole path on the CPU
(tiny synthetic SIIM and RSNA sets, two iterations): end to end through the frameworks'
tools/train.py in fp32 and mixed precision (the U-Net's bf16 switch, the R-CNN's --amp),
the model-only ceiling, and the summary with the table, the checks and the fp32-vs-AMP
comparison. No number is checked: a dry run measures nothing."""
import json

EXPECTED = [('siim', 'fp32'), ('siim', 'bf16'), ('rsna', 'fp32'), ('rsna', 'fp16')]


def test_dry_run_writes_the_summary(tmp_path, cli, repo_root):
    out = cli(['bash', 'benchmarks/gpu_siim_throughput.sh', '--dry-run', tmp_path / 'results'],
              env={'WORK': str(tmp_path / 'work')}, timeout=1200).stdout
    assert 'dry run on the CPU' in out
    summary = (tmp_path / 'results' / 'summary.md').read_text()
    assert ('| model | precision | batch | workers | e2e images/s | data wait % | '
            'model-only images/s | e2e / model-only |') in summary
    for model, precision in EXPECTED:
        assert f'| {model} | {precision} | 2 | 1 |' in summary
    assert 'channels_last=True' in summary and 'cudnn.benchmark=False' in summary
    assert 'siim bf16 batch 2: e2e' in summary and 'rsna fp16 batch 2: e2e' in summary
    assert 'siim batch 2: mean loss' in summary and 'rsna batch 2: mean loss' in summary

    rows = json.loads((tmp_path / 'work' / 'bench' / 'results.json').read_text())
    assert [(r['model'], r['precision']) for r in rows] == EXPECTED
    for r in rows:
        assert r['model_only']['precision'] == r['precision']
        assert r['model_only']['batch'] == r['batch'] == 2
        assert len(r['losses']) == 2 and r['metric'] is not None
    # the documented switches reached the training runs
    logs = {p.name: p.read_text() for p in (tmp_path / 'work' / 'bench').glob('train_*.log')}
    assert "type='AmpOptimWrapper'" in logs['train_siim_bf16_b2.log']
    assert "dtype='bfloat16'" in logs['train_siim_bf16_b2.log']
    assert "type='AmpOptimWrapper'" in logs['train_rsna_fp16_b2.log']
    assert "type='AmpOptimWrapper'" not in logs['train_siim_fp32_b2.log']
