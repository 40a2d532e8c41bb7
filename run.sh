#!/usr/bin/env bash
# sitool stage chain. Run from the repo root it is the default recipe (noise-robust speech
# inversion on the embedded synthetic corpus); recipes/<corpus>/run.sh runs the same chain with
# their own --local-dir (stage 0-2 hooks: corpus.sh, data.sh, noise.sh) and --conf-dir.
#
#   ./run.sh                              all stages, 0-6
#   ./run.sh --stage 3 --stop-stage 6     later stages from the files on disk
#   ./run.sh --help                       every option with its default
#
# Stages (each one idempotent: finished outputs are reused, --overwrite true redoes them):
#   0  synthesise the articulatory corpus with VocalTractLab    -> corpus/
#   1  data dirs (Kaldi style) + validation                      -> data/{train,dev,test,babble_talkers}
#   2  noise sources and noisy sets                              -> data/noise_*, data/*_<cond>
#   3  pretrain the small SSL model (once), cache hidden states  -> exp/ssl_tiny, dump/ssl/
#   4  train models                                              -> exp/<tag>/
#   5  decode the test conditions                                -> exp/<tag>/decode/
#   6  score, RESULTS.md, plots                                  -> RESULTS.md, docs/
set -euo pipefail

stage=0                    # first stage to run
stop_stage=6               # last stage to run
nj=2                       # parallel jobs (synthesis workers, cache/decode shards)
cmd=local                  # job runner for sharded stages: local or slurm
seed=1                     # random seed for corpus, noise and mixing
corpus=corpus/synth        # where stage 0 writes the synthetic corpus
num_utts=150               # utterances per split group in the synthetic corpus
data=data                  # data dirs
exp=exp                    # experiment dirs
dump=dump                  # cached SSL features
overwrite=false            # true: redo stages whose outputs exist
local_dir=local            # recipe hooks: corpus.sh (stage 0), data.sh (stage 1), noise.sh (stage 2)
conf_dir=conf              # recipe configs (train_*.yaml, pretrain_ssl.yaml, ...)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$root/utils/parse_options.sh"
. "$root/path.sh"

if [ $# -gt 0 ]; then
  echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2
  exit 1
fi

log() {  # log MESSAGE...: time-stamped, with the calling line
  local fname=${BASH_SOURCE[1]##*/}
  echo -e "$(date '+%Y-%m-%d %H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}

run_stage() {  # run_stage N: true when stage N is within --stage..--stop-stage
  [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]
}

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)
mkdir -p "$exp/log"
start_all=$(date +%s)
SECONDS=0

stage_done() {  # stage_done N NAME: log the stage's elapsed time
  log "stage $1 ($2) finished in $((SECONDS - stage_start)) s"
  echo -e "$1\t$2\t$((SECONDS - stage_start))" >> "$exp/log/stage_times.tsv"
}

if run_stage 0; then
  stage_start=$SECONDS
  log "stage 0: corpus ($local_dir/corpus.sh) -> $corpus"
  "$local_dir/corpus.sh" --corpus "$corpus" --num-utts "$num_utts" --nj "$nj" --seed "$seed" \
    --log "$exp/log/stage0_corpus.log" --overwrite "$overwrite"
  stage_done 0 corpus
fi

if run_stage 1; then
  stage_start=$SECONDS
  log "stage 1: data dirs ($local_dir/data.sh) -> $data/"
  "$local_dir/data.sh" --corpus "$corpus" --data "$data" --log "$exp/log/stage1_prepare.log" \
    --overwrite "$overwrite"
  stage_done 1 prepare
fi

log "stages $stage-$stop_stage done in $(( $(date +%s) - start_all )) s"
