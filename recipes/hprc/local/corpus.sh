#!/usr/bin/env bash
# Haskins Production Rate Comparison (HPRC) recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail
exec utils/find_corpus.sh --name "Haskins Production Rate Comparison (HPRC)" --pattern '*.mat' --what ".mat sentence files" --obtain "\
Obtain the Haskins IEEE rate comparison database (Tiede et al.) from Haskins
Laboratories: <root>/<speaker>/data/<speaker>_B01_S01_R01_N.mat (one struct array
per sentence: AUDIO at 44.1 kHz, sensors TR TB TT UL LL ML JAW JAWL at 100 Hz)." "$@"
