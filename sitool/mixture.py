"""``mix.tsv`` rows and the mixture they define (DESIGN.md §3, "Noisy sets").

Part of the data contract beside ``sitool.datadir`` (``DataDir.mix``, ``DataDir.audio``);
``sitool.noise.noisy_sets`` (``sitool mix``) decides the rows and writes them.

A noisy set has one ``mix.tsv`` row per utterance (tab-separated, header line first)::

    utt clean_utt noise_id noise_type category snr_db noise_path noise_offset_s gain seed clean_path scale

and the audio of that utterance is a pure function of the row::

    mixture = scale * (clean + gain * noise_segment)

* ``clean`` is ``clean_path`` loaded at 16 kHz mono (resampled if stored at another rate).
* ``noise_path`` is an audio file, optionally restricted to a time range with a media
  fragment suffix ``#t=START,END`` (seconds), e.g. ``/n/white.wav#t=60.000,80.000``; the
  noise is loaded at 16 kHz (multichannel files are averaged to mono).
* ``noise_segment`` is the ``len(clean)`` samples of that (range of the) noise starting at
  ``noise_offset_s`` seconds into it (rounded to the nearest 16 kHz sample). When the noise
  is too short, it is looped: copies follow each other with an equal-power crossfade of
  ``min(50 ms, len/4)`` (see ``loop_noise``), so there is no click and no level dip.
* ``gain`` gives the requested SNR by ``sitool.noise.snr``; ``scale`` (<= 1) scales the whole
  mixture so that its peak stays below 1, and so never changes the SNR.
* ``seed`` is the per-row seed ``sitool mix`` drew the noise, offset and SNR with (provenance).

Everything is float32 element-wise arithmetic, so ``materialise(row)`` is bit-identical on
every call. Loaded files are kept in an in-process LRU cache (``AUDIO_CACHE``).
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Iterable

import numpy as np

from sitool.audio import SAMPLE_RATE, load_audio
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

CATEGORIES = ("babble", "non-babble")
CROSSFADE_S = 0.05  # loop crossfade length (at most a quarter of the noise segment)


@dataclass(frozen=True)
class MixRow:
    """One ``mix.tsv`` row; the fields are the file's columns, in order."""

    utt: str
    clean_utt: str
    noise_id: str
    noise_type: str
    category: str
    snr_db: float
    noise_path: str
    noise_offset_s: float
    gain: float
    seed: int
    clean_path: str
    scale: float

    @property
    def noise_file(self) -> str:
        """``noise_path`` without its ``#t=START,END`` time range."""
        return parse_noise_path(self.noise_path)[0]


COLUMNS = tuple(f.name for f in fields(MixRow))

# ---------------------------------------------------------------------------------------
# noise_path: a file with an optional time range
# ---------------------------------------------------------------------------------------

_RANGE = re.compile(r"^(?P<file>.+)#t=(?P<start>\d+(?:\.\d*)?),(?P<end>\d+(?:\.\d*)?)$")


def parse_noise_path(noise_path: str) -> tuple[str, float | None, float | None]:
    """Split ``FILE#t=START,END`` into (FILE, START, END); (FILE, None, None) without a range."""
    match = _RANGE.match(noise_path)
    if match is None:
        return noise_path, None, None
    start, end = float(match["start"]), float(match["end"])
    if not end > start:
        raise SitoolError(f"noise path {noise_path!r}: time range end must be after its start")
    return match["file"], start, end


def format_noise_path(file: str, start: float | None = None, end: float | None = None) -> str:
    """``FILE`` or ``FILE#t=START,END`` with times in seconds (millisecond precision)."""
    if start is None and end is None:
        return str(file)
    return f"{file}#t={start:.3f},{end:.3f}"


# ---------------------------------------------------------------------------------------
# mix.tsv reading and writing
# ---------------------------------------------------------------------------------------

def _format_value(value: object) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest string that parses back to the same float
    return str(value)


def format_mix_row(row: MixRow) -> str:
    values = [_format_value(v) for v in astuple(row)]
    for name, value in zip(COLUMNS, values):
        if "\t" in value or "\n" in value:
            raise SitoolError(f"mix.tsv: {row.utt}: {name} contains a tab or newline")
    return "\t".join(values) + "\n"


