"""mngu0 reader (``sitool prepare mngu0``).

Corpus: mngu0 (Richmond, Hoole & King, CSTR Edinburgh): one male British English speaker,
about 1300 read sentences, EMA recorded with a Carstens AG500 (3-D, head-corrected). Obtain
it from the mngu0 project (registration and its own licence; not bundled with sitool).

Layout read (any depth under ``--root``; files paired by stem, e.g. ``mngu0_s1_0001``)::

    <root>/ema_basic_data/mngu0_s1_0001.ema   EST Track, binary float32, 200 Hz
    <root>/wav_16kHz/mngu0_s1_0001.wav         audio, 16 kHz
    <root>/phone_labels/mngu0_s1_0001.lab      xwaves labels: header, '#', then
                                               '<end_s> <colour> <phone>' lines

EMA channels: per sensor ``<sensor>_px``, ``_py``, ``_pz`` (position) plus further channels
(orientation etc.) that are not used. ``py`` is front-back and ``pz`` vertical, so the
midsagittal plane is (py, pz) - the convention of public mngu0 readers (e.g. ac2art). Sensors
used: T1 (tongue tip), T2 (tongue body/dorsum), T3 (tongue back), jaw, upperlip, lowerlip.
Units: mm (AG500 positions; public readers use them unscaled - not confirmed from the
corpus' documentation).

Mapping to canonical sensors: upperlip->UL, lowerlip->LL, jaw->JAW, T1->TT, T2->TM, T3->TD.
There is no upper-incisor sensor, so LP is measured from the frame's origin. Single speaker:
the default split is an utterance split (docs: sitool.corpora.splits); pass ``--split-file``
to use the corpus' own train/validation/test lists instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sitool.corpora.est_track import read_est_track
from sitool.corpora.labels import phones_text, read_phone_labels
from sitool.corpora.recording import (CorpusReader, Recording, RecordingRef,
                                      find_ema_recordings)

NAME = "mngu0"
SUMMARY = "mngu0: EST .ema (200 Hz) + .wav + xwaves .lab -> data dirs."
SPEAKER = "mngu0"
EMA_RATE_HZ = 200.0
SENSOR_CHANNELS = {"UL": "upperlip", "LL": "lowerlip", "JAW": "jaw", "TT": "T1", "TM": "T2",
                   "TD": "T3"}
FRONT_BACK, VERTICAL = "py", "pz"


def find(root: Path) -> list[RecordingRef]:
    return find_ema_recordings(root, NAME, speaker_of=lambda stem: SPEAKER,
                               utt_of=lambda stem: stem if stem.startswith(SPEAKER)
                               else f"{SPEAKER}_{stem}")


def load(ref: RecordingRef) -> Recording:
    track = read_est_track(ref.paths["ema"])
    sensors = {
        name: np.stack([track.channel(f"{sensor}_{FRONT_BACK}"),
                        track.channel(f"{sensor}_{VERTICAL}")], axis=1)
        for name, sensor in SENSOR_CHANNELS.items()
    }
    phones = read_phone_labels(ref.paths["lab"]) if "lab" in ref.paths else None
    return Recording(utt=ref.utt, speaker=ref.speaker, times=track.times, sensors=sensors,
                     audio_path=ref.paths["wav"], phones=phones,
                     text=phones_text(phones) if phones else None)


READER = CorpusReader(name=NAME, find=find, load=load)
