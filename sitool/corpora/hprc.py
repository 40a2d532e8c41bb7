"""Haskins Production Rate Comparison (HPRC) reader (``sitool prepare hprc``).

Corpus: the Haskins IEEE rate comparison database (Tiede et al., Haskins Laboratories):
8 American English speakers (F01-F04, M01-M04) reading the 720 IEEE/Harvard sentences at
normal and fast rate, EMA (NDI Wave, head-corrected, aligned to the occlusal plane with the
origin at the upper incisors) at 100 Hz and audio at 44.1 kHz. Obtain it from Haskins
Laboratories (it is not bundled with sitool; check its licence terms).

Layout read (any depth under ``--root``)::

    <root>/F01/data/F01_B01_S01_R01_N.mat    one sentence (MATLAB v5 .mat; v7.3/HDF5 files
                                             are not readable by scipy - re-save with -v7)
    <root>/F01/data/F01_palate.mat           optional palate trace (file name has 'palate')

Each sentence file holds one variable named like the file: a 9-element struct array with
fields NAME, SRATE, SIGNAL, SOURCE, SENTENCE, WORDS, PHONES, LABELS, one element per channel:

- ``AUDIO``: SIGNAL = audio samples (float) at SRATE (44100 Hz); SENTENCE = the text; WORDS
  and PHONES = label struct arrays (a label field, LABEL or NAME, and OFFS = [start end] in
  seconds), read when present in that form;
- ``TR`` (tongue rear/dorsum), ``TB`` (tongue blade), ``TT`` (tongue tip), ``UL``, ``LL``,
  ``ML`` (mouth left corner), ``JAW``, ``JAWL``: SIGNAL = N x 6 at SRATE (100 Hz): x
  (front-back), y (left-right), z (up-down) in mm, then 3 orientation angles. The
  midsagittal plane is (x, z).

Mapping to canonical sensors: UL->UL, LL->LL, JAW->JAW, TT->TT, TB->TM, TR->TD (note: HPRC's
``TB`` is the blade; the tongue-body TVs use ``TR``). LP is measured from x = 0 (the upper
incisors). The audio is written as 16 kHz WAV under the media dir (the data dir needs files).
The palate file's layout is not documented here: sitool uses its first numeric array with at
least 2 rows and columns (columns (x, z) when it has 3 or more, else (x, y)), or the SIGNAL of
its first struct element; anything else falls back to the estimated palate, with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.corpora.mview import (audio_channel, label_segments, loadmat, sensor_channels,
                                  struct_elements, text_of)
from sitool.corpora.recording import (CorpusReader, Recording, RecordingRef, index_files,
                                      require_root)
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

NAME = "hprc"
SUMMARY = "HPRC (Haskins IEEE rate comparison): one .mat per sentence -> data dirs."
AUDIO = "AUDIO"
SENSOR_ELEMENTS = {"UL": ("UL",), "LL": ("LL",), "JAW": ("JAW",), "TT": ("TT",), "TM": ("TB",),
                   "TD": ("TR",)}
MIDSAGITTAL_COLUMNS = (0, 2)     # x (front-back), z (up-down)


def find(root: Path) -> list[RecordingRef]:
    root = require_root(root, NAME)
    mats = {stem: path for stem, path in index_files(root, ".mat").items()
            if "palate" not in stem.lower()}
    if not mats:
        raise SitoolError(f"{root}: no .mat files found; is this the HPRC corpus root? "
                          "(see docs/corpora.md for the expected layout)")
    return [RecordingRef(utt=stem, speaker=stem.split("_")[0], paths={"mat": path})
            for stem, path in mats.items()]


def load(ref: RecordingRef) -> Recording:
    path = ref.paths["mat"]
    elements = struct_elements(path)
    audio = audio_channel(path, elements, AUDIO)
    sensors, rate, length = sensor_channels(path, elements, SENSOR_ELEMENTS, MIDSAGITTAL_COLUMNS)
    audio_el = elements[AUDIO]
    field_names = set(audio_el.dtype.names)
    text = text_of(audio_el["SENTENCE"]).strip() if "SENTENCE" in field_names else ""
    phones = label_segments(audio_el["PHONES"]) if "PHONES" in field_names else None
    return Recording(utt=ref.utt, speaker=ref.speaker, times=np.arange(length) / rate,
                     sensors=sensors, audio=audio,
                     text=text or None, phones=phones)


def _palate_points(path: Path) -> np.ndarray | None:
    contents = loadmat(path)
    for key, value in contents.items():
        if key.startswith("__"):
            continue
        array = np.atleast_1d(value)
        if array.dtype.names and "SIGNAL" in array.dtype.names:
            array = np.asarray(array[0]["SIGNAL"])
        if array.dtype.kind in "fiu" and array.ndim == 2 and min(array.shape) >= 2:
            columns = list(MIDSAGITTAL_COLUMNS) if array.shape[1] >= 3 else [0, 1]
            points = np.asarray(array[:, columns], dtype=np.float64)
            points = points[np.all(np.isfinite(points), axis=1)]
            if len(points) >= 2:
                return points
    return None


def palates(root: Path, speakers: Sequence[str]) -> dict[str, np.ndarray]:
    found = {}
    for stem, path in index_files(root, ".mat").items():
        if "palate" not in stem.lower():
            continue
        speaker = stem.split("_")[0]
        if speaker not in speakers or speaker in found:
            continue
        try:
            points = _palate_points(path)
        except SitoolError as e:
            log.warning("hprc: %s; the palate of %s will be estimated", e, speaker)
            continue
        if points is None:
            log.warning("hprc: %s holds no palate array sitool understands; the palate of %s "
                        "will be estimated", path, speaker)
            continue
        found[speaker] = points
        log.info("hprc: palate trace for %s from %s", speaker, path)
    return found


READER = CorpusReader(name=NAME, find=find, load=load, palates=palates)
