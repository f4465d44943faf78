#!/usr/bin/env bash
# Install the OpenMMLab stack and mmchest into ./.venv (idempotent).
#
#   make install              # or: bash tools/install.sh
#
# Environment knobs:
#   VENV=path                 virtual environment to create/use (default: .venv)
#   PYTHON=python3.11         interpreter used to create it
#   MMCHEST_WHEEL_CACHE=dir   where the built mmcv wheel is cached (default ~/.cache/mmchest/wheels)
#   FORCE_CUDA=1              build mmcv's CUDA ops even when no GPU is visible (needs nvcc)
#   MMCHEST_SKIP_TORCH=1      never install torch (use the one already in the venv)
#
# A second run with everything in place only checks versions and takes seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
CACHE=${MMCHEST_WHEEL_CACHE:-$HOME/.cache/mmchest/wheels}

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
SETUPTOOLS_VERSION=80.9.0

say() { printf '\033[1m[mmchest install]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[mmchest install] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# 1. virtual environment -------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV" || die "could not create a virtual environment with $PYTHON"
fi
PY="$ROOT/$VENV/bin/python"
[ -x "$PY" ] || PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

have_version() {  # have_version DIST VERSION -> 0 if installed at exactly VERSION
  "$PY" - "$1" "$2" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
except PackageNotFoundError:
    sys.exit(1)
EOF
}

# setuptools must stay < 81: mmcv's setup.py and mim import pkg_resources.
if ! have_version setuptools "$SETUPTOOLS_VERSION" || ! "$PY" -c "import wheel" 2>/dev/null; then
  say "pinning setuptools==$SETUPTOOLS_VERSION"
  "${PIP[@]}" install -q "setuptools==$SETUPTOOLS_VERSION" wheel
fi

# 2. torch ----------------------------------------------------------------------
torch_version() {  # installed torch version from package metadata (no slow import)
  "$PY" -c "from importlib.metadata import version as v; v('torchvision'); print(v('torch'))" 2>/dev/null
}
if TORCH_INSTALLED=$(torch_version); then
  say "torch $TORCH_INSTALLED already installed"
elif [ "${MMCHEST_SKIP_TORCH:-0}" = 1 ]; then
  die "MMCHEST_SKIP_TORCH=1 but torch/torchvision do not import in $VENV"
else
  say "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  "${PIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
    || die "torch install failed (see pip output above)"
fi

# 3. mmcv with compiled ops, from a cached wheel or built from the sdist ----------
mmcv_ok() {  # pinned version with its compiled _ext, checked without importing (needs mmengine)
  "$PY" - "$MMCV_VERSION" <<'PYEOF' 2>/dev/null
import glob, os, sys
from importlib.metadata import distribution
dist = distribution('mmcv')
assert dist.version == sys.argv[1]
root = os.path.join(str(dist.locate_file('')), 'mmcv')
assert glob.glob(os.path.join(root, '_ext*.so')) or glob.glob(os.path.join(root, '_ext*.pyd'))
PYEOF
}
if mmcv_ok; then
  say "mmcv $MMCV_VERSION with compiled ops already installed"
else
  WITH_CUDA=0
  if [ "${FORCE_CUDA:-0}" = 1 ]; then
    WITH_CUDA=1
  elif command -v nvcc >/dev/null 2>&1 && "$PY" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    WITH_CUDA=1
  fi
  KEY=$("$PY" - "$MMCV_VERSION" "$WITH_CUDA" <<'EOF'
import sys, torch
cuda = f"cu{torch.version.cuda.replace('.', '')}" if sys.argv[2] == '1' and torch.version.cuda else 'cpu'
print(f"mmcv{sys.argv[1]}-torch{torch.__version__.split('+')[0]}-py{sys.version_info[0]}{sys.version_info[1]}-{cuda}")
EOF
)
  WHEEL_DIR="$CACHE/$KEY"
  WHEEL=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    say "building mmcv $MMCV_VERSION ($KEY) from the PyPI sdist; this takes ~10 min on 2 cores"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    "${PIP[@]}" install -q ninja psutil || die "could not install the build helpers ninja/psutil"
    "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD" \
      || die "could not download the mmcv $MMCV_VERSION sdist from PyPI"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.10 headers use C++20 features; mmcv 2.1.0 hard-codes C++17.
    if "$PY" -c "import torch,sys; from packaging.version import Version as V; sys.exit(0 if V(torch.__version__.split('+')[0]) >= V('2.10') else 1)"; then
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    fi
    export MMCV_WITH_OPS=1
    export MAX_JOBS=${MAX_JOBS:-$(nproc)}
    if [ "$WITH_CUDA" = 1 ]; then export FORCE_CUDA=1; fi
    mkdir -p "$WHEEL_DIR"
    ( cd "$SRC" && "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD/dist" . ) \
      || die "mmcv build failed (see compiler output above)"
    built=$(ls "$BUILD"/dist/mmcv-*.whl | head -n1)
    # Atomic publish into the cache so an interrupted build never leaves a broken wheel.
    cp "$built" "$WHEEL_DIR/.tmp-$(basename "$built")"
    mv "$WHEEL_DIR/.tmp-$(basename "$built")" "$WHEEL_DIR/$(basename "$built")"
    WHEEL="$WHEEL_DIR/$(basename "$built")"
    say "cached $WHEEL"
  else
    say "using cached $WHEEL"
  fi
  "${PIP[@]}" install -q "$WHEEL" || die "could not install $WHEEL"
  mmcv_ok || die "mmcv installed but its compiled ops (mmcv/_ext*.so) are missing"
fi

# 4. the rest of the stack ----------------------------------------------------------
# Everything pinned in requirements/*.txt (and mmchest itself) at a matching version? Checked
# from package metadata; the one real import happens in step 5.
if "$PY" - <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
from pathlib import Path
reqs = [l.split('#')[0].strip() for l in Path('requirements/runtime.txt').read_text().splitlines()]
reqs += [l.split('#')[0].strip() for l in Path('requirements/tests.txt').read_text().splitlines()]
reqs += ['mmchest', 'openmim==0.3.9']
from packaging.requirements import Requirement
for r in filter(None, reqs):
    req = Requirement(r)
    if not req.specifier.contains(version(req.name), prereleases=True):
        sys.exit(1)
EOF
then
  say "OpenMMLab stack and mmchest already installed"
else
  say "installing mmengine, mmsegmentation, mmdet, pydicom and the test tools"
  "${PIP[@]}" install -q -r requirements/runtime.txt -r requirements/tests.txt \
    || die "pip could not install requirements/runtime.txt + requirements/tests.txt"
  # openmim's declared dependency chain (openxlab) downgrades setuptools; install it bare
  # together with the dependencies it really imports.
  "${PIP[@]}" install -q --no-deps openmim==0.3.9 || die "could not install openmim"
  "${PIP[@]}" install -q click colorama model-index pandas requests rich tabulate \
    "setuptools==$SETUPTOOLS_VERSION" || die "could not install openmim's dependencies"
  "${PIP[@]}" install -q --no-deps --no-build-isolation -e . || die "could not install mmchest itself"
fi

# 5. verify ---------------------------------------------------------------------------
"$PY" - <<'EOF' || die "the stack does not import; see the traceback above"
import mmcv, mmcv._ext, mmengine, mmseg, mmdet, torch, pydicom, mmchest, setuptools
print(f"torch {torch.__version__} (cuda available: {torch.cuda.is_available()})")
print(f"mmcv {mmcv.__version__} (ops: mmcv._ext)  mmengine {mmengine.__version__}")
print(f"mmseg {mmseg.__version__}  mmdet {mmdet.__version__}  pydicom {pydicom.__version__}")
print(f"mmchest {mmchest.__version__}  setuptools {setuptools.__version__}")
EOF
[ -x "$VENV/bin/mim" ] || die "mim is not on $VENV/bin"
say "done. Activate with: source $VENV/bin/activate"