def format_mix_tsv(rows: Iterable[MixRow]) -> str:
    """The ``mix.tsv`` text: header line, then one line per row sorted by ``utt``."""
    ordered = sorted(rows, key=lambda r: r.utt)
    return "\t".join(COLUMNS) + "\n" + "".join(format_mix_row(r) for r in ordered)


def _parse_row(values: list[str], where: str) -> MixRow:
    converted: list[object] = []
    for f, value in zip(fields(MixRow), values):
        if f.type in ("float", float):
            try:
                number = float(value)
            except ValueError:
                raise SitoolError(f"{where}: {f.name} {value!r} is not a number") from None
            if not math.isfinite(number):
                raise SitoolError(f"{where}: {f.name} must be finite, got {value!r}")
            converted.append(number)
        elif f.type in ("int", int):
            try:
                converted.append(int(value))
            except ValueError:
                raise SitoolError(f"{where}: {f.name} {value!r} is not an integer") from None
        else:
            if not value:
                raise SitoolError(f"{where}: {f.name} is empty")
            converted.append(value)
    row = MixRow(*converted)
    if row.category not in CATEGORIES:
        raise SitoolError(f"{where}: category {row.category!r} must be one of {', '.join(CATEGORIES)}")
    if row.gain < 0:
        raise SitoolError(f"{where}: gain must be >= 0, got {row.gain}")
    if not 0 < row.scale <= 1:
        raise SitoolError(f"{where}: scale must be in (0, 1], got {row.scale}")
    if row.noise_offset_s < 0:
        raise SitoolError(f"{where}: noise_offset_s must be >= 0, got {row.noise_offset_s}")
    parse_noise_path(row.noise_path)
    return row


def read_mix_tsv(path: str | os.PathLike) -> dict[str, MixRow]:
    """Read ``mix.tsv`` into ``utt -> MixRow``; a bad line is an error naming file:line."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: file not found; it is written by sitool mix")
    rows: dict[str, MixRow] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise SitoolError(f"{path}: empty file (expected a header line)")
        if tuple(header) != COLUMNS:
            raise SitoolError(f"{path}:1: header must be the columns {' '.join(COLUMNS)}; "
                              f"got {' '.join(header)}")
        for values in reader:
            where = f"{path}:{reader.line_num}"
            if not values or values == [""]:
                continue
            if len(values) != len(COLUMNS):
                raise SitoolError(f"{where}: expected {len(COLUMNS)} tab-separated columns, "
                                  f"got {len(values)}")
            row = _parse_row(values, where)
            if row.utt in rows:
                raise SitoolError(f"{where}: duplicate utterance {row.utt!r}")
            rows[row.utt] = row
    return rows


# ---------------------------------------------------------------------------------------
# Audio cache
# ---------------------------------------------------------------------------------------

class AudioCache:
    """LRU cache of files loaded at 16 kHz mono float32, bounded by total size in bytes.

    Cached arrays are read-only; callers slice them and never modify them.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def load(self, path: str, downmix: bool = False) -> np.ndarray:
        key = (str(path), downmix)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        audio = load_audio(path, SAMPLE_RATE, downmix=downmix)
        audio.setflags(write=False)
        with self._lock:
            self.misses += 1
            if key not in self._items:
                self._items[key] = audio
                self._bytes += audio.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return audio

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0


AUDIO_CACHE = AudioCache()


def load_clean(path: str) -> np.ndarray:
    """The clean utterance at 16 kHz mono (read-only, cached)."""
    return AUDIO_CACHE.load(path, downmix=False)


def load_noise_range(noise_path: str) -> np.ndarray:
    """The noise of ``noise_path`` (its time range when it has one) at 16 kHz mono, read-only."""
    file, start, end = parse_noise_path(noise_path)
    audio = AUDIO_CACHE.load(file, downmix=True)
    if start is None:
        return audio
    first = int(round(start * SAMPLE_RATE))
    last = min(int(round(end * SAMPLE_RATE)), audio.size)
    if last <= first:
        raise SitoolError(f"{file}: time range {start:.3f}-{end:.3f} s is outside the file "
                          f"({audio.size / SAMPLE_RATE:.3f} s)")
    return audio[first:last]


