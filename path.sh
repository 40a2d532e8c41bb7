# Sourced by run.sh and the README's commands: put the cached sitool venv on PATH.
# The venv is built by utils/setup_venv.sh; its location depends on the dependency pins.
_sitool_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_sitool_venv=$(bash "$_sitool_root/utils/venv_path.sh")
if [ -f "$_sitool_venv/.sitool-complete" ]; then
  # shellcheck disable=SC1091
  . "$_sitool_venv/bin/activate"
elif ! python3 -c 'import torch, transformers' 2> /dev/null; then
  echo "path.sh: no sitool venv at $_sitool_venv; run: bash $_sitool_root/utils/setup_venv.sh" >&2
  return 1 2> /dev/null || exit 1
fi
# This checkout's sitool comes first, so several checkouts can share one cached venv.
export PATH="$_sitool_root/bin:$PATH"
export PYTHONPATH="$_sitool_root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
unset _sitool_root _sitool_venv
