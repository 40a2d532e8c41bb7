#!/usr/bin/env bash
# MOCHA-TIMIT recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail
exec utils/find_corpus.sh --name "MOCHA-TIMIT" --pattern '*.ema' --what ".ema EST Track files" --obtain "\
Obtain MOCHA-TIMIT from CSTR, University of Edinburgh:
<root>/<speaker>_v1.1/<speaker>_<nnn>.{ema,wav,lab} (EMA at 500 Hz, EST Track format)." "$@"
