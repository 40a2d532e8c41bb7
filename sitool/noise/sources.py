"""Noise data dirs (``data/noise_{train,dev,test}/``) and the disjoint split that makes them.

A noise data dir is Kaldi-style; ``segments`` cuts recordings into noise entries::

    wav.scp         <recording> <audio path>
    segments        <noise_id> <recording> <start_s> <end_s>    (Kaldi segments format)
    noise2type      <noise_id> <type>            e.g. white, babble3, dkitchen
    noise2category  <noise_id> babble|non-babble
    noise2dur       <noise_id> <seconds>
    noise2talkers   <noise_id> <spk1>,<spk2>,...  babble made from known talkers (optional)

Without ``segments``, every ``wav.scp`` entry is one whole-file noise whose id is its key.

Splitting (``split_noise_files``) keeps train, dev and test disjoint: a noise type with at
least 3 files gets whole files per split (seeded shuffle, split by the fractions, at least
one file each); a type with 1 or 2 files has each file cut into three disjoint time ranges
(train first, then dev, then test; millisecond boundaries, so whole 16 kHz samples).
Files a reader pinned to a split (babble built from per-split talkers) stay whole in it.
Unreadable, silent or too short inputs are skipped with a logged count.

Noise is mixed at 16 kHz mono. ``prepare_noise_dirs`` writes a 16 kHz mono copy of every
file at another rate or with several channels (``resampled_copies``: float WAV, so a mixture
is bit-identical to one that resampled the original on load) under ``<out>/noise_audio/<name>/``
and points ``wav.scp`` at it, so training reads never resample noise; the ``segments`` time
ranges are the same in both.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from sitool.audio import SAMPLE_RATE, audio_duration, audio_info, load_audio, write_audio
from sitool.errors import SitoolError
from sitool.io import atomic_path, format_table, read_table
from sitool.locking import output_lock
from sitool.mixture import CATEGORIES, format_noise_path
from sitool.noise.seeds import rng_for
from sitool.noise.snr import SILENCE_POWER, noise_power

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)
MIN_SEGMENT_S = 0.5      # shorter files/ranges are skipped (longer ones loop if needed)
SAMPLES_PER_MS = SAMPLE_RATE // 1000

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def safe_id(text: str) -> str:
    """``text`` with every run of characters other than letters, digits and ``_.+-``
    replaced by ``_`` (ids go into Kaldi tables and utterance names)."""
    return _UNSAFE.sub("_", text).strip("_")


@dataclass(frozen=True)
class NoiseFile:
    """A noise recording found by a reader, before splitting."""

    recording: str
    path: str
    noise_type: str
    category: str
    split: str | None = None          # pinned split, or None to let the splitter decide
    talkers: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoiseSegment:
    """One entry of a noise data dir: a time range of a recording with its labels."""

    noise_id: str
    recording: str
    path: str
    start: float
    end: float
    noise_type: str
    category: str
    talkers: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def noise_path(self) -> str:
        """The ``mix.tsv`` noise_path: ``FILE#t=START,END``."""
        return format_noise_path(self.path, self.start, self.end)


