#!/usr/bin/env bash
# Training throughput on one GPU, on synthetic SIIM and RSNA sets: end to end (the framework's
# tools/train.py) next to the model-only ceiling, fp32 next to mixed precision (issue 14).
#
#   bash benchmarks/gpu_siim_throughput.sh WHEEL_DIR [RESULT_DIR]     # on the GPU machine
#   DRY_RUN=1 bash benchmarks/gpu_siim_throughput.sh [RESULT_DIR]     # CPU, tiny, minutes
#   bash benchmarks/gpu_siim_throughput.sh --dry-run [RESULT_DIR]     # the same
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
#      while the synthetic SIIM and RSNA sets are written in parallel;
#   3. prove the CUDA ops: mmcv.ops.nms and roi_align on CUDA tensors equal their CPU results;
#   4. benchmarks/gpu_throughput.py: for configs/unet_siim.py (batches $BATCHES_SIIM) and
#      configs/mask_rcnn_rsna.py (batches $BATCHES_RSNA), fp32 and mixed precision (U-Net bf16,
#      R-CNN fp16 --amp): $ITERS iterations end to end (images/s after $WARMUP, data wait,
#      memory, loss windows, validation metric) and the model-only ceiling (same model, batch
#      and precision on tensors already on the GPU; U-Net also channels_last and without
#      cudnn.benchmark); writes summary.md (table, checks, fp32-vs-AMP sanity).
# Environment knobs (defaults): WORK=/tmp/mmchest-gpu SITE=$WORK/site ARCH=9.0 ITERS=300
#   WARMUP=50 BATCHES_SIIM="8 32" BATCHES_RSNA="8" NUM=400 SIZE=512 NUM_WORKERS=12
#   MODEL_ONLY_ITERS=50 MODELS="siim rsna" MAX_JOBS=$(nproc) PYTHON=python3.
# The dry run (DRY_RUN=1 or --dry-run) skips steps 1-3, uses this checkout and $PYTHON (default
# .venv/bin/python), writes 16 images of 64 px per set and runs step 4 on the CPU with two
# iterations (WORK defaults to /tmp/mmchest-gpu-dry): it checks the script, it measures nothing.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--dry-run" ]; then DRY_RUN=1; shift; fi
DRY_RUN=${DRY_RUN:-0}
say() { printf '[gpu_throughput %s] %s\n' "$(date +%T)" "$*"; }
export PYTHONUNBUFFERED=1

if [ "$DRY_RUN" = 1 ]; then
  RESULTS=${1:-}
  WORK=${WORK:-/tmp/mmchest-gpu-dry}
  PY=${PYTHON:-$REPO/.venv/bin/python}
  DATA=$WORK/syn
  mkdir -p "$WORK"
  if [ ! -f "$DATA/rsna/stage_2_train_labels.csv" ]; then
    say "dry run: writing tiny synthetic SIIM and RSNA sets to $DATA"
    "$PY" "$REPO/tools/make_synthetic_data.py" --out "$DATA" --layouts siim rsna --num 16 \
      --size 64 > "$WORK/synthetic.log" 2>&1 || { tail -n 20 "$WORK/synthetic.log"; exit 1; }
  fi
  say "dry run on the CPU: checks the script, measures nothing"
  ( cd "$REPO" && "$PY" benchmarks/gpu_throughput.py --dry-run --work "$WORK/bench" \
      --data "$DATA" --models ${MODELS:-siim rsna} --batches-siim 2 --batches-rsna 2 \
      --workers 1 --iters 2 --warmup 0 --log-interval 1 --model-only-iters 1 )
  if [ -n "$RESULTS" ]; then mkdir -p "$RESULTS" && cp "$WORK/bench/summary.md" "$RESULTS/"; fi
  say done
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: $0 WHEEL_DIR [RESULT_DIR]  (or: $0 --dry-run)" >&2; exit 2; }
WHEELS=$(cd "$1" && pwd)
RESULTS=${2:-}
WORK=${WORK:-/tmp/mmchest-gpu}
SITE=${SITE:-$WORK/site}
ARCH=${ARCH:-9.0}
ITERS=${ITERS:-300}
WARMUP=${WARMUP:-50}
BATCHES_SIIM=${BATCHES_SIIM:-8 32}
BATCHES_RSNA=${BATCHES_RSNA:-8}
NUM=${NUM:-400}
SIZE=${SIZE:-512}
NUM_WORKERS=${NUM_WORKERS:-12}
PY=${PYTHON:-python3}
DATA=$WORK/syn
mkdir -p "$WORK"

# A private copy of the code: the checkout may be rewritten while this runs.
rm -rf "$WORK/repo" && mkdir -p "$WORK/repo"
cp -a "$REPO/mmchest" "$REPO/configs" "$REPO/tools" "$REPO/benchmarks" "$WORK/repo/"
export PYTHONPATH=$SITE:$WORK/repo

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
if [ ! -f "$DATA/rsna/stage_2_train_labels.csv" ]; then
  say "writing the synthetic SIIM and RSNA sets ($NUM train images each, ${SIZE}px) to $DATA"
  "$PY" - "$WORK/repo" "$DATA" "$NUM" "$SIZE" > "$WORK/synthetic.log" 2>&1 <<'EOF' &
import runpy, sys, types
repo, out, num, size = sys.argv[1:]
pkg = types.ModuleType('mmchest')
pkg.__path__ = [f'{repo}/mmchest']
sys.modules['mmchest'] = pkg
sys.argv = ['make_synthetic_data.py', '--out', out, '--layouts', 'siim', 'rsna', '--num', num,
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

# 4. end to end and model only, fp32 and mixed precision ---------------------------------
[ -f "$SITE/mmseg/.mim/tools/train.py" ] && [ -f "$SITE/mmdet/.mim/tools/train.py" ] || {
  echo "no mmseg/mmdet .mim/tools/train.py under $SITE" >&2; exit 1; }
nvidia-smi > "$WORK/nvidia-smi.txt" 2>&1 || true
( cd "$WORK/repo" && "$PY" benchmarks/gpu_throughput.py --work "$WORK/bench" --data "$DATA" \
    --models ${MODELS:-siim rsna} --batches-siim $BATCHES_SIIM --batches-rsna $BATCHES_RSNA \
    --workers "$NUM_WORKERS" --iters "$ITERS" --warmup "$WARMUP" \
    --model-only-iters "${MODEL_ONLY_ITERS:-50}" )
if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS"
  cp "$WORK/bench/summary.md" "$WORK/bench/results.json" "$WORK/nvidia-smi.txt" "$RESULTS/"
  cp "$WORK"/bench/*.log "$RESULTS/" 2>/dev/null || true
  tail -n 40 "$WORK/mmcv-build.log" > "$RESULTS/mmcv-build-tail.log" 2>/dev/null || true
fi
say done