# ---------------------------------------------------------------------------------------
# Looping and mixing
# ---------------------------------------------------------------------------------------

def crossfade_length(num_samples: int) -> int:
    """Crossfade used when looping a noise of ``num_samples``: min(50 ms, a quarter of it)."""
    return min(int(round(CROSSFADE_S * SAMPLE_RATE)), num_samples // 4)


def _equal_power_fades(length: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(length, dtype=np.float64) + 0.5) / length
    fade_in = np.sin(0.5 * np.pi * t).astype(np.float32)
    fade_out = np.cos(0.5 * np.pi * t).astype(np.float32)
    return fade_in, fade_out


def loop_noise(noise: np.ndarray, num_samples: int) -> np.ndarray:
    """Repeat ``noise`` to at least ``num_samples`` samples.

    Copy k starts at k * (L - X) (L = len(noise), X = ``crossfade_length(L)``); where two
    copies overlap, the end of one fades out and the start of the next fades in with
    equal-power (sine/cosine) fades, which keeps the level of uncorrelated noise constant.
    The first copy is unchanged up to its fade-out, so a segment that is long enough is
    never altered. Returns float32 ``[max(num_samples, L)]``.
    """
    length = noise.size
    if length == 0:
        raise SitoolError("loop_noise: empty noise segment")
    if num_samples <= length:
        return np.asarray(noise, dtype=np.float32)
    fade = crossfade_length(length)
    if fade == 0:  # shorter than 4 samples: plain repetition
        return np.tile(np.asarray(noise, dtype=np.float32), math.ceil(num_samples / length))
    period = length - fade
    copies = math.ceil((num_samples - fade) / period)
    out = np.zeros(copies * period + fade, dtype=np.float32)
    fade_in, fade_out = _equal_power_fades(fade)
    for k in range(copies):
        piece = np.array(noise, dtype=np.float32)
        if k > 0:
            piece[:fade] *= fade_in
        if k < copies - 1:
            piece[length - fade:] *= fade_out
        out[k * period:k * period + length] += piece
    return out[:num_samples]


def noise_segment(noise_path: str, offset_s: float, num_samples: int) -> np.ndarray:
    """The ``num_samples`` noise samples a row adds, from ``offset_s`` into ``noise_path``."""
    noise = load_noise_range(noise_path)
    offset = int(round(offset_s * SAMPLE_RATE))
    if offset >= noise.size:
        raise SitoolError(f"noise {noise_path}: offset {offset_s:.4f} s is beyond its "
                          f"{noise.size / SAMPLE_RATE:.3f} s")
    if offset + num_samples <= noise.size:
        return noise[offset:offset + num_samples]
    return loop_noise(noise, offset + num_samples)[offset:offset + num_samples]


def mix_signals(clean: np.ndarray, noise: np.ndarray, gain: float, scale: float) -> np.ndarray:
    """``scale * (clean + gain * noise)`` in float32, element-wise (bit-reproducible)."""
    out = np.multiply(noise, np.float32(gain), dtype=np.float32)
    out += clean
    out *= np.float32(scale)
    return out


def materialise(row: MixRow) -> np.ndarray:
    """The noisy utterance of ``row``: 16 kHz mono float32, bit-identical on every call."""
    clean = load_clean(row.clean_path)
    noise = noise_segment(row.noise_path, row.noise_offset_s, clean.size)
    return mix_signals(clean, noise, row.gain, row.scale)


def materialise_components(row: MixRow) -> tuple[np.ndarray, np.ndarray]:
    """(speech, noise) as they appear in the mixture: ``scale * clean`` and
    ``scale * gain * noise_segment``. Their sum equals ``materialise(row)`` up to float32
    rounding; the speech part is the reference for enhancement and SNR checks."""
    clean = load_clean(row.clean_path)
    noise = noise_segment(row.noise_path, row.noise_offset_s, clean.size)
    speech = np.multiply(clean, np.float32(row.scale), dtype=np.float32)
    added = np.multiply(noise, np.float32(row.gain * row.scale), dtype=np.float32)
    return speech, added