def parse_fractions(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.6,0.2,0.2"`` -> (0.6, 0.2, 0.2), normalised to sum 1; all three must be > 0."""
    values = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    if len(values) != 3 or min(values) <= 0:
        raise SitoolError(f"--fractions must be three positive numbers train,dev,test; got {text!r}")
    total = sum(values)
    return tuple(v / total for v in values)  # type: ignore[return-value]


def _check_labels(f: NoiseFile) -> None:
    if f.category not in CATEGORIES:
        raise SitoolError(f"{f.path}: category {f.category!r} must be one of {', '.join(CATEGORIES)}")
    if f.split is not None and f.split not in SPLITS:
        raise SitoolError(f"{f.path}: split {f.split!r} must be one of {', '.join(SPLITS)}")
    if not f.noise_type or safe_id(f.noise_type) != f.noise_type:
        raise SitoolError(f"{f.path}: noise type {f.noise_type!r} must be non-empty and use only "
                          "letters, digits and _.+-")


def _load_checked(f: NoiseFile, skipped: Counter) -> np.ndarray | None:
    """The file at 16 kHz mono, or None (counted in ``skipped``) when unusable."""
    try:
        audio = load_audio(f.path, SAMPLE_RATE, downmix=True)
    except SitoolError as e:
        log.warning("skipping noise: %s", e)
        skipped["unreadable"] += 1
        return None
    if audio.size < MIN_SEGMENT_S * SAMPLE_RATE:
        log.warning("skipping noise %s: shorter than %.1f s", f.path, MIN_SEGMENT_S)
        skipped["too short"] += 1
        return None
    if _is_silent(audio):
        log.warning("skipping noise %s: silent", f.path)
        skipped["silent"] += 1
        return None
    return audio


def _is_silent(audio: np.ndarray) -> bool:
    return audio.size == 0 or noise_power(audio) < SILENCE_POWER


def _time_split(f: NoiseFile, audio: np.ndarray, fractions: tuple[float, float, float],
                skipped: Counter) -> dict[str, NoiseSegment]:
    """Cut one recording into disjoint train/dev/test ranges (millisecond boundaries)."""
    total_ms = audio.size // SAMPLES_PER_MS
    b1 = int(round(total_ms * fractions[0]))
    b2 = int(round(total_ms * (fractions[0] + fractions[1])))
    out = {}
    for split, (lo, hi) in zip(SPLITS, ((0, b1), (b1, b2), (b2, total_ms))):
        if (hi - lo) < MIN_SEGMENT_S * 1000:
            log.warning("skipping %s part of noise %s: %.3f s is shorter than %.1f s",
                        split, f.path, (hi - lo) / 1000, MIN_SEGMENT_S)
            skipped["range too short"] += 1
            continue
        if _is_silent(audio[lo * SAMPLES_PER_MS:hi * SAMPLES_PER_MS]):
            log.warning("skipping %s part of noise %s: silent", split, f.path)
            skipped["silent range"] += 1
            continue
        out[split] = NoiseSegment(f"{f.recording}-{split}", f.recording, f.path, lo / 1000,
                                  hi / 1000, f.noise_type, f.category, f.talkers)
    return out


def _whole(f: NoiseFile, num_samples: int) -> NoiseSegment:
    return NoiseSegment(f.recording, f.recording, f.path, 0.0,
                        (num_samples // SAMPLES_PER_MS) / 1000, f.noise_type, f.category, f.talkers)


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """How many of ``n >= 3`` items go to (train, dev, test): at least one each."""
    dev = max(1, int(round(n * fractions[1])))
    test = max(1, int(round(n * fractions[2])))
    return n - dev - test, dev, test


def _reload(f: NoiseFile) -> np.ndarray:
    return load_audio(f.path, SAMPLE_RATE, downmix=True)


def _split_type(group: Sequence[NoiseFile], load: Callable[[NoiseFile], np.ndarray | None],
                fractions: tuple[float, float, float], seed: int,
                skipped: Counter) -> list[tuple[str, NoiseSegment]]:
    """(split, segment) pairs for the files of one noise type: whole files when at least 3
    are usable, otherwise disjoint time ranges of each file."""
    if len(group) >= 3:
        usable = [(f, audio.size) for f in group if (audio := load(f)) is not None]
        if len(usable) >= 3:
            order = rng_for(seed, "noise-split", group[0].noise_type).permutation(len(usable))
            n_train, n_dev, _ = split_counts(len(usable), fractions)
            pairs = []
            for rank, i in enumerate(order):
                split = "train" if rank < n_train else "dev" if rank < n_train + n_dev else "test"
                pairs.append((split, _whole(*usable[i])))
            return pairs
        # too few usable files left: cut them in time instead
        group = [f for f, _ in usable]
        load = _reload
    pairs = []
    for f in group:
        audio = load(f)
        if audio is not None:
            pairs += _time_split(f, audio, fractions, skipped).items()
    return pairs


def split_noise_files(files: Sequence[NoiseFile],
                      fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
                      seed: int = 0, progress: bool = True) -> dict[str, list[NoiseSegment]]:
    """Assign ``files`` to disjoint train/dev/test noise segments (see the module docstring)."""
    if not files:
        raise SitoolError("no noise files to split")
    duplicates = [r for r, c in Counter(f.recording for f in files).items() if c > 1]
    if duplicates:
        raise SitoolError(f"duplicate noise recording id(s) {duplicates[:3]}; rename the files "
                          "or give each reader its own --name")
    for f in files:
        _check_labels(f)
    skipped: Counter = Counter()
    bar = tqdm(total=len(files), desc="check noise files", disable=not progress, leave=False)

    def load(f: NoiseFile) -> np.ndarray | None:
        bar.update()
        return _load_checked(f, skipped)

    out: dict[str, list[NoiseSegment]] = {s: [] for s in SPLITS}
    by_type: dict[str, list[NoiseFile]] = {}
    for f in sorted(files, key=lambda f: f.recording):
        if f.split is not None:  # pinned to a split by the reader
            audio = load(f)
            if audio is not None:
                out[f.split].append(_whole(f, audio.size))
        else:
            by_type.setdefault(f.noise_type, []).append(f)
    for noise_type in sorted(by_type):
        for split, segment in _split_type(by_type[noise_type], load, fractions, seed, skipped):
            out[split].append(segment)
    bar.close()
    if skipped:
        log.warning("noise files/ranges skipped: %s",
                    ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())))
    for split in SPLITS:
        if not out[split]:
            raise SitoolError(f"no usable noise left for the {split} split "
                              f"({sum(skipped.values())} input(s) skipped, see the log)")
        out[split].sort(key=lambda s: s.noise_id)
        log.info("noise %s: %d entries, %.1f s, types %s", split, len(out[split]),
                 sum(s.duration for s in out[split]),
                 ", ".join(sorted({s.noise_type for s in out[split]})))
    return out


def write_noise_dir(path: str | os.PathLike, segments: Iterable[NoiseSegment]) -> Path:
    """Write one noise data dir atomically (see the module docstring for the files)."""
    segments = list(segments)
    if not segments:
        raise SitoolError(f"{path}: no noise entries to write")
    ids = Counter(s.noise_id for s in segments)
    if max(ids.values()) > 1:
        raise SitoolError(f"{path}: duplicate noise ids {[i for i, c in ids.items() if c > 1][:3]}")
    wav_scp = {}
    for s in segments:
        if wav_scp.setdefault(s.recording, s.path) != s.path:
            raise SitoolError(f"{path}: recording {s.recording!r} has two paths")
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.mkdir()
        (tmp / "wav.scp").write_text(format_table(wav_scp))
        (tmp / "segments").write_text(format_table(
            {s.noise_id: f"{s.recording} {s.start:.3f} {s.end:.3f}" for s in segments}))
        (tmp / "noise2type").write_text(format_table({s.noise_id: s.noise_type for s in segments}))
        (tmp / "noise2category").write_text(
            format_table({s.noise_id: s.category for s in segments}))
        (tmp / "noise2dur").write_text(
            format_table({s.noise_id: f"{s.duration:.3f}" for s in segments}))
        talkers = {s.noise_id: ",".join(s.talkers) for s in segments if s.talkers}
        if talkers:
            (tmp / "noise2talkers").write_text(format_table(talkers))
    return path


def read_noise_dir(path: str | os.PathLike) -> list[NoiseSegment]:
    """Read a noise data dir into its entries, sorted by noise id; checks it is complete."""
    path = Path(path)
    if not path.is_dir():
        raise SitoolError(f"{path}: noise directory not found; it is written by "
                          "sitool prepare-noise")
    for name in ("wav.scp", "noise2type", "noise2category"):
        if not (path / name).is_file():
            raise SitoolError(f"{path / name}: missing; it is written by sitool prepare-noise")
    wav_scp = read_table(path / "wav.scp")
    if (path / "segments").is_file():
        ranges = {}
        for noise_id, value in read_table(path / "segments").items():
            parts = value.split()
            try:
                ranges[noise_id] = (parts[0], float(parts[1]), float(parts[2]))
            except (IndexError, ValueError):
                raise SitoolError(f"{path / 'segments'}: {noise_id}: expected "
                                  "'<noise_id> <recording> <start> <end>'") from None
    else:
        ranges = {rec: (rec, None, None) for rec in wav_scp}
    types = read_table(path / "noise2type")
    categories = read_table(path / "noise2category")
    talkers = read_table(path / "noise2talkers") if (path / "noise2talkers").is_file() else {}
    if not ranges:
        raise SitoolError(f"{path}: no noise entries (empty wav.scp/segments)")
    for name, table in (("noise2type", types), ("noise2category", categories)):
        missing = sorted(set(ranges) - set(table))
        if missing:
            raise SitoolError(f"{path / name}: no entry for noise {missing[0]!r} "
                              f"({len(missing)} missing)")
    segments = []
    for noise_id in sorted(ranges):
        recording, start, end = ranges[noise_id]
        if recording not in wav_scp:
            raise SitoolError(f"{path / 'segments'}: {noise_id}: recording {recording!r} "
                              "is not in wav.scp")
        audio_path = wav_scp[recording]
        if not Path(audio_path).is_file():
            raise SitoolError(f"{path / 'wav.scp'}: {recording}: audio {audio_path} not found")
        category = categories[noise_id]
        if category not in CATEGORIES:
            raise SitoolError(f"{path / 'noise2category'}: {noise_id}: {category!r} must be one "
                              f"of {', '.join(CATEGORIES)}")
        if start is None:
            start, end = 0.0, audio_duration(audio_path)
        if not end > start:
            raise SitoolError(f"{path / 'segments'}: {noise_id}: end {end} <= start {start}")
        spk = tuple(t for t in talkers.get(noise_id, "").split(",") if t)
        segments.append(NoiseSegment(noise_id, recording, audio_path, start, end,
                                     types[noise_id], category, spk))
    return segments


def noise_dir_paths(out: str | os.PathLike, name: str = "noise") -> dict[str, Path]:
    """``split -> <out>/<name>_<split>``."""
    return {split: Path(out) / f"{name}_{split}" for split in SPLITS}


def noise_audio_dir(out: str | os.PathLike, name: str = "noise") -> Path:
    """Where ``prepare_noise_dirs`` writes 16 kHz copies: ``<out>/noise_audio/<name>``."""
    return Path(out) / "noise_audio" / name


def _format(path: str | os.PathLike) -> str | None:
    """``"22050 Hz/1 ch"`` when ``path`` is not 16 kHz mono (every read would convert it)."""
    info = audio_info(path)
    if info.samplerate == SAMPLE_RATE and info.channels == 1:
        return None
    return f"{info.samplerate} Hz/{info.channels} ch"


def resampled_copies(split: dict[str, list[NoiseSegment]], audio_dir: str | os.PathLike,
                     overwrite: bool = False, progress: bool = True
                     ) -> dict[str, list[NoiseSegment]]:
    """``split`` with every recording that is not 16 kHz mono replaced by a 16 kHz mono copy
    ``<audio_dir>/<recording>.wav`` (float WAV: the samples ``load_audio`` would give; time
    ranges unchanged). A copy newer than its source is reused unless ``overwrite``."""
    audio_dir = Path(audio_dir)
    paths = {s.recording: s.path for segs in split.values() for s in segs}
    formats = {rec: _format(path) for rec, path in sorted(paths.items())}
    todo = {rec: paths[rec] for rec, fmt in formats.items() if fmt is not None}
    names = Counter(safe_id(rec) for rec in todo)
    if names and max(names.values()) > 1:
        raise SitoolError(f"noise recordings {[r for r in todo if names[safe_id(r)] > 1][:3]} "
                          "map to the same copy name; give the files distinct names")
    copies, reused = {}, 0
    for rec, path in tqdm(todo.items(), desc="16 kHz noise copies", disable=not progress,
                          leave=False):
        copy = audio_dir / f"{safe_id(rec)}.wav"
        if (not overwrite and copy.is_file()
                and copy.stat().st_mtime >= Path(path).stat().st_mtime):
            reused += 1
        else:
            write_audio(copy, load_audio(path, SAMPLE_RATE, downmix=True), SAMPLE_RATE,
                        subtype="FLOAT")
        copies[rec] = str(copy.resolve())
    if todo:
        rates = Counter(formats[rec] for rec in todo)
        log.info("noise: %d file(s) not at 16 kHz mono (%s): 16 kHz copies in %s (%d written, "
                 "%d reused), so mixing never resamples", len(todo),
                 ", ".join(f"{n} at {k}" for k, n in sorted(rates.items())), audio_dir,
                 len(todo) - reused, reused)
    return {key: [replace(s, path=copies.get(s.recording, s.path)) for s in segs]
            for key, segs in split.items()}


def prepare_noise_dirs(read_files: Callable[[], Sequence[NoiseFile]], out: str | os.PathLike,
                       name: str = "noise",
                       fractions: tuple[float, float, float] = DEFAULT_FRACTIONS, seed: int = 0,
                       overwrite: bool = False,
                       audio_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write ``<out>/<name>_{train,dev,test}`` from the files ``read_files()`` returns (called
    only when the dirs must be (re)made: existing dirs are reused unless ``overwrite``).
    Files not at 16 kHz mono are copied to ``audio_dir`` (default ``<out>/noise_audio/<name>``)
    at 16 kHz mono and the dirs point at the copies (``resampled_copies``)."""
    targets = noise_dir_paths(out, name)
    with output_lock(Path(out) / name):   # one writer of <out>/<name>_* (sitool.locking)
        if not overwrite and all((p / "noise2type").is_file() for p in targets.values()):
            log.info("%s: noise dirs exist, reusing them (--overwrite redoes them)",
                     ", ".join(str(p) for p in targets.values()))
            return targets
        split = split_noise_files(read_files(), fractions, seed)
        split = resampled_copies(split, audio_dir if audio_dir is not None
                                 else noise_audio_dir(out, name), overwrite)
        for key, target in targets.items():
            write_noise_dir(target, split[key])
            log.info("wrote %s (%d entries)", target, len(split[key]))
    return targets
