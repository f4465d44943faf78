#!/usr/bin/env bash
# The RSNA job, end to end on CPU: synthetic RSNA download -> mim train (Mask R-CNN) ->
# mim test on the held-out split with overlays -> box score threshold chosen on the
# validation split -> Kaggle submission CSV.
#   make demo-rsna       (or: bash tools/demo_rsna.sh after `make install`)
# Environment: DEMO_NUM (training patients, default 400), WORK_DIR, RSNA_ROOT (data root,
# default the config's datasets/synthetic/rsna), CFG_OPTIONS (extra --cfg-options, for
# every step; the test suite uses it for a tiny schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/${VENV:-.venv}/bin:$PATH"
CONFIG=configs/demo/mask_rcnn_rsna_synthetic.py
ROOT=${RSNA_ROOT:-datasets/synthetic/rsna}
WORK_DIR=${WORK_DIR:-work_dirs/mask_rcnn_rsna_synthetic}
# shellcheck disable=SC2206
OPTS=(--cfg-options train_dataloader.dataset.data_root="$ROOT" val_dataloader.dataset.data_root="$ROOT"
      test_dataloader.dataset.data_root="$ROOT" ${CFG_OPTIONS:-})

if [ ! -f "$ROOT/stage_2_train_labels.csv" ]; then
  echo "[demo-rsna] generating ${DEMO_NUM:-400} synthetic RSNA patients (256 px) in $ROOT"
  python tools/make_synthetic_data.py --out "$(dirname "$ROOT")" --layouts rsna \
    --num "${DEMO_NUM:-400}" --size 256
fi

echo "[demo-rsna] mim train mmdet $CONFIG"
mim train mmdet "$CONFIG" --work-dir "$WORK_DIR" "${OPTS[@]}"
CKPT=$(cat "$WORK_DIR/last_checkpoint")

echo "[demo-rsna] mim test mmdet $CONFIG --checkpoint $CKPT (held-out test split)"
mim test mmdet "$CONFIG" --checkpoint "$CKPT" --work-dir "$WORK_DIR" --show-dir overlays \
  "${OPTS[@]}"

echo "[demo-rsna] tools/rsna_thresholds.py: box score threshold chosen on the validation split"
python tools/rsna_thresholds.py "$CONFIG" "$CKPT" --split val --out-dir "$WORK_DIR/thresholds" \
  "${OPTS[@]}"
THR=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['best']['score_thr'])" \
  "$WORK_DIR/thresholds/thresholds.json")

echo "[demo-rsna] tools/rsna_submission.py on $ROOT/stage_2_test_images (--score-thr $THR)"
python tools/rsna_submission.py "$CONFIG" "$CKPT" --img-dir "$ROOT/stage_2_test_images" \
  --out "$WORK_DIR/submission.csv" --score-thr "$THR" "${OPTS[@]}"

python - "$WORK_DIR" <<'PY'
import glob, json, os, sys
work_dir = sys.argv[1]
# mmengine's metrics file: <work_dir>/<timestamp>/<timestamp>.json
runs = sorted(glob.glob(os.path.join(work_dir, '[0-9]'*8 + '_' + '[0-9]'*6, '*.json')),
              key=os.path.getmtime)
m = json.load(open(runs[-1])) if runs else {}
overlays = sorted(glob.glob(os.path.join(work_dir, '*', 'overlays', '*.png')), key=os.path.getmtime)
nan = float('nan')
print('=' * 72)
print(f"held-out synthetic RSNA (test split): rsna/mAP = {m.get('rsna/mAP', nan):.4f}  "
      f"(COCO bbox mAP {m.get('rsna/bbox_mAP', nan):.3f}; image-level recall@0.5 "
      f"{m.get('rsna/img_recall@0.5', nan):.3f}, precision@0.5 {m.get('rsna/img_precision@0.5', nan):.3f})")
if overlays:  # this run's only
    latest = os.path.dirname(overlays[-1])
    print(f"{len(glob.glob(os.path.join(latest, '*.png')))} overlays (ground truth | prediction) in {latest}")
print(f"threshold curves (validation split): {os.path.join(work_dir, 'thresholds', 'thresholds.png')}")
print(f"Kaggle submission (boxes above the validation-chosen threshold): "
      f"{os.path.join(work_dir, 'submission.csv')}")
print('=' * 72)
PY
