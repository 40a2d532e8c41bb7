#!/usr/bin/env bash
# Stage 2 of every recipe (called by local/noise.sh with the recipe's defaults):
# noise sources -> data/noise_{train,dev,test} (disjoint files or time ranges), then the noisy
# sets data/train_multi (per_utt random noise/SNR draws per training utterance),
# data/dev_multi, and data/test_noisy (every test utterance x noise type x SNR of the grid).
#   noise_source=synth   the embedded procedural noise (no download), babble from
#                        data/babble_talkers when stage 1 made it
#   noise_source=musan|demand|noisex   that corpus, at noise_root
#   noise_source=sets    several sources the hook prepared itself (sitool prepare-noise ...
#                        --name N for each): data/N_{train,dev,test} for N in noise_sets,
#                        combined with sitool combine-data (docs/new_corpus.md)
set -euo pipefail

data=data                  # data dirs (clean sets from stage 1)
seed=1                     # seed of the noise split and of every mixing draw
log=exp/log/noise.log      # log file
overwrite=false            # true: redo noise dirs and noisy sets
noise_source=synth         # synth | musan | demand | noisex
noise_root=                # root of the noise corpus (not for synth)
noise_dir=corpus/noise     # noise_source synth: where the generated noise is written
synth_seconds=100          # noise_source synth: seconds of each procedural noise type
tts_talkers=0              # noise_source synth: espeak-ng voices added to the babble talkers
per_utt=2                  # noise/SNR draws per training utterance (data/train_multi)
dev_per_utt=2              # noise/SNR draws per dev utterance (data/dev_multi)
snr_range=-5,20            # SNR interval of the random draws (dB)
snrs=-5,0,5,10,20          # SNR grid of data/test_noisy (dB); data/test is the clean condition
noise_types=               # noise types or categories to mix (comma list; empty: all)
noise_sets=                # noise_source sets: noise dirs prepared by the hook, combined into
                           # data/noise_{train,dev,test}: space-separated names N (data/N_train, ...)
test_utts=0                # test utterances in the grid (0 = all; round-robin over speakers)

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

case "$noise_source" in
  synth)
    babble=(--no-babble)
    [ -f "$data/babble_talkers/utt2spk" ] && babble=(--babble-talkers "$data/babble_talkers")
    sitool --log-file "$log" synth-noise --out "$noise_dir" --seed "$seed" "${babble[@]}" \
      --seconds "$synth_seconds" --tts-talkers "$tts_talkers" "${overwrite_flag[@]}"
    sitool --log-file "$log" prepare-noise synth "$noise_dir" --out "$data" --seed "$seed" \
      "${overwrite_flag[@]}"
    # the talker utterances of the training babble: stage 3 pretrains on them, not on the
    # speech of the dev/test babble
    if [ -f "$noise_dir/babble_utts_train.list" ]; then
      sitool --log-file "$log" subset-data "$data/babble_talkers" "$data/babble_talkers_train" \
        --utt-list "$noise_dir/babble_utts_train.list" --overwrite
    fi ;;
  musan|demand|noisex)
    if [ -z "$noise_root" ] || [ ! -d "$noise_root" ]; then
      echo "$0: noise_root '$noise_root' is not a directory: pass --noise-root (or set" \
        "SITOOL_NOISE_ROOT) to your $noise_source copy, or use --noise-source synth" >&2
      exit 1
    fi
    sitool --log-file "$log" prepare-noise "$noise_source" "$noise_root" --out "$data" \
      --seed "$seed" "${overwrite_flag[@]}" ;;
  sets)
    [ -n "$noise_sets" ] || { echo "$0: noise_source sets needs --noise-sets 'N1 N2 ...' (noise" \
      "dirs data/N1_train, ... written by sitool prepare-noise --name N1)" >&2; exit 1; }
    for split in train dev test; do
      inputs=()
      for name in $noise_sets; do inputs+=("$data/${name}_$split"); done
      sitool --log-file "$log" combine-data "$data/noise_$split" "${inputs[@]}" --overwrite
    done ;;
  *)
    echo "$0: noise_source '$noise_source' unknown (synth, musan, demand, noisex, sets)" >&2
    exit 1 ;;
esac

num_utts=()
[ "$test_utts" -gt 0 ] && num_utts=(--num-utts "$test_utts")
types=()
[ -n "$noise_types" ] && types=(--types "$noise_types")
sitool --log-file "$log" mix "$data/train" "$data/noise_train" "$data/train_multi" \
  --per-utt "$per_utt" --snr-range "$snr_range" --seed "$seed" "${types[@]}" "${overwrite_flag[@]}"
sitool --log-file "$log" mix "$data/dev" "$data/noise_dev" "$data/dev_multi" \
  --per-utt "$dev_per_utt" --snr-range "$snr_range" --seed "$seed" "${types[@]}" \
  "${overwrite_flag[@]}"
sitool --log-file "$log" mix "$data/test" "$data/noise_test" "$data/test_noisy" \
  --snrs "$snrs" --seed "$seed" "${num_utts[@]}" "${types[@]}" "${overwrite_flag[@]}"
sitool --log-file "$log" validate-data --no-audio "$data/train_multi" "$data/dev_multi" \
  "$data/test_noisy"
