#!/usr/bin/env bash
# Training throughput of configs/unet_siim.py on one GPU, on a synthetic SIIM set.
#
#   bash benchmarks/gpu_siim_throughput.sh WHEEL_DIR [RESULT_DIR]
#
# WHEEL_DIR holds the wheels the GPU machine lacks (mmengine 0.10.7, mmsegmentation 1.2.2,
# mmdet 3.3.0, addict, yapf, platformdirs, termcolor, prettytable, wcwidth, ftfy, pydicom,
# simplejpeg, pycocotools, shapely, terminaltables, setuptools 80.9.0) and the mmcv sdist as
# WHEEL_DIR/src/mmcv-2.1.0.tar.gz; torch, numpy, opencv, scipy, pandas, matplotlib come from the
# machine. Fetch them on a machine with network access, e.g.
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl mmengine==0.10.7 ...
#   pip download --no-deps --no-binary :all: -d .whl/src mmcv==2.1.0
#
# Steps (each skipped when its output exists, so a rerun only retrains):
#   1. install the wheels into $SITE (pip --target; nothing touches the system site-packages);
#   2. build mmcv 2.1.0 with its CUDA ops for $ARCH (C++20 patch for torch >= 2.10 headers),
#      while the synthetic set is written in parallel;
#   3. prove the CUDA ops: mmcv.ops.nms and roi_align on CUDA tensors equal their CPU results;
#   4. train configs/unet_siim.py for $ITERS iterations for each batch size in $BATCHES and
#      report images/s = batch / mean iteration time, iterations 1..$WARMUP excluded.
# Environment knobs (defaults): WORK=/tmp/mmchest-gpu SITE=$WORK/site ARCH=9.0 ITERS=300
#   WARMUP=50 BATCHES="8 16" NUM=400 SIZE=512 NUM_WORKERS=8 MAX_JOBS=$(nproc).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 WHEEL_DIR [RESULT_DIR]" >&2; exit 2; }
WHEELS=$(cd "$1" && pwd)
RESULTS=${2:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/mmchest-gpu}
SITE=${SITE:-$WORK/site}
ARCH=${ARCH:-9.0}
ITERS=${ITERS:-300}
WARMUP=${WARMUP:-50}
BATCHES=${BATCHES:-8 16}
NUM=${NUM:-400}
SIZE=${SIZE:-512}
NUM_WORKERS=${NUM_WORKERS:-8}
PY=${PYTHON:-python3}
DATA=$WORK/syn
mkdir -p "$WORK"
say() { printf '[gpu_siim %s] %s\n' "$(date +%T)" "$*"; }

# A private copy of the code: the checkout may be rewritten while this runs.
rm -rf "$WORK/repo" && mkdir -p "$WORK/repo"
cp -a "$REPO/mmchest" "$REPO/configs" "$REPO/tools" "$WORK/repo/"
export PYTHONPATH=$SITE:$WORK/repo
export PYTHONUNBUFFERED=1

# 1. wheels ----------------------------------------------------------------------------
if [ ! -f "$SITE/.wheels-done" ]; then
  say "installing $(ls "$WHEELS"/*.whl | wc -l) wheels into $SITE"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl
  touch "$SITE/.wheels-done"
fi

# 2a. synthetic set in the background. mmchest/__init__ imports mmseg, which needs mmcv, not
# built yet: register an empty 'mmchest' package so that only the framework-free
# mmchest.synthetic (numpy/cv2/pydicom/simplejpeg) is imported.
GEN_PID=
if [ ! -f "$DATA/siim/train-rle.csv" ]; then
  say "writing the synthetic SIIM set ($NUM train images, ${SIZE}px) to $DATA"
  "$PY" - "$WORK/repo" "$DATA" "$NUM" "$SIZE" > "$WORK/synthetic.log" 2>&1 <<'EOF' &
import runpy, sys, types
repo, out, num, size = sys.argv[1:]
pkg = types.ModuleType('mmchest')
pkg.__path__ = [f'{repo}/mmchest']
sys.modules['mmchest'] = pkg
sys.argv = ['make_synthetic_data.py', '--out', out, '--layouts', 'siim', '--num', num,
            '--size', size]
runpy.run_path(f'{repo}/tools/make_synthetic_data.py', run_name='__main__')
EOF
  GEN_PID=$!
fi

