#!/usr/bin/env bash
# A recipe for your own corpus (copy of recipes/TEMPLATE): the sitool stage chain
# (../../run.sh) with this recipe's local/ hooks and conf/. Every run.sh option works, e.g.
#   ./run.sh --corpus /path/to/my_corpus               all stages
#   ./run.sh --corpus /path/to/my_corpus --stage 3     from the SSL cache on
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh (one model trained at a time: one GPU).
defaults=(--local-dir local --conf-dir conf --ssl-model microsoft/wavlm-large --corpus corpus
          --train-jobs 1)
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh "generic-corpus template" \
    "root of your corpus in the generic layout: generic.yaml, wav/, targets/ (docs/new_corpus.md)" \
    "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
