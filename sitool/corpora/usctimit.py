"""USC-TIMIT EMA reader (``sitool prepare usctimit``).

Corpus: USC-TIMIT (Narayanan et al., JASA 2014; USC Signal Analysis and Interpretation Lab):
American English speakers reading the 460 MOCHA-TIMIT sentences, recorded with real-time MRI
and, for four speakers (F1, F5, M1, M3), with EMA (NDI Wave, 100 Hz). Only the EMA part is
read here. Obtain it from USC SAIL (it is not bundled with sitool; check its licence terms).

Layout read (any depth under ``--root``; files paired by stem)::

    <root>/F1/mat/usctimit_ema_f1_001_005.mat      one recording of ~18 s (about 5 sentences),
                                                   an MVIEW struct array (sitool.corpora.mview)
    <root>/F1/wav/usctimit_ema_f1_001_005.wav      its audio (used when the .mat has none)
    <root>/F1/trans/usctimit_ema_f1_001_005.trans  optional labels, one comma-separated line
                                                   per phone: start (s), end (s), phone, ...

Struct elements: ``AUDIO`` (SIGNAL = samples at SRATE, 20 kHz) and the sensors ``UL``, ``LL``,
``JW`` (some copies: ``JAW``), ``TT``, ``TB``, ``TD`` (SIGNAL = N x 3 in mm at SRATE 100 Hz,
NaN where a sensor dropped out). Sensors are looked up by NAME, since their order differs
between files. Columns 0 (front-back) and 1 (vertical) are the midsagittal plane, as public
loaders of the corpus use them; sitool finds the axis signs itself
(``sitool.articulation.geometry.find_orientation``).

Mapping to canonical sensors: UL->UL, LL->LL, JW/JAW->JAW, TT->TT, TB->TM, TD->TD. There is
no upper-incisor reference, so LP is measured from the corpus' own x origin: a constant offset
per speaker, which PPMC ignores (RMSE of LP is relative to that origin). Each file is one
utterance (about 18 s: set ``data.max_utt_seconds`` to at least 20 in the recipe's configs).
The speaker is the ``f1`` of ``usctimit_ema_f1_...`` in upper case (``F1``), else the file's
grandparent directory.

These facts come from public loaders of the corpus, not from its own documentation (which was
not available offline): check a few files of your copy with ``sitool plot-utt`` after
``prepare`` (lip aperture near 0 in bilabial closures, tongue tip highest in /t d n/).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from sitool.corpora.mview import audio_channel, sensor_channels, struct_elements
from sitool.corpora.recording import (CorpusReader, Recording, RecordingRef, index_files,
                                      require_root)
from sitool.datadir import PhoneSegment
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

NAME = "usctimit"
SUMMARY = "USC-TIMIT EMA: one MVIEW .mat per ~18 s recording (+ .wav, .trans) -> data dirs."
AUDIO = "AUDIO"
SENSOR_ELEMENTS = {"UL": ("UL",), "LL": ("LL",), "JAW": ("JW", "JAW"), "TT": ("TT",),
                   "TM": ("TB",), "TD": ("TD",)}
MIDSAGITTAL_COLUMNS = (0, 1)     # x (front-back), y (vertical); column 2 is lateral
SPEAKER_PATTERN = re.compile(r"usctimit_ema_([a-z]+\d+)_", re.IGNORECASE)


def speaker_of(mat: Path) -> str:
    match = SPEAKER_PATTERN.match(mat.stem)
    return match.group(1).upper() if match else mat.parent.parent.name


def find(root: Path) -> list[RecordingRef]:
    root = require_root(root, NAME)
    mats = index_files(root, ".mat")
    if not mats:
        raise SitoolError(f"{root}: no .mat files found; is this the USC-TIMIT EMA root? "
                          "(see docs/corpora.md for the expected layout)")
    wavs, trans = index_files(root, ".wav"), index_files(root, ".trans")
    refs = []
    for stem, mat in mats.items():
        paths = {"mat": mat}
        if stem in wavs:
            paths["wav"] = wavs[stem]
        if stem in trans:
            paths["trans"] = trans[stem]
        refs.append(RecordingRef(utt=stem, speaker=speaker_of(mat), paths=paths))
    return refs


def read_trans(path: Path) -> list[PhoneSegment] | None:
    """Phone segments of a ``.trans`` file (``start,end,phone,...`` lines, seconds); lines
    that do not parse are skipped with a count in the log; None when nothing parses."""
    segments, bad = [], 0
    for line in path.read_text(encoding="latin-1").splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 3 or not fields[2]:
            bad += bool(line.strip())
            continue
        try:
            start, end = float(fields[0]), float(fields[1])
        except ValueError:
            bad += 1
            continue
        if end > start:
            segments.append(PhoneSegment(start, end, fields[2].replace(" ", "_")))
    if bad:
        log.warning("%s: %d line(s) are not 'start,end,phone,...'; skipped", path, bad)
    return sorted(segments, key=lambda s: s.start) or None


def load(ref: RecordingRef) -> Recording:
    path = ref.paths["mat"]
    elements = struct_elements(path)
    sensors, rate, length = sensor_channels(path, elements, SENSOR_ELEMENTS, MIDSAGITTAL_COLUMNS)
    audio = audio_path = None
    if AUDIO in elements:
        audio = audio_channel(path, elements, AUDIO)
    elif "wav" in ref.paths:
        audio_path = ref.paths["wav"]
    else:
        raise SitoolError(f"{path}: no {AUDIO} element and no {path.stem}.wav beside the "
                          "corpus' wav/ files; the recording has no audio")
    phones = read_trans(ref.paths["trans"]) if "trans" in ref.paths else None
    return Recording(utt=ref.utt, speaker=ref.speaker, times=np.arange(length) / rate,
                     sensors=sensors, audio=audio, audio_path=audio_path, phones=phones)


READER = CorpusReader(name=NAME, find=find, load=load)
