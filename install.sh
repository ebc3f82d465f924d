#!/usr/bin/env bash
# Set up the workbench: a .venv with the project installed, and the default model provisioned.
#
#   ./install.sh          # users
#   ./install.sh --dev    # plus the test and lint tools
#
# Idempotent: run it again at any time; what is already there is kept.
# Torch is installed first, pinned (TORCH_SPEC, default torch==2.13.0), so that where a local CPU
# build is available pip takes it instead of a multi-GB CUDA build.
set -euo pipefail

cd "$(dirname "$0")"
DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MODEL="${CL_DEFAULT_MODEL:-smollm2-135m-instruct}"

"$PYTHON" - <<'PY' || { echo "install.sh: Python >= 3.11 is required" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "==> installing $TORCH_SPEC"
  "${PIP[@]}" install --quiet "$TORCH_SPEC"
fi

echo "==> installing continual-learning"
if [ "$DEV" = 1 ]; then
  "${PIP[@]}" install --quiet -e ".[dev]"
else
  "${PIP[@]}" install --quiet -e .
fi

echo "==> provisioning the default model ($MODEL)"
.venv/bin/continual-learning models fetch "$MODEL"

cat <<MSG

Ready. Open the workbench with:   .venv/bin/continual-learning
MSG
