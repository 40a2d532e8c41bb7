#!/usr/bin/env bash
# Carstens AG500/AG501 recipe, stage 0: locate the recordings (sitool does not download data).
set -euo pipefail
exec utils/find_corpus.sh --name "Carstens AG500/AG501" --pattern '*.pos' --what ".pos sweep files" --obtain "\
Your own Carstens recordings: <root>/carstens.yaml (sensor -> channel mapping, see
docs/corpora.md), <root>/<speaker>/pos/<nnnn>.pos with <root>/<speaker>/wav/<nnnn>.wav
(AG501 files with their AG50xDATA_V003 header, or headerless AG500 files)." "$@"