# 2b. mmcv with CUDA ops ---------------------------------------------------------------
MMCV_WHEEL=$(ls "$WORK"/mmcv-wheel/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$MMCV_WHEEL" ]; then
  say "building mmcv 2.1.0 with CUDA ops for sm_${ARCH/./} (log: $WORK/mmcv-build.log)"
  rm -rf "$WORK/mmcv-src" && mkdir -p "$WORK/mmcv-src"
  tar -xzf "$WHEELS/src/mmcv-2.1.0.tar.gz" -C "$WORK/mmcv-src"
  SRC=$WORK/mmcv-src/mmcv-2.1.0
  sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"  # torch >= 2.10 headers need C++20
  start=$(date +%s)
  ( cd "$SRC" && FORCE_CUDA=1 MMCV_WITH_OPS=1 TORCH_CUDA_ARCH_LIST=$ARCH \
      MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$PY" -m pip wheel -v --no-build-isolation --no-deps -w "$WORK/mmcv-wheel" . ) \
    > "$WORK/mmcv-build.log" 2>&1 || { tail -n 60 "$WORK/mmcv-build.log"; exit 1; }
  say "mmcv built in $(( $(date +%s) - start )) s"
  MMCV_WHEEL=$(ls "$WORK"/mmcv-wheel/mmcv-2.1.0-*.whl | head -n1)
fi
if ! "$PY" -c "import mmcv._ext" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" \
    "$MMCV_WHEEL"
fi
if [ -n "$GEN_PID" ]; then
  wait "$GEN_PID" || { tail -c 3000 "$WORK/synthetic.log"; exit 1; }
  tail -n 2 "$WORK/synthetic.log"
fi

# 3. the CUDA ops work ---------------------------------------------------------------------
"$PY" - <<'EOF'
import torch
import mmcv, mmcv._ext  # noqa: F401
from mmcv.ops import nms, roi_align
# (mmcv.ops.get_compiling_cuda_version() segfaults in this build: not called)
assert torch.cuda.is_available(), 'no CUDA device'
print(f'torch {torch.__version__} (CUDA {torch.version.cuda}), mmcv {mmcv.__version__}, '
      f'GPU {torch.cuda.get_device_name(0)}')
g = torch.Generator().manual_seed(0)
boxes = torch.rand(2000, 4, generator=g) * 500
boxes[:, 2:] += boxes[:, :2] + 1
scores = torch.rand(2000, generator=g)
_, keep_cpu = nms(boxes, scores, 0.5)
_, keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)
assert keep_gpu.is_cuda and torch.equal(keep_gpu.cpu(), keep_cpu), 'nms: CUDA != CPU'
feat = torch.rand(2, 16, 64, 64, generator=g)
rois = torch.tensor([[0, 1., 1., 40., 30.], [1, 5., 7., 60., 50.], [0, 10., 3., 20., 63.]])
ref = roi_align(feat, rois, (7, 7), 1.0, 2)
out = roi_align(feat.cuda(), rois.cuda(), (7, 7), 1.0, 2)
assert out.is_cuda and torch.allclose(out.cpu(), ref, atol=1e-5), 'roi_align: CUDA != CPU'
print(f'CUDA ops OK: nms kept {keep_gpu.numel()} of 2000 boxes on cuda (same as CPU); '
      'roi_align on cuda equals CPU')
EOF

# 4. training throughput ----------------------------------------------------------------
TRAIN=$SITE/mmseg/.mim/tools/train.py
[ -f "$TRAIN" ] || { echo "no $TRAIN (mmsegmentation wheel without .mim/tools?)" >&2; exit 1; }
SUMMARY=$WORK/summary.md
: > "$SUMMARY"
for B in $BATCHES; do
  WD=$WORK/wd_b$B
  rm -rf "$WD"
  say "training configs/unet_siim.py, batch $B, $ITERS iterations"
  start=$(date +%s)
  ( cd "$WORK/repo" && "$PY" "$TRAIN" configs/unet_siim.py --work-dir "$WD" --cfg-options \
      train_dataloader.dataset.data_root="$DATA/siim" \
      val_dataloader.dataset.data_root="$DATA/siim" \
      test_dataloader.dataset.data_root="$DATA/siim" \
      model.backbone.init_cfg=None \
      train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS" \
      default_hooks.logger.interval=10 \
      train_dataloader.batch_size="$B" train_dataloader.num_workers="$NUM_WORKERS" ) > "$WORK/train_b$B.log" 2>&1 \
    || { tail -n 60 "$WORK/train_b$B.log"; exit 1; }
  wall=$(( $(date +%s) - start ))
  grep -E "Iter\(train\) \[ *($ITERS)/|Iter\(val\) \[[0-9]+/[0-9]+\] +siim" "$WORK/train_b$B.log" || true
  "$PY" - "$WD" "$B" "$WARMUP" "$wall" >> "$SUMMARY" <<'EOF'
import glob, json, statistics, sys
wd, batch, warmup, wall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(line) for line in open(sorted(glob.glob(f'{wd}/*/vis_data/scalars.json'))[-1])]
train = [r for r in rows if 'loss' in r and r['iter'] > warmup]
val = [r for r in rows if 'siim/dice' in r]
t = sum(r['time'] for r in train) / len(train)
d = sum(r['data_time'] for r in train) / len(train)
# A finite sampler under IterBasedTrainLoop: at each epoch end mmengine sleeps 2 s and restarts
# the dataloader; those logging windows show a data_time far above the median.
median_d = statistics.median(r['data_time'] for r in train)
steady = [r for r in train if r['data_time'] < 5 * median_d + 0.005]
ts = sum(r['time'] for r in steady) / len(steady)
ds = sum(r['data_time'] for r in steady) / len(steady)
mem = max(r.get('memory', 0) for r in train)
dice = f"{val[-1]['siim/dice']:.3f}" if val else 'n/a'
last = max(r['iter'] for r in train)
print(f'| {batch} | {warmup + 1}-{last} | {t:.4f} | {1 / t:.2f} | {batch / t:.1f} | {d:.4f} | '
      f'{len(train) - len(steady)} | {ts:.4f} | {batch / ts:.1f} | {ds:.4f} | {mem} | {wall} | '
      f'{dice} |')
EOF
done
{
  echo '| batch | iters timed | s/iter | iters/s | images/s | data_time s | windows with epoch restart | s/iter without them | images/s without them | data_time s without them | memory MB | run wall s | val siim/dice |'
  echo '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
  cat "$SUMMARY"
} > "$SUMMARY.tmp" && mv "$SUMMARY.tmp" "$SUMMARY"
cat "$SUMMARY"
if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS"
  cp "$SUMMARY" "$RESULTS/"
  for B in $BATCHES; do cp "$WORK/train_b$B.log" "$RESULTS/"; done
  tail -n 40 "$WORK/mmcv-build.log" > "$RESULTS/mmcv-build-tail.log" 2>/dev/null || true
fi
say done
