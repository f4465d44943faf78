#!/usr/bin/env bash
# The main job, end to end on CPU: synthetic SIIM data -> mim train -> mim test -> overlays.
#   make demo            (or: bash tools/demo.sh after `make install`)
# Environment: DEMO_NUM (images, default 240), DEMO_SIZE (px, default 256), WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
CONFIG=configs/demo/unet_siim_synthetic.py
DATA=datasets/synthetic
WORK_DIR=${WORK_DIR:-work_dirs/unet_siim_synthetic}
NUM=${DEMO_NUM:-240}
SIZE=${DEMO_SIZE:-256}

if [ ! -f "$DATA/siim/train-rle.csv" ]; then
  echo "[demo] generating $NUM synthetic SIIM radiographs (${SIZE}px) in $DATA/siim"
  python tools/make_synthetic_data.py --out "$DATA" --layouts siim --num "$NUM" --size "$SIZE"
fi

echo "[demo] mim train mmseg $CONFIG"
mim train mmseg "$CONFIG" --work-dir "$WORK_DIR"

CKPT=$(cat "$WORK_DIR/last_checkpoint")
echo "[demo] tools/search_thresholds.py: triplet thresholds tuned on the validation split"
python tools/search_thresholds.py "$CONFIG" "$CKPT" --split val --out-dir "$WORK_DIR/thresholds" \
  --top 0.1:0.9:0.1 --min-areas 0 10 30 100 --bottom 0.1:0.7:0.1
TRIPLET=$(python -c "import json,sys; b=json.load(open(sys.argv[1]))['best']; print(' '.join(f'model.test_cfg.triplet.{k}={b[k]}' for k in ('top_score_threshold','min_area','bottom_threshold')))" "$WORK_DIR/thresholds/thresholds.json")

echo "[demo] mim test mmseg $CONFIG --checkpoint $CKPT (held-out test split)"
mim test mmseg "$CONFIG" --checkpoint "$CKPT" --work-dir "$WORK_DIR" \
  --show-dir "$WORK_DIR/overlays" --cfg-options default_hooks.visualization.interval=1 $TRIPLET

python - "$WORK_DIR" <<'PY'
import glob, json, os, sys
work_dir = sys.argv[1]
# mmengine's metrics file: <work_dir>/<timestamp>/<timestamp>.json
runs = sorted(glob.glob(os.path.join(work_dir, '[0-9]'*8 + '_' + '[0-9]'*6, '*.json')),
              key=os.path.getmtime)
metrics = json.load(open(runs[-1])) if runs else {}
overlays = sorted(glob.glob(os.path.join(work_dir, 'overlays', '**', '*.png'), recursive=True))
print()
print('=' * 72)
print(f"held-out synthetic SIIM (test split): siim/dice = {metrics.get('siim/dice', float('nan')):.4f}  "
      f"(recall {metrics.get('siim/recall', float('nan')):.3f}, "
      f"precision {metrics.get('siim/precision', float('nan')):.3f}, "
      f"auc {metrics.get('siim/auc', float('nan')):.3f})")
print(f'triplet thresholds (searched on val): {os.path.join(work_dir, "thresholds")}')
print(f'{len(overlays)} overlays (radiograph | ground truth | prediction) in '
      f'{os.path.dirname(overlays[0]) if overlays else work_dir}')
print('=' * 72)
PY
