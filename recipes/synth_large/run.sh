#!/usr/bin/env bash
# The large preset of the embedded experiment: the default recipe's stages, hooks and models
# (../../run.sh, ../../local, ../../conf) on a bigger synthetic corpus (27 speakers: 12 train,
# 3 dev, 6 test, 6 babble talkers; 162 utterances), 8 noise/SNR draws per training utterance
# and twice the SSL pretraining updates. 42 min on 2 CPU cores; results: README.md here.
#   ./run.sh                              all stages
#   ./run.sh --stage 3 --stop-stage 6     later stages from the files on disk
# data/, exp/, dump/, corpus/ and RESULTS.md are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh (any of them can be given again to override it).
defaults=(--local-dir local --conf-dir conf --corpus corpus/synth --num-utts 162
          --train-draws 8)
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh --synthetic "embedded synthetic corpus, large preset" \
    "where stage 0 writes the synthetic corpus" "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
