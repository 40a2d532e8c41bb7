#!/usr/bin/env bash
# Stage 2: noise sources -> data/noise_{train,dev,test} (disjoint files or time ranges), then
# the noisy sets: data/train_multi (per_utt noise/SNR draws per training utterance),
# data/dev_multi, data/test_noisy (every test utterance x noise type x SNR).
# Noise: the embedded procedural noise by default (no download; babble from data/babble_talkers
# when stage 1 held out babble speakers with --babble-speakers); set noise_source=musan (or
# demand, noisex) and noise_root (or SITOOL_NOISE_SOURCE / SITOOL_NOISE_ROOT) for a corpus.
set -euo pipefail

corpus=corpus              # (passed by run.sh; unused)
data=data                  # data dirs (clean sets from stage 1)
seed=1                     # seed of the noise split and of every mixing draw
nj=2                       # (passed by run.sh; unused)
log=exp/log/noise.log      # log file
overwrite=false            # true: redo noise dirs and noisy sets
noise_source=${SITOOL_NOISE_SOURCE:-synth}   # synth | musan | demand | noisex
noise_root=${SITOOL_NOISE_ROOT:-}            # root of the noise corpus (not for synth)
per_utt=2                  # noise/SNR draws per training utterance
snr_range=-5,20            # SNR interval of the training draws (dB)
snrs=-5,0,5,10,20          # SNR grid of data/test_noisy (dB); data/test is the clean condition
test_utts=0                # test utterances in the grid (0 = all; round-robin over speakers)
synth_seconds=100          # noise_source synth: seconds of each procedural noise type

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

case "$noise_source" in
  synth)
    babble=(--no-babble)
    [ -f "$data/babble_talkers/utt2spk" ] && babble=(--babble-talkers "$data/babble_talkers")
    sitool --log-file "$log" synth-noise --out corpus/noise --seed "$seed" "${babble[@]}" \
      --seconds "$synth_seconds" "${overwrite_flag[@]}"
    sitool --log-file "$log" prepare-noise synth corpus/noise --out "$data" --seed "$seed" \
      "${overwrite_flag[@]}" ;;
  musan|demand|noisex)
    if [ -z "$noise_root" ] || [ ! -d "$noise_root" ]; then
      echo "$0: noise_root '$noise_root' is not a directory: set SITOOL_NOISE_ROOT (or edit" \
        "noise_root in $0) to your $noise_source copy, or use SITOOL_NOISE_SOURCE=synth" >&2
      exit 1
    fi
    sitool --log-file "$log" prepare-noise "$noise_source" "$noise_root" --out "$data" \
      --seed "$seed" "${overwrite_flag[@]}" ;;
  *)
    echo "$0: noise_source '$noise_source' unknown (musan, demand, noisex, synth)" >&2
    exit 1 ;;
esac

num_utts=()
[ "$test_utts" -gt 0 ] && num_utts=(--num-utts "$test_utts")
sitool --log-file "$log" mix "$data/train" "$data/noise_train" "$data/train_multi" \
  --per-utt "$per_utt" --snr-range "$snr_range" --seed "$seed" "${overwrite_flag[@]}"
sitool --log-file "$log" mix "$data/dev" "$data/noise_dev" "$data/dev_multi" \
  --per-utt 1 --snr-range "$snr_range" --seed "$seed" "${overwrite_flag[@]}"
sitool --log-file "$log" mix "$data/test" "$data/noise_test" "$data/test_noisy" \
  --snrs "$snrs" --seed "$seed" "${num_utts[@]}" "${overwrite_flag[@]}"
