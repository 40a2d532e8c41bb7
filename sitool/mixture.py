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
import hashlib
import json
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

from sitool.audio import SAMPLE_RATE, audio_duration, load_audio, read_audio_file, write_audio
from sitool.errors import SitoolError
from sitool.io import atomic_write_text

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


def mix_tsv_lines(path: str | os.PathLike) -> dict[str, int]:
    """``utt -> line number`` of each row of ``mix.tsv`` (for messages naming file:line)."""
    lines: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            if lineno > 1 and line.strip():
                lines.setdefault(line.split("\t", 1)[0], lineno)
    return lines


def row_where(path: str | os.PathLike, utt: str) -> str:
    """``FILE:LINE: UTT`` for the row of ``utt`` in the ``mix.tsv`` at ``path``."""
    line = mix_tsv_lines(path).get(utt) if Path(path).is_file() else None
    return f"{path}:{line}: {utt}" if line else f"{path}: {utt}"


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


def _row_inputs(row: MixRow, mix_path: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray]:
    """The row's clean audio and noise segment; a failure names the row (file:line, utt)."""
    try:
        clean = load_clean(row.clean_path)
        return clean, noise_segment(row.noise_path, row.noise_offset_s, clean.size)
    except SitoolError as e:
        where = row_where(mix_path, row.utt) if mix_path else f"mix.tsv row {row.utt}"
        check = f" (sitool validate-data {Path(mix_path).parent} lists every such row)" \
            if mix_path else ""
        raise SitoolError(f"{where}: {e}; fix the row or remake the set with sitool mix "
                          f"--overwrite{check}") from None


def materialise(row: MixRow, mix_path: str | os.PathLike | None = None) -> np.ndarray:
    """The noisy utterance of ``row``: 16 kHz mono float32, bit-identical on every call.
    ``mix_path``: the row's ``mix.tsv``, named (with the line) when the row cannot be made."""
    clean, noise = _row_inputs(row, mix_path)
    return mix_signals(clean, noise, row.gain, row.scale)


def materialise_components(row: MixRow, mix_path: str | os.PathLike | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(speech, noise) as they appear in the mixture: ``scale * clean`` and
    ``scale * gain * noise_segment``. Their sum equals ``materialise(row)`` up to float32
    rounding; the speech part is the reference for enhancement and SNR checks."""
    clean, noise = _row_inputs(row, mix_path)
    speech = np.multiply(clean, np.float32(row.scale), dtype=np.float32)
    added = np.multiply(noise, np.float32(row.gain * row.scale), dtype=np.float32)
    return speech, added


# ---------------------------------------------------------------------------------------
# What a row implies (``sitool validate-data`` recomputes it)
# ---------------------------------------------------------------------------------------

# A row's gain must give its snr_db within this (``sitool mix`` computes both from the same
# audio, so they agree to float rounding; 0.1 dB is the precision SNRs are reported with).
SNR_TOLERANCE_DB = 0.1


def noise_seconds(noise_path: str) -> float:
    """How long the noise a row draws from lasts (its time range when it has one), in seconds,
    from the file header (no samples read)."""
    file, start, end = parse_noise_path(noise_path)
    total = audio_duration(file)
    if start is None:
        return total
    return max(0.0, min(end, total) - start)


def offset_problem(row: MixRow, noise_s: float) -> str | None:
    """What is wrong when ``noise_offset_s`` starts at or past the end of the row's noise
    (``noise_s`` seconds long; see :func:`noise_seconds`): no mixture can be made. None if fine."""
    if int(round(row.noise_offset_s * SAMPLE_RATE)) < int(round(noise_s * SAMPLE_RATE)):
        return None
    return (f"noise_offset_s {row.noise_offset_s:.3f} s is at or past the end of its noise "
            f"{row.noise_path} ({noise_s:.3f} s), so the mixture cannot be made")


def implied_snr_db(row: MixRow, speech_power: float | None = None) -> float:
    """The SNR (dB) that the row's ``gain`` really gives, by the definition of
    ``sitool.noise.snr``: the clean audio's active speech level over the mean square of
    ``gain * noise_segment``; +inf for a gain of 0. ``speech_power``: the clean audio's
    active level (linear power) when already measured. Equals ``snr_db`` (within
    ``SNR_TOLERANCE_DB``) in every row ``sitool mix`` writes."""
    # imported here: scipy.signal (P.56) would add a second to every command's start-up
    from sitool.noise.snr import active_speech_level, noise_power, power_db

    clean = load_clean(row.clean_path)
    if speech_power is None:
        speech_power = active_speech_level(clean).power
    noise = noise_segment(row.noise_path, row.noise_offset_s, clean.size)
    return power_db(speech_power) - power_db(row.gain ** 2 * noise_power(noise))


def snr_problem(row: MixRow, implied: float) -> str | None:
    """What is wrong when the row's ``snr_db`` disagrees with the SNR its gain gives (``implied``,
    :func:`implied_snr_db`) by more than ``SNR_TOLERANCE_DB``; None when they agree."""
    if abs(implied - row.snr_db) <= SNR_TOLERANCE_DB:
        return None
    return (f"snr_db says {row.snr_db:g} dB but its gain {row.gain:.6g} gives {implied:.2f} dB "
            "(the clean speech's active level over the level of the noise it adds), so it "
            "would be scored under the wrong SNR")


# ---------------------------------------------------------------------------------------
# Written mixtures (``sitool mix --write-audio``)
# ---------------------------------------------------------------------------------------
# Each wav gets a sidecar ``<wav>.json``: the mix.tsv row it was made from and the sha256 of
# its samples, so that reused audio (``sitool mix``) and a noisy set's wav.scp
# (``sitool validate-data``) are checked against their rows.

REMAKE_AUDIO = "remake the audio: sitool mix ... --write-audio --overwrite"


def sidecar_path(wav: str | os.PathLike) -> Path:
    """``<wav>.json``: what the written mixture ``wav`` was made from."""
    return Path(f"{wav}.json")


def samples_digest(samples: np.ndarray) -> str:
    """sha256 of float32 (little-endian) samples."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()


