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
#   3  pretrain the small SSL model (once, denoising), cache     -> exp/ssl_tiny, dump/ssl/
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
num_utts=108               # synthetic corpus: total utterances, spread evenly over its speakers
                           # (local/corpus.sh: 18 speakers, 6 utterances each)
train_draws=2              # stage 2: noise/SNR draws per training utterance in data/train_multi
                           # (8: +7-15 % PPMC in noise for si_multi and joint, 3.3x their training
                           # time; docs/experiments.md)
train_snr_range=-5,20      # stage 2-3: SNR interval (dB) of the training and dev draws and of the
                           # noisy crops of the in-recipe SSL pretraining
test_snrs=-5,0,5,10,20     # stage 2: SNR grid (dB) of data/test_noisy (data/test is clean)
noise_types=               # stage 2: noise types or categories to mix, comma list (empty: all;
                           # e.g. babble,white or non-babble)
train_opts=                # stage 4: config overrides for every model, space-separated key=value
                           # (e.g. data.normalise=speaker)
exp=exp                    # experiment dirs (data/ and dump/ are fixed, Kaldi style)
ssl_model=                 # SSL model: HF id or local dir (empty: $exp/ssl_tiny, pretrained in stage 3)
models="joint si_clean si_multi si_fbank si_fbank_multi"   # stage 4-6: conf/train_<m>.yaml -> $exp/train_<m>
                           # (si_fbank*: log-mel reference rows; also: se cascade; cascade waits for se;
                           # stage 4 starts them in this order: the longest, joint, first)
train_jobs=2               # stage 4: models trained at once (CPU: one per core, each 1 thread; one GPU: 1)
baselines="si_clean si_multi"      # stage 6: models the others are compared with (first = main)
overwrite=false            # true: redo stages whose outputs exist
results_plots=docs         # stage 6: where the result plots go (RESULTS.md links them)
local_dir=local            # recipe hooks: corpus.sh (stage 0), data.sh (stage 1), noise.sh (stage 2)
conf_dir=conf              # recipe configs (train_*.yaml, pretrain_ssl.yaml, ...)

. "$(dirname "${BASH_SOURCE[0]}")/utils/parse_options.sh"
# Options that pick what runs are checked before anything runs (one line each): a stage range
# that selects nothing, or a value bash would misread, is an error, not a silent no-op.
for opt in stage stop_stage; do
  if ! [[ ${!opt} =~ ^[0-6]$ ]]; then
    echo "$0: --${opt//_/-} must be a stage number 0-6, got '${!opt}'" >&2
    exit 1
  fi
done
if [ "$stage" -gt "$stop_stage" ]; then
  echo "$0: --stage $stage is after --stop-stage $stop_stage, so no stage would run; give --stage <= --stop-stage" >&2
  exit 1
fi
for opt in nj train_jobs; do
  if ! [[ ${!opt} =~ ^[1-9][0-9]*$ ]]; then
    echo "$0: --${opt//_/-} must be a positive integer, got '${!opt}'" >&2
    exit 1
  fi
done
if [ "$cmd" != local ] && [ "$cmd" != slurm ]; then
  echo "$0: --cmd must be local or slurm, got '$cmd'" >&2
  exit 1
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

need() {  # need K PATH...: stop with one line when a PATH (made by stage K) is missing
  local made_by=$1 path how
  shift
  if [ "$made_by" -le 2 ]; then
    how="stages 0-$made_by first: ./run.sh --stop-stage $made_by"
  else
    how="stage $made_by first: ./run.sh --stage $made_by --stop-stage $made_by"
  fi
  for path in "$@"; do
    if [ ! -e "$path" ]; then
      echo "run.sh: stage $current: $path: not found; run $how" >&2
      exit 1
    fi
  done
}

