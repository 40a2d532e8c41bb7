#!/usr/bin/env bash
# Print the path of the sitool venv for the current dependency pins.
# The key is a hash of the pins (utils/venv_pins.sh) plus the Python version, so
# editing a pin gives a new venv and everything else reuses the cached one.
set -euo pipefail
cd "$(dirname "$0")/.."
cache_root=${SITOOL_VENV_CACHE:-$HOME/.cache/sitool}
py=${PYTHON:-python3}
key=$( { "$py" -c 'import sys; print(sys.version.split()[0])';
         bash utils/venv_pins.sh | sort; } |
       sha256sum | cut -c1-12)
echo "$cache_root/venv-$key"
