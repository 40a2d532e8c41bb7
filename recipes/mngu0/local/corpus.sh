#!/usr/bin/env bash
# mngu0 recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail
exec utils/find_corpus.sh --name "mngu0" --pattern '*.ema' --what ".ema EST Track files" --obtain "\
Obtain mngu0 (Richmond et al., CSTR Edinburgh; registration required):
<root>/ema_basic_data/<utt>.ema (EST Track, 200 Hz), <root>/wav_16kHz/<utt>.wav,
<root>/phone_labels/<utt>.lab." "$@"