def write_mixture_wav(row: MixRow, path: str | os.PathLike) -> None:
    """Write ``row``'s mixture to ``path`` as float32 WAV (bit-exact), then its sidecar (each
    atomically; the old sidecar goes first, so a wav never carries another row's record)."""
    samples = materialise(row)
    sidecar = sidecar_path(path)
    sidecar.unlink(missing_ok=True)
    write_audio(path, samples, SAMPLE_RATE, subtype="FLOAT")
    record = {"row": format_mix_row(row).rstrip("\n"), "samples_sha256": samples_digest(samples)}
    atomic_write_text(sidecar, json.dumps(record, indent=1) + "\n")


def _row_difference(old: MixRow, new: MixRow) -> str:
    """The first fields in which ``old`` (written) differs from ``new`` (this set's), seed first."""
    names = sorted((f.name for f in fields(MixRow)
                    if getattr(old, f.name) != getattr(new, f.name)), key=lambda n: n != "seed")
    return ", ".join(f"{n} {getattr(old, n)}, this set's {getattr(new, n)}" for n in names[:2])


def written_mixture_problem(row: MixRow, path: str | os.PathLike) -> str | None:
    """Why the wav at ``path`` does not hold ``row``'s mixture (a line naming the file), or
    None when it does: its sidecar must record this row and the digest of the samples in the
    file. A wav without a sidecar (written by an older sitool) is compared with
    ``materialise(row)`` sample by sample."""
    try:
        samples, _ = read_audio_file(path)
    except SitoolError as e:
        return f"{e}; {REMAKE_AUDIO}"
    samples = samples[:, 0] if samples.shape[1] == 1 else samples
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        if samples.ndim == 1 and np.array_equal(samples, materialise(row)):
            return None
        return f"{path}: holds another mixture than its mix.tsv row; {REMAKE_AUDIO}"
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        written = _parse_row(record["row"].split("\t"), str(sidecar))
        digest = record["samples_sha256"]
    except (ValueError, KeyError, TypeError, AttributeError, SitoolError):
        return f"{sidecar}: unreadable record of the mixture it holds; {REMAKE_AUDIO}"
    if written != row:
        return (f"{path}: written from another mix.tsv row ({_row_difference(written, row)}); "
                f"{REMAKE_AUDIO}")
    if digest != samples_digest(samples):
        return (f"{path}: its samples changed since sitool mix wrote them (the digest in its "
                f".json sidecar differs); {REMAKE_AUDIO}")
    return None