train_model() {  # train_model M: stage 4 for conf/train_M.yaml -> $exp/train_M (own logs), then
                 # its decode when stage 5 is to run
  local m=$1 start=$SECONDS
  local overrides=("model.ssl.model=$ssl_model" "model.ssl.cache=$ssl_cache")
  local opt
  for opt in $train_opts; do overrides+=("$opt"); done
  [ "$m" = cascade ] && overrides+=("model.cascade.se_exp=$exp/train_se")
  log "stage 4: train $m ($conf_dir/train_$m.yaml) -> $exp/train_$m (log: $exp/log/stage4_train_$m.log)"
  if ! sitool --log-file "$exp/log/stage4_train_$m.log" train --config "$conf_dir/train_$m.yaml" \
      --out "$exp/train_$m" --no-progress "${overwrite_flag[@]}" "${overrides[@]}" \
      > "$exp/log/stage4_train_$m.console" 2>&1; then
    echo "run.sh: stage 4: training $m failed; last lines of $exp/log/stage4_train_$m.console:" >&2
    tail -n 20 "$exp/log/stage4_train_$m.console" | sed 's/^/    /' >&2
    return 1
  fi
  log "stage 4: $m trained in $((SECONDS - start)) s"
  # Decode it now, on the core its training freed, while the longer models still train
  # (stage 5 of this run skips it); with --overwrite true stage 5 decodes instead.
  if run_stage 5 && [ "$overwrite" = false ]; then
    start=$SECONDS
    if ! sitool --log-file "$exp/log/stage5_decode_$m.log" decode --exp "$exp/train_$m" \
        data/test data/test_noisy --nj "$nj" --num-threads 1 --no-progress \
        > "$exp/log/stage4_decode_$m.console" 2>&1; then
      echo "run.sh: stage 4: decoding $m failed; last lines of $exp/log/stage4_decode_$m.console:" >&2
      tail -n 20 "$exp/log/stage4_decode_$m.console" | sed 's/^/    /' >&2
      return 1
    fi
    log "stage 4: $m decoded in $((SECONDS - start)) s (for stage 5)"
    echo "$m" >> "$exp/log/stage4_decoded"
  fi
}

