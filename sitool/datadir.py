"""The data directory contract (DESIGN.md §3): reading and writing ``data/<set>/``.

A data dir is Kaldi-style, so Kaldi/ESPnet/lhotse users can read it::

    wav.scp    <utt> <audio path>        clean sets (and noisy sets dumped with --write-audio)
    utt2spk    <utt> <speaker>
    spk2utt    <speaker> <utt> ...       derived from utt2spk
    utt2dur    <utt> <seconds>
    tv.scp     <utt> <.npy path>         float32 [frames, n_targets], un-normalised
    targets    YAML: names, units, frame_rate, descriptions, normalisation note, optional
               headline (the targets scoring's mean PPMC averages)
    text       <utt> <words or phones>   optional
    phones.ctm <utt> 1 <start> <dur> <phone>   optional exact phone alignment (CTM)
    mix.tsv    noisy sets: one row per utterance, see sitool.mixture

In a noisy set the audio of an utterance is a pure function of its ``mix.tsv`` row, so
``DataDir.audio`` materialises it on the fly; ``wav.scp`` is then optional.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from sitool.audio import SAMPLE_RATE, audio_samples, load_audio
from sitool.errors import SitoolError
from sitool.io import atomic_path, format_table, read_table, read_yaml, text_lines, write_yaml
from sitool.mixture import CATEGORIES, MixRow, materialise, materialise_components, read_mix_tsv

# How far the target track's duration (frames / frame_rate) may differ from the audio's.
FRAME_TOLERANCE_S = 0.05
# How far utt2dur may differ from the length of the audio really in the file.
DURATION_TOLERANCE_S = 0.01
# Tables that list every utterance of a data dir (each must have exactly utt2spk's keys).
UTTERANCE_TABLES = ("wav.scp", "utt2dur", "tv.scp", "mix.tsv")

CLEAN = "clean"
CONDITION_CATEGORIES = (CLEAN, *CATEGORIES)   # every Condition.category, in report order


@dataclass
class TargetInfo:
    """What the columns of the target arrays are (the ``targets`` file).

    ``headline``: the targets whose mean PPMC is the headline of scoring (``sitool score``,
    RESULTS.md); None = the default (``sitool.scoring.aggregate.headline_targets``)."""

    names: list[str]
    units: list[str]
    frame_rate: float
    descriptions: dict[str, str] = field(default_factory=dict)
    normalisation: str = "none (stored in units; training computes statistics on its train set)"
    headline: list[str] | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.units):
            raise SitoolError(f"targets: {len(self.names)} names but {len(self.units)} units")
        if len(set(self.names)) != len(self.names):
            raise SitoolError(f"targets: duplicate target names in {self.names}")
        if not self.frame_rate > 0:
            raise SitoolError(f"targets: frame_rate must be > 0, got {self.frame_rate}")
        if self.headline is not None:
            unknown = [n for n in self.headline if n not in self.names]
            if unknown or not self.headline or len(set(self.headline)) != len(self.headline):
                what = (f"names {unknown} that are not targets" if unknown else
                        "no name" if not self.headline else "a name twice")
                raise SitoolError(f"targets: headline has {what}; list target columns "
                                  f"({', '.join(self.names)}) or remove the headline key")

    @classmethod
    def read(cls, path: str | os.PathLike) -> "TargetInfo":
        data = read_yaml(path)
        missing = [k for k in ("names", "units", "frame_rate") if k not in data]
        if missing:
            raise SitoolError(f"{path}: missing key(s) {', '.join(missing)}")
        headline = data.get("headline")
        if headline is not None and not isinstance(headline, list):
            raise SitoolError(f"{path}: headline must be a list of target names, got "
                              f"{headline!r}")
        try:
            return cls(
                names=[str(n) for n in data["names"]],
                units=[str(u) for u in data["units"]],
                frame_rate=float(data["frame_rate"]),
                descriptions={str(k): str(v) for k, v in (data.get("descriptions") or {}).items()},
                normalisation=str(data.get("normalisation", cls.normalisation)),
                headline=[str(n) for n in headline] if headline is not None else None,
            )
        except SitoolError as e:
            raise SitoolError(f"{path}: {e}") from None

    def write(self, path: str | os.PathLike) -> None:
        content = {
            "names": list(self.names),
            "units": list(self.units),
            "frame_rate": self.frame_rate,
            "descriptions": dict(self.descriptions),
            "normalisation": self.normalisation,
        }
        if self.headline is not None:
            content["headline"] = list(self.headline)
        write_yaml(path, content)

    def unit(self, name: str) -> str:
        return self.units[self.names.index(name)]


@dataclass(frozen=True)
class Condition:
    """The acoustic condition of one utterance: noise category, noise type and SNR (dB)."""

    category: str
    noise_type: str
    snr_db: float

    @property
    def is_clean(self) -> bool:
        return self.category == CLEAN


CLEAN_CONDITION = Condition(CLEAN, CLEAN, math.inf)


@dataclass(frozen=True)
class PhoneSegment:
    start: float
    end: float
    phone: str


# Tables whose lines hold exactly two ids (whitespace in an id shows up as a third field).
SINGLE_VALUE_TABLES = {"utt2spk": "<utt> <speaker>", "utt2dur": "<utt> <seconds>"}


class DataDir:
    """Read access to one data directory. Files are read lazily and cached."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise SitoolError(f"{self.path}: data directory not found")

    def __repr__(self) -> str:
        return f"DataDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, filename: str) -> bool:
        return (self.path / filename).is_file()

    def _table(self, filename: str) -> dict[str, str]:
        return read_table(self.path / filename, SINGLE_VALUE_TABLES.get(filename))

    @cached_property
    def utt2spk(self) -> dict[str, str]:
        return self._table("utt2spk")

    @cached_property
    def utts(self) -> list[str]:
        """All utterance ids, sorted."""
        return sorted(self.utt2spk)

    @cached_property
    def spk2utt(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for utt in self.utts:
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return out

    @cached_property
    def wav_scp(self) -> dict[str, str]:
        return self._table("wav.scp") if self.has("wav.scp") else {}

    @cached_property
    def utt2dur(self) -> dict[str, float]:
        table = self._table("utt2dur")
        try:
            return {u: float(d) for u, d in table.items()}
        except ValueError as e:
            raise SitoolError(f"{self.path / 'utt2dur'}: non-numeric duration ({e})") from None

    @cached_property
    def tv_scp(self) -> dict[str, str]:
        return self._table("tv.scp") if self.has("tv.scp") else {}

    @cached_property
    def targets(self) -> TargetInfo | None:
        return TargetInfo.read(self.path / "targets") if self.has("targets") else None

    @cached_property
    def text(self) -> dict[str, str]:
        return self._table("text") if self.has("text") else {}

    @cached_property
    def phones(self) -> dict[str, list[PhoneSegment]]:
        return read_ctm(self.path / "phones.ctm") if self.has("phones.ctm") else {}

    @cached_property
    def mix(self) -> dict[str, MixRow]:
        """``utt -> MixRow`` for a noisy set; empty for a clean set."""
        if not self.has("mix.tsv"):
            return {}
        return read_mix_tsv(self.path / "mix.tsv")

    @property
    def is_noisy(self) -> bool:
        return bool(self.mix)

    def require(self, *filenames: str, made_by: str = "sitool prepare") -> None:
        """Fail with one line if any of ``filenames`` is missing from this data dir."""
        for filename in filenames:
            if not self.has(filename):
                raise SitoolError(f"{self.path / filename}: missing; it is written by {made_by}")

    def check_utterances(self) -> list[str]:
        """The utterances, after checking that there are some and that every table listing
        utterances (``UTTERANCE_TABLES``) has exactly those of utt2spk; one line otherwise."""
        if not self.utts:
            raise SitoolError(f"{self.path / 'utt2spk'}: no utterances (the file is empty); "
                              f"prepare the data dir again")
        expected = set(self.utts)
        for filename in UTTERANCE_TABLES:
            if not self.has(filename):
                continue
            keys = set(self.mix if filename == "mix.tsv" else self._table(filename))
            extra, missing = sorted(keys - expected), sorted(expected - keys)
            if extra:
                raise SitoolError(f"{self.path / filename}: {len(extra)} utterance(s) not in "
                                  f"utt2spk, e.g. {extra[0]!r}; add them to utt2spk or remove "
                                  f"them (sitool validate-data {self.path} lists every problem)")
            if missing:
                raise SitoolError(f"{self.path / filename}: {len(missing)} utterance(s) of "
                                  f"utt2spk missing, e.g. {missing[0]!r}; add them or remove "
                                  f"them from utt2spk (sitool validate-data {self.path} lists "
                                  "every problem)")
        return self.utts

    def check_duration(self, utt: str, samples: int) -> None:
        """Fail unless ``samples`` (the audio really read, 16 kHz) agrees with utt2dur."""
        listed = self.utt2dur.get(utt)
        real = samples / SAMPLE_RATE
        if listed is not None and abs(real - listed) > DURATION_TOLERANCE_S:
            raise SitoolError(f"{self.path / 'utt2dur'}: {utt}: utt2dur says {listed:.3f} s but "
                              f"the audio lasts {real:.3f} s (a file shorter than its header "
                              f"claims, or a stale utt2dur); fix the data dir (sitool "
                              f"validate-data {self.path})")

    def audio(self, utt: str) -> np.ndarray:
        """The utterance's audio at 16 kHz mono float32 (noisy sets: materialised mixture)."""
        if utt in self.mix:
            return materialise(self.mix[utt], self.path / "mix.tsv")
        if utt not in self.wav_scp:
            raise SitoolError(f"{self.path / 'wav.scp'}: no entry for utterance {utt!r}")
        return load_audio(self.wav_scp[utt], SAMPLE_RATE)

    def num_samples(self, utt: str) -> int:
        """How many samples ``audio(utt)`` holds, from a file header (no audio decoded; a
        noisy set's mixture is as long as its clean audio): the length that fixes the
        utterance's output frames when its SSL features come from the cache."""
        if utt in self.mix:
            return audio_samples(self.mix[utt].clean_path, SAMPLE_RATE)
        if utt not in self.wav_scp:
            raise SitoolError(f"{self.path / 'wav.scp'}: no entry for utterance {utt!r}")
        return audio_samples(self.wav_scp[utt], SAMPLE_RATE)

    def clean_speech(self, utt: str) -> np.ndarray:
        """The clean speech as it is inside ``audio(utt)``: ``scale * clean`` for a noisy set's
        row (the enhancement reference), the audio itself for a clean set."""
        if utt in self.mix:
            return materialise_components(self.mix[utt], self.path / "mix.tsv")[0]
        return self.audio(utt)

    def target_array(self, utt: str) -> np.ndarray:
        """The utterance's un-normalised targets, float32 ``[frames, n_targets]``."""
        if utt not in self.tv_scp:
            raise SitoolError(f"{self.path / 'tv.scp'}: no entry for utterance {utt!r}")
        return load_target_file(self.tv_scp[utt], self.targets)

    def condition(self, utt: str) -> Condition:
        row = self.mix.get(utt)
        if row is None:
            return CLEAN_CONDITION
        return Condition(row.category, row.noise_type, float(row.snr_db))


def target_length_problem(npy: str | os.PathLike, frames: int, frame_rate: float,
                          audio_dur: float) -> str | None:
    """The problem when a target track of ``frames`` frames does not last as long as the
    audio (tolerance FRAME_TOLERANCE_S + one frame), else None."""
    target_dur = frames / frame_rate
    if abs(target_dur - audio_dur) <= FRAME_TOLERANCE_S + 1 / frame_rate:
        return None
    return (f"{npy}: {frames} frames at {frame_rate:g} Hz = {target_dur:.3f} s but the audio "
            f"lasts {audio_dur:.3f} s (tolerance {FRAME_TOLERANCE_S * 1000:.0f} ms + 1 frame)")


def load_target_file(path: str | os.PathLike, info: TargetInfo | None = None) -> np.ndarray:
    """Load one target .npy; checks it is 2-D float with the expected columns."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: target file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SitoolError(f"{path}: unreadable .npy ({e})") from None
    if array.ndim != 2:
        raise SitoolError(f"{path}: targets must be 2-D [frames, n_targets], got shape {array.shape}")
    if info is not None and array.shape[1] != len(info.names):
        raise SitoolError(
            f"{path}: {array.shape[1]} target columns but the targets file names "
            f"{len(info.names)} ({', '.join(info.names)})"
        )
    return array.astype(np.float32, copy=False)


def read_ctm(path: str | os.PathLike) -> dict[str, list[PhoneSegment]]:
    """Read a CTM file (``utt channel start dur label``) into time-ordered segments per utt."""
    out: dict[str, list[PhoneSegment]] = {}
    for lineno, line in enumerate(text_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise SitoolError(f"{path}:{lineno}: expected 'utt channel start dur phone'")
        utt, _, start, dur, phone = parts[:5]
        start_s, dur_s = float(start), float(dur)
        out.setdefault(utt, []).append(PhoneSegment(start_s, start_s + dur_s, phone))
    for segments in out.values():
        segments.sort(key=lambda s: s.start)
    return out


def format_ctm(phones: Mapping[str, Iterable[PhoneSegment]]) -> str:
    lines = []
    for utt in sorted(phones):
        for seg in phones[utt]:
            lines.append(f"{utt} 1 {seg.start:.4f} {seg.end - seg.start:.4f} {seg.phone}\n")
    return "".join(lines)


def spk2utt_table(utt2spk: Mapping[str, str]) -> dict[str, str]:
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in spk2utt.items()}


def write_data_dir(
    path: str | os.PathLike,
    *,
    utt2spk: Mapping[str, str],
    utt2dur: Mapping[str, float],
    wav_scp: Mapping[str, str] | None = None,
    tv_scp: Mapping[str, str] | None = None,
    targets: TargetInfo | None = None,
    text: Mapping[str, str] | None = None,
    phones: Mapping[str, Iterable[PhoneSegment]] | None = None,
    extra_files: Mapping[str, str] | None = None,
) -> Path:
    """Write a complete data dir in one atomic step (temp dir, then rename).

    All tables are sorted by key and must cover exactly the utterances of ``utt2spk``.
    ``extra_files`` maps file names to text written verbatim (e.g. ``mix.tsv``).
    """
    path = Path(path)
    utts = set(utt2spk)
    tables = {"utt2dur": utt2dur, "wav.scp": wav_scp, "tv.scp": tv_scp, "text": text}
    for filename, table in tables.items():
        if table is not None and set(table) != utts:
            extra = sorted(set(table) - utts)[:3]
            missing = sorted(utts - set(table))[:3]
            raise SitoolError(
                f"{path / filename}: keys disagree with utt2spk (extra: {extra}, missing: {missing})"
            )
    with atomic_path(path) as tmp:
        tmp.mkdir()
        (tmp / "utt2spk").write_text(format_table(utt2spk))
        (tmp / "spk2utt").write_text(format_table(spk2utt_table(utt2spk)))
        (tmp / "utt2dur").write_text(format_table({u: f"{d:.4f}" for u, d in utt2dur.items()}))
        for filename in ("wav.scp", "tv.scp", "text"):
            table = tables[filename]
            if table is not None:
                (tmp / filename).write_text(format_table(table))
        if targets is not None:
            targets.write(tmp / "targets")
        if phones is not None:
            (tmp / "phones.ctm").write_text(format_ctm(phones))
        for filename, content in (extra_files or {}).items():
            (tmp / filename).write_text(content)
    return path
