#!/usr/bin/env bash
# USC-TIMIT recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail
exec utils/find_corpus.sh --name "USC-TIMIT (EMA)" --pattern '*.mat' --what ".mat EMA recordings" --obtain "\
Obtain USC-TIMIT (Narayanan et al. 2014) from the USC Signal Analysis and
Interpretation Lab: <root>/<speaker>/mat/usctimit_ema_<spk>_<nnn>_<nnn>.mat (one
struct array per ~18 s recording: AUDIO at 20 kHz, sensors UL LL JW TT TB TD at
100 Hz), with <speaker>/wav/ and <speaker>/trans/ beside it." "$@"
