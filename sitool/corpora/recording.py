"""One utterance of a real articulatory corpus, as every corpus reader yields it.

A reader (``mocha``, ``mngu0``, ``hprc``, ``usctimit``, ``xrmb``, ``carstens``, ``generic``) lists a corpus'
utterances cheaply (``CorpusReader.find``) and loads one at a time (``CorpusReader.load``) into
a ``Recording``: sensor tracks in millimetres under canonical sensor names, in the corpus' own
midsagittal axes (``sitool.articulation.geometry`` orients them), with their time stamps, plus
the audio and optional text / phone labels. ``sitool.corpora.build`` turns recordings into data
dirs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sitool.datadir import PhoneSegment
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

# Canonical sensor names (geometry.py documents them); readers map their corpus' names here.
SENSOR_NAMES = ("UL", "LL", "JAW", "TT", "TM", "TD")
# The raw-EMA target set (--targets ema): x and y of each of these, oriented frame.
EMA_SENSORS = SENSOR_NAMES


@dataclass
class Recording:
    """One utterance: sensor tracks + audio (+ text/phones).

    ``sensors`` maps canonical names to ``[N, 2]`` midsagittal positions in mm (corpus axes,
    NaN where missing) sampled at ``times`` ``[N]`` (s, from the start of the audio).
    ``columns``/``column_names``/``column_units`` carry a generic corpus' own target columns
    (``[N, C]``) when they are passed through as they are. Audio is a file (``audio_path``)
    or, for corpora that store it inside another file, an in-memory ``(signal, rate)``.
    ``reference`` optionally holds extra fixed-point tracks (e.g. ``UI`` upper incisor).
    """

    utt: str
    speaker: str
    times: np.ndarray
    sensors: dict[str, np.ndarray] = field(default_factory=dict)
    audio_path: Path | None = None
    audio: tuple[np.ndarray, int] | None = None
    text: str | None = None
    phones: list[PhoneSegment] | None = None
    reference: dict[str, np.ndarray] = field(default_factory=dict)
    columns: np.ndarray | None = None
    column_names: list[str] = field(default_factory=list)
    column_units: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        n = len(self.times)
        if n < 2:
            raise SitoolError(f"{self.utt}: articulatory track has {n} frame(s)")
        if not np.all(np.isfinite(self.times)) or np.any(np.diff(self.times) <= 0):
            raise SitoolError(f"{self.utt}: articulatory time stamps are not strictly increasing")
        for name, track in {**self.sensors, **self.reference}.items():
            if np.shape(track) != (n, 2):
                raise SitoolError(f"{self.utt}: sensor {name} has shape {np.shape(track)}, "
                                  f"expected ({n}, 2)")
        if self.columns is not None and (self.columns.ndim != 2 or len(self.columns) != n):
            raise SitoolError(f"{self.utt}: target columns have shape {self.columns.shape}, "
                              f"expected ({n}, C)")

    @property
    def rate(self) -> float:
        """Nominal frame rate (Hz) from the median time step."""
        return 1.0 / float(np.median(np.diff(self.times)))


@dataclass
class RecordingRef:
    """Where one utterance's files are (what ``CorpusReader.find`` lists)."""

    utt: str
    speaker: str
    paths: dict[str, Path]
    text: str | None = None


@dataclass
class CorpusReader:
    """A corpus: how to list its utterances, load one, and find its palate traces.

    ``palates(root, speakers)`` returns ``{speaker: [M, 2] (x, y) mm in corpus axes}`` for the
    speakers whose corpus ships a palate trace (the others get an estimated one).
    ``lp_reference`` names a ``Recording.reference`` track whose median x is the LP origin
    (None: the frame's origin).
    """

    name: str
    find: Callable[[Path], list[RecordingRef]]
    load: Callable[[RecordingRef], Recording]
    palates: Callable[[Path, Sequence[str]], dict[str, np.ndarray]] = lambda root, spk: {}
    lp_reference: str | None = None
    default_dev_speakers: tuple[str, ...] = ()
    default_test_speakers: tuple[str, ...] = ()


def index_files(root: Path, suffix: str) -> dict[str, Path]:
    """``{stem: path}`` of every ``*suffix`` file under ``root`` (case-insensitive suffix).

    Two files with the same stem are an error naming both (the pairing would be ambiguous).
    """
    found: dict[str, Path] = {}
    suffix = suffix.lower()
    for dirpath, _, filenames in os.walk(root, followlinks=True):
        for filename in filenames:
            if filename.lower().endswith(suffix) and not filename.startswith("."):
                stem = filename[: -len(suffix)]
                path = Path(dirpath) / filename
                if stem in found:
                    raise SitoolError(f"two {suffix} files for {stem!r}: {found[stem]} and {path}; "
                                      "remove one")
                found[stem] = path
    return dict(sorted(found.items()))


def require_root(root: str | os.PathLike, corpus: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise SitoolError(f"{root}: {corpus} corpus root not found (see docs/corpora.md for "
                          "how to obtain the corpus and the expected layout)")
    return root


def pair_with_audio(stems: dict[str, Path], audio: dict[str, Path], root: Path, corpus: str,
                    what: str) -> list[tuple[str, Path, Path]]:
    """``(stem, articulatory file, audio file)`` for stems having both; logs the unpaired."""
    if not stems:
        raise SitoolError(f"{root}: no {what} files found; is this the {corpus} corpus root? "
                          "(see docs/corpora.md for the expected layout)")
    paired = [(stem, path, audio[stem]) for stem, path in stems.items() if stem in audio]
    missing = sorted(set(stems) - set(audio))
    if missing:
        log.warning("%s: %d %s file(s) have no audio file with the same name, e.g. %s; "
                    "skipped", corpus, len(missing), what, missing[0])
    if not paired:
        raise SitoolError(f"{root}: none of the {len(stems)} {what} files has a .wav file "
                          "with the same name")
    return paired


def find_ema_recordings(root: str | os.PathLike, corpus: str,
                        speaker_of: Callable[[str], str],
                        utt_of: Callable[[str], str] = lambda stem: stem) -> list[RecordingRef]:
    """Refs of ``STEM.ema`` + ``STEM.wav`` pairs under ``root``, with ``STEM.lab`` when present
    (the EST-track EMA layouts of MOCHA-TIMIT and mngu0)."""
    root = require_root(root, corpus)
    labels = index_files(root, ".lab")
    refs = []
    for stem, ema, wav in pair_with_audio(index_files(root, ".ema"), index_files(root, ".wav"),
                                          root, corpus, ".ema"):
        paths = {"ema": ema, "wav": wav}
        if stem in labels:
            paths["lab"] = labels[stem]
        refs.append(RecordingRef(utt=utt_of(stem), speaker=speaker_of(stem), paths=paths))
    return refs
