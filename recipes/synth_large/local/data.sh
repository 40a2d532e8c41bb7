#!/usr/bin/env bash
# Large preset, stage 1: the default recipe's data hook (../../local/data.sh).
set -euo pipefail
exec ../../local/data.sh "$@"
