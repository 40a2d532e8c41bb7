#!/usr/bin/env bash
# Sourced by recipes/<name>/run.sh: the --profile switch of a recipe for a real corpus.
#
#   defaults=(--local-dir local --corpus corpus)                        # both profiles
#   gpu=(--ssl-model microsoft/wavlm-large --conf-dir conf --train-jobs 1)
#   . utils/recipe_profile.sh           # reads "$@"; sets $profile and appends its options to defaults
#
#   --profile gpu   (default) a hub SSL model (WavLM-Large) and the recipe's conf/ (GPU-sized),
#                   one training at a time (one GPU)
#   --profile cpu   offline, on a CPU: the in-recipe SSL model pretrained in stage 3 on this
#                   corpus's own audio (no download), the CPU-sized configs of the top-level
#                   conf/ and two trainings at once (one per core)
#
# --profile is taken out of the arguments; the options of the chosen profile go before the
# user's, so any of them given again on the command line still wins (--profile cpu
# --train-jobs 1). After sourcing, "$@" holds the user's arguments without --profile.
profile=gpu
_rp_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --profile)
      [ $# -ge 2 ] || { echo "run.sh: option --profile needs a value (gpu or cpu)" >&2; exit 1; }
      profile=$2; shift 2 ;;
    --profile=*)
      profile=${1#--profile=}; shift ;;
    *)
      _rp_args+=("$1"); shift ;;
  esac
done
case $profile in
  gpu) defaults+=("${gpu[@]}") ;;
  cpu) defaults+=(--ssl-model "" --conf-dir ../../conf --train-jobs 2) ;;
  *) echo "run.sh: --profile '$profile' unknown: gpu (hub model, GPU configs) or cpu (offline:" \
       "in-recipe SSL model, CPU configs)" >&2
     exit 1 ;;
esac
set -- ${_rp_args[@]+"${_rp_args[@]}"}
unset _rp_args
