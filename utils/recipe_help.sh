#!/usr/bin/env bash
# `--help` of a recipe's run.sh (recipes/<name>/run.sh calls it from its own directory):
# the options of ../../run.sh with this recipe's defaults in brackets and what --corpus means
# for this recipe, instead of the top-level (synthetic-corpus) defaults.
#
#   utils/recipe_help.sh [--synthetic] [--profile P] TITLE CORPUS_MEANING [--option value]...
#
# TITLE names the recipe, CORPUS_MEANING says what --corpus points at; the --option value
# pairs are the options the recipe passes to ../../run.sh (its defaults). --synthetic: the
# recipe's stage 0 synthesises its corpus (--num-utts applies, --corpus is where it goes);
# otherwise --corpus is a copy the user has and --num-utts is unused. --profile P: the recipe
# has the --profile switch (utils/recipe_profile.sh) and P is the profile the defaults are of.
set -euo pipefail

synthetic=false
profile=
while [ $# -gt 0 ]; do
  case $1 in
    --synthetic) synthetic=true; shift ;;
    --profile) profile=$2; shift 2 ;;
    *) break ;;
  esac
done
title=$1
corpus_meaning=$2
shift 2
declare -A defaults=()
while [ $# -ge 2 ]; do
  defaults[${1#--}]=$2
  shift 2
done

recipe=$(basename "$(pwd)")
echo "recipes/$recipe/run.sh: $title recipe - the stage chain of ../../run.sh with this"
echo "recipe's local/ hooks and conf/; data/, exp/ and dump/ are written in recipes/$recipe/."
if [ "$synthetic" = true ]; then
  echo "Usage: ./run.sh [options]"
else
  echo "Usage: ./run.sh --corpus /path/to/the/corpus [options]"
fi
echo "Options (this recipe's defaults in brackets):"
if [ -n "$profile" ]; then
  printf '  --%-20s %s [%s]\n' profile \
    "gpu: WavLM-Large from the hub, conf/, one training at a time; cpu: offline, the in-recipe SSL model pretrained on this corpus, ../../conf (CPU-sized), 2 trainings at once (the brackets below are $profile's)" \
    gpu
fi
bash ../../run.sh --help | while IFS= read -r line; do
  if ! [[ $line =~ ^\ \ --([a-z0-9-]+)[[:space:]] ]]; then
    continue                              # run.sh's own usage header
  fi
  name=${BASH_REMATCH[1]}
  if [ "$name" = corpus ] && [ "$synthetic" = true ]; then
    printf '  --%-20s %s, in recipes/%s/ [%s]\n' corpus "$corpus_meaning" "$recipe" \
      "${defaults[corpus]:-}"
  elif [ "$name" = corpus ]; then
    printf '  --%-20s %s; default: a directory or link of that name in recipes/%s/ [%s]\n' \
      corpus "$corpus_meaning" "$recipe" "${defaults[corpus]:-}"
  elif [ "$name" = num-utts ] && [ "$synthetic" = false ]; then
    printf '%s(unused by this recipe) [%s\n' "${line%\[*}" "${line##*\[}"
  elif [ -n "${defaults[$name]+set}" ]; then
    printf '%s[%s]\n' "${line%\[*}" "${defaults[$name]}"
  else
    printf '%s\n' "$line"
  fi
done
