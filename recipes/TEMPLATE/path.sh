# Sourced from this recipe dir (`. ./path.sh`, as in Kaldi/ESPnet recipes): the checkout's
# path.sh, so `sitool` (e.g. `sitool plot-utt data/train <utt> --out utt.png`) runs here in a
# fresh shell. run.sh does the same for its own stages.
# shellcheck disable=SC1091
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/path.sh"