run_parallel() {  # run_parallel N FUNC ARG...: FUNC ARG for every ARG, N at a time; fails if one failed
  local n=$1 func=$2 arg pid failed=0 pids=()
  shift 2
  for arg in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$n" ]; do sleep 1; done
    "$func" "$arg" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || { echo "run.sh: stage $current: a job failed (see above)" >&2; exit 1; }
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
  log "stage 1: data dirs ($local_dir/data.sh) -> data/"
  "$local_dir/data.sh" --corpus "$corpus" --data data --log "$exp/log/stage1_prepare.log" \
    --overwrite "$overwrite"
  stage_done 1 prepare
fi

if run_stage 2; then
  stage_start=$SECONDS
  current=2
  need 1 data/train data/dev data/test
  log "stage 2: noise ($local_dir/noise.sh) -> data/noise_*, data/{train_multi,dev_multi,test_noisy}"
  # The noise design is stated here once and passed to the hook (utils/noisy_sets.sh options).
  "$local_dir/noise.sh" --data data --seed "$seed" --per-utt "$train_draws" \
    --snr-range "$train_snr_range" --snrs "$test_snrs" --noise-types "$noise_types" \
    --log "$exp/log/stage2_noise.log" --overwrite "$overwrite"
  stage_done 2 noise
fi

[ -n "$ssl_model" ] || ssl_model=$exp/ssl_tiny
ssl_tag=$(basename "$ssl_model")
ssl_cache=dump/ssl/$ssl_tag
cached_sets=(data/train data/dev data/test data/train_multi data/dev_multi data/test_noisy)

if run_stage 3; then
  stage_start=$SECONDS
  current=3
  need 2 "${cached_sets[@]}"
  if [ "$ssl_model" = "$exp/ssl_tiny" ]; then
    need 2 data/noise_train      # conf/pretrain_ssl.yaml's noise.data: denoising pretraining
    log "stage 3: pretrain the small SSL model -> $ssl_model (reused when finished)"
    # Training-side audio only: data/train, and of the babble talkers only the utterances the
    # training babble is made of (stage 2 writes data/babble_talkers_train), so that no speech
    # of the dev/test babble is heard in pretraining.
    pretrain_sets=(data/train)
    [ -d data/babble_talkers_train ] && pretrain_sets+=(data/babble_talkers_train)
    IFS=, read -r snr_low snr_high <<< "$train_snr_range"
    sitool --log-file "$exp/log/stage3_pretrain_ssl.log" pretrain-ssl "${pretrain_sets[@]}" \
      --out "$ssl_model" --config "$conf_dir/pretrain_ssl.yaml" "${overwrite_flag[@]}" \
      "noise.snr_range=[$snr_low,$snr_high]"
  fi
  log "stage 3: cache hidden states of $ssl_model -> $ssl_cache/"
  # only the layers (model.ssl.layers) that the cache-reading models of $models aggregate
  cache_configs=()
  for m in $models; do cache_configs+=(--config "$conf_dir/train_$m.yaml"); done
  "$root/utils/run_jobs.sh" --cmd "$cmd" --nj "$nj" --log "$exp/log/stage3_cache_ssl.JOB.log" -- \
    sitool cache-ssl --ssl-model "$ssl_model" "${cached_sets[@]}" --out "$ssl_cache" \
      "${cache_configs[@]}" --nj "$nj" --job JOB --num-threads 1 --no-progress "${overwrite_flag[@]}"
  # Every sharded stage (3, 5, 6): --nj N --job J jobs write their shards only, then one call
  # with --nj N and no --job (and no --overwrite) finishes the set: index, tables, RESULTS.md.
  sitool --log-file "$exp/log/stage3_cache_ssl.log" cache-ssl --ssl-model "$ssl_model" \
    "${cached_sets[@]}" --out "$ssl_cache" "${cache_configs[@]}" --nj "$nj"
  stage_done 3 ssl
fi

if run_stage 4; then
  stage_start=$SECONDS
  current=4
  need 2 "${cached_sets[@]}"
  for s in "${cached_sets[@]}"; do need 3 "$ssl_cache/$(basename "$s")"; done
  # A cascade reads a trained se model, so it waits for the first wave.
  first_wave=() second_wave=()
  for m in $models; do
    if [ "$m" = cascade ]; then second_wave+=("$m"); else first_wave+=("$m"); fi
  done
  : > "$exp/log/stage4_decoded"     # the models decoded here, in this run (stage 5 skips them)
  run_parallel "$train_jobs" train_model "${first_wave[@]}"
  run_parallel "$train_jobs" train_model "${second_wave[@]}"
  stage_done 4 train
fi

if run_stage 5; then
  stage_start=$SECONDS
  current=5
  need 2 data/test data/test_noisy
  for m in $models; do need 4 "$exp/train_$m/checkpoints/best.pt"; done
  for m in $models; do
    if run_stage 4 && grep -qx "$m" "$exp/log/stage4_decoded"; then
      log "stage 5: $m was decoded in stage 4 of this run"
      continue
    fi
    log "stage 5: decode $m -> $exp/train_$m/decode/{test,test_noisy}"
    "$root/utils/run_jobs.sh" --cmd "$cmd" --nj "$nj" --log "$exp/log/stage5_decode_$m.JOB.log" -- \
      sitool decode --exp "$exp/train_$m" data/test data/test_noisy --nj "$nj" --job JOB \
        --num-threads 1 --no-progress "${overwrite_flag[@]}"
    sitool --log-file "$exp/log/stage5_decode_$m.log" decode --exp "$exp/train_$m" \
      data/test data/test_noisy --nj "$nj" --no-progress
  done
  stage_done 5 decode
fi

if run_stage 6; then
  stage_start=$SECONDS
  current=6
  for m in $models; do need 5 "$exp/train_$m/decode/test" "$exp/train_$m/decode/test_noisy"; done
  log "stage 6: score -> RESULTS.md, $results_plots/"
  "$root/utils/run_jobs.sh" --cmd "$cmd" --nj "$nj" --log "$exp/log/stage6_score.JOB.log" -- \
    sitool score --exp-root "$exp" --nj "$nj" --job JOB --num-threads 1 --no-progress \
      "${overwrite_flag[@]}"
  baseline_flags=()
  for m in $baselines; do
    [ -d "$exp/train_$m" ] && baseline_flags+=(--baseline "$exp/train_$m")
  done
  # The finishing call: merges the jobs' scores (no --overwrite: that would score again).
  sitool --log-file "$exp/log/stage6_score.log" score --exp-root "$exp" "${baseline_flags[@]}" \
    --results RESULTS.md --plots "$results_plots"
  stage_done 6 score
fi

log "stages $stage-$stop_stage done in $(( $(date +%s) - start_all )) s"
