#!/usr/bin/env bash
# Carstens AG500/AG501 recipe: the sitool stage chain (../../run.sh) with this recipe's local/
# hooks and conf/. Every run.sh option works here, e.g.
#   ./run.sh --corpus /path/to/carstens                  all stages
#   ./run.sh --corpus /path/to/carstens --stage 3        from the SSL cache on
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh (one model trained at a time: one GPU).
defaults=(--local-dir local --conf-dir conf --ssl-model microsoft/wavlm-large --corpus corpus
          --train-jobs 1)
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh "Carstens AG500/AG501" \
    "root of your Carstens recordings: carstens.yaml (sensor-to-channel mapping) and <spk>/pos/*.pos with <spk>/wav/*.wav (stage 0 only checks that it is there)" \
    "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
