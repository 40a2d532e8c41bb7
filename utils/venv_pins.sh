#!/usr/bin/env bash
# Print the pinned dependencies of the sitool venv, one per line: setup.cfg's install_requires
# and every optional extra (the development venv has all of them, so every test runs).
set -euo pipefail
cd "$(dirname "$0")/.."
for block in '^install_requires *=' '^\[options.extras_require\]'; do
  sed -n "/$block/,/^\[/p" setup.cfg | grep -E '^\s+[A-Za-z]' | sed 's/^ *//'
done
