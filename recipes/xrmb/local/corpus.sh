#!/usr/bin/env bash
# Wisconsin X-ray Microbeam (XRMB) recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail
exec utils/find_corpus.sh --name "Wisconsin X-ray Microbeam (XRMB)" --pattern '*.txy' --what ".txy pellet files" --obtain "\
Obtain the University of Wisconsin X-ray Microbeam Speech Production Database
(Westbury 1994) from its distributor, converted to per-task text files:
<root>/<speaker>/<speaker>_<task>.txy (time us, then x y um of UL LL T1 T2 T3 T4 MNI MNM)
beside <speaker>_<task>.wav, and optionally <root>/<speaker>/PAL.DAT (palate trace)." "$@"
