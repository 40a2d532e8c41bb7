#!/usr/bin/env bash
# Stage 0 of a real-corpus recipe (called by local/corpus.sh): check that the corpus is where
# --corpus says, by looking for its files; if not, say how to obtain it. sitool downloads
# no corpus. run.sh's other stage-0 options are accepted and ignored.
set -euo pipefail

corpus=corpus              # corpus root (run.sh --corpus)
name=corpus                # the corpus' name, for messages
pattern='*.wav'            # file name pattern that marks the corpus (find -name)
what=files                 # what those files are, for messages
obtain=                    # how to obtain the corpus and its expected layout (printed if missing)
num_utts=0                 # (passed by run.sh; unused)
nj=1                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=                       # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -d "$corpus" ] || [ -z "$(find -L "$corpus" -name "$pattern" -print -quit)" ]; then
  {
    echo "$0: no $name corpus at '$corpus' (no $what found)."
    echo "$obtain" | sed 's/^/  /'
    echo "  Then run: ./run.sh --corpus /path/to/it   (see README.md and docs/corpora.md)"
  } >&2
  exit 1
fi
echo "$0: $name corpus at $corpus: $(find -L "$corpus" -name "$pattern" | wc -l) $what"
