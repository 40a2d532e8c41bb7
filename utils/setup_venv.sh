#!/usr/bin/env bash
# Usage: bash utils/setup_venv.sh [VENV]   (default: the path utils/venv_path.sh prints)
#
# Create the venv (if it is not complete yet) with the pinned dependencies. A marker file
# tells a complete venv from one that a killed install left behind, which is rebuilt.
# sitool itself is not installed into it: path.sh puts the checkout on PYTHONPATH and bin/
# on PATH, so several checkouts (a CI clone, a working copy) share one venv safely.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-$(bash utils/venv_path.sh)}
py=${PYTHON:-python3}
if [ ! -f "$venv/.sitool-complete" ]; then
  echo "setup_venv: building $venv (first time for these pins: downloads ~7 GB of torch/CUDA wheels)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip setuptools wheel 2>&1 | grep -v 'is ignored' || true
  # torch first, alone: it decides the CUDA/CPU flavour and is by far the largest download.
  "$venv/bin/pip" install -q torch==2.9.1 torchaudio==2.9.1 2>&1 | grep -v 'is ignored' || true
  bash utils/venv_pins.sh > "$venv/pins.txt"
  "$venv/bin/pip" install -q -r "$venv/pins.txt" 2>&1 | grep -v 'is ignored' || true
  "$venv/bin/python" -c 'import torch, torchaudio, transformers, vocaltractlab_cython, pesq, pystoi' \
    || { echo "setup_venv: the venv at $venv is broken (see pip output above)" >&2; exit 1; }
  touch "$venv/.sitool-complete"
fi
echo "setup_venv: $venv is ready (activate with: . ./path.sh)"
