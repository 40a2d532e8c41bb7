"""MOCHA-TIMIT reader (``sitool prepare mocha``).

Corpus: MOCHA-TIMIT (Multi-CHannel Articulatory database, Wrench, Queen Margaret University
College / CSTR Edinburgh): British English speakers reading up to 460 TIMIT-derived
sentences, with EMA (Carstens AG100, 2-D midsagittal), laryngograph and EPG. The commonly
distributed release has speakers ``fsew0`` (female) and ``msak0`` (male); later releases add
more. Obtain it from CSTR Edinburgh (licence: see the distribution's own terms; it is not
bundled with sitool).

Layout read (any directory depth under ``--root``; files paired by stem)::

    <root>/fsew0_v1.1/fsew0_001.ema     EST Track, binary float32, 500 Hz (2 ms steps);
                                        or the headerless ASCII variant (below)
    <root>/fsew0_v1.1/fsew0_001.wav     audio, 16 kHz (NIST SPHERE header despite the
                                        extension in the original release; libsndfile reads
                                        uncompressed SPHERE - convert shorten-compressed
                                        files with sph2pipe first)
    <root>/fsew0_v1.1/fsew0_001.lab     phone labels, '<start_s> <end_s> <phone>' lines

EMA channels: ``<coil>_x`` (front-back) and ``<coil>_y`` (vertical) for ui (upper incisor),
li (lower incisor), ul, ll (lips), tt, tb, td (tongue tip, blade, dorsum), v (velum) and
bn (bridge of nose); two further channels are named ``*``. Units: 1/100 mm (the MOCHAtools
reader by Qin & Carreira-Perpinan divides by 100 to get mm; not confirmed from the corpus'
own documentation, so check LA on your copy: at lip closure ~15-20 mm on EMA data; see
docs/corpora.md, "Sanity check: lip aperture").

Two ``.ema`` variants circulate and both are read (told apart per file by the first line;
``find`` logs how many of each it found): the EST Track files of the release (header
``EST_File Track`` ... ``EST_Header_End``, then binary or ASCII frames), and a headerless
ASCII body (e.g. the copies converted for MOCHAtools): per line a time (s), a flag (0 =
no data), then the 20 channels in the EST files' channel order, ``CHANNELS`` below (the
order MOCHAtools' ``MOCHAread.m`` indexes them by).

Mapping to canonical sensors: ul->UL, ll->LL, li->JAW, tt->TT, tb->TM, td->TD; ui is the
reference for LP (lip protrusion is measured from the upper incisor). The speaker is the
part of the file name before the first ``_``.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np

from sitool.corpora.est_track import has_est_header, read_est_track, read_headerless_ascii_track
from sitool.corpora.labels import phones_text, read_phone_labels
from sitool.corpora.recording import (CorpusReader, Recording, RecordingRef,
                                      find_ema_recordings)

log = logging.getLogger(__name__)

NAME = "mocha"
SUMMARY = "MOCHA-TIMIT: EST .ema (500 Hz) + .wav + .lab -> data dirs."
EMA_RATE_HZ = 500.0
UNIT_TO_MM = 0.01
SENSOR_COILS = {"UL": "ul", "LL": "ll", "JAW": "li", "TT": "tt", "TM": "tb", "TD": "td"}
REFERENCE_COILS = {"UI": "ui"}
# The channel order of MOCHA's EST .ema files: coils ui li ul ll tt (x), their y, then
# tb td v, a placeholder '*', bn (x), their y (a headerless file is read in this order).
CHANNELS = ("ui_x", "li_x", "ul_x", "ll_x", "tt_x", "ui_y", "li_y", "ul_y", "ll_y", "tt_y",
            "tb_x", "td_x", "v_x", "*", "bn_x", "tb_y", "td_y", "v_y", "*", "bn_y")
EST_VARIANT = "EST Track"
ASCII_VARIANT = "headerless ASCII (time, flag, 20 channels per line)"


def ema_variant(path: Path) -> str:
    """Which of the two .ema variants ``path`` is (module docstring)."""
    return EST_VARIANT if has_est_header(path) else ASCII_VARIANT


def read_ema(path: Path):
    """The ``EstTrack`` of a MOCHA .ema file in either variant."""
    if ema_variant(path) == EST_VARIANT:
        return read_est_track(path)
    return read_headerless_ascii_track(path, list(CHANNELS))


def find(root: Path) -> list[RecordingRef]:
    refs = find_ema_recordings(root, NAME, speaker_of=lambda stem: stem.split("_")[0])
    counts = Counter(ema_variant(ref.paths["ema"]) for ref in refs)
    log.info("mocha: .ema files found: %s", ", ".join(f"{n} {variant}"
                                                       for variant, n in sorted(counts.items())))
    return refs


def _coil(track, coil: str) -> np.ndarray:
    return np.stack([track.channel(f"{coil}_x"), track.channel(f"{coil}_y")], axis=1) * UNIT_TO_MM


def load(ref: RecordingRef) -> Recording:
    track = read_ema(ref.paths["ema"])
    sensors = {name: _coil(track, coil) for name, coil in SENSOR_COILS.items()}
    reference = {name: _coil(track, coil) for name, coil in REFERENCE_COILS.items()
                 if f"{coil}_x" in track.channels and f"{coil}_y" in track.channels}
    phones = read_phone_labels(ref.paths["lab"]) if "lab" in ref.paths else None
    return Recording(utt=ref.utt, speaker=ref.speaker, times=track.times, sensors=sensors,
                     reference=reference, audio_path=ref.paths["wav"], phones=phones,
                     text=phones_text(phones) if phones else None)


READER = CorpusReader(name=NAME, find=find, load=load, lp_reference="UI")
