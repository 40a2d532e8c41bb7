"""``sitool validate-data``: check a data dir against the contract, one line per problem.

Besides problems (contract violations), one warning is given for data that is valid but
would train badly: targets whose variance is mostly *between* speakers (speaker means far
apart, e.g. EMA sensor origins that differ per speaker) — :func:`speaker_offset_warning`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from sitool.audio import MIN_SSL_SAMPLES, SAMPLE_RATE, audio_info
from sitool.datadir import (DURATION_TOLERANCE_S, SINGLE_VALUE_TABLES, DataDir, TargetInfo,
                            load_target_file, target_length_problem)
from sitool.errors import SitoolError
from sitool.io import read_table
from sitool.mixture import (implied_snr_db, load_clean, mix_tsv_lines, noise_seconds,
                            offset_problem, snr_problem, written_mixture_problem)

log = logging.getLogger(__name__)

REQUIRED = ("utt2spk", "utt2dur")
# Warn when speaker means explain more than this share of a target's variance.
SPEAKER_SHARE_THRESHOLD = 0.5
KEYED_TABLES = ("wav.scp", "utt2dur", "tv.scp", "text")


def _check_sorted(path: Path) -> list[str]:
    keys = [line.split(maxsplit=1)[0] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for prev, key in zip(keys, keys[1:]):
        if key < prev:
            return [f"{path}: keys not sorted ({key!r} after {prev!r}); "
                    "sort with: LC_ALL=C sort -k1,1 -o FILE FILE"]
    return []


def _load_table(path: Path, problems: list[str]) -> dict[str, str] | None:
    try:
        table = read_table(path, SINGLE_VALUE_TABLES.get(path.name))
    except SitoolError as e:
        problems.append(str(e))
        return None
    problems.extend(_check_sorted(path))
    return table


def validate_data_dir(path: str | os.PathLike, check_audio: bool = True,
                      progress: bool = True, warnings: list[str] | None = None,
                      speaker_moments: dict[str, SpeakerMoments] | None = None) -> list[str]:
    """Return every contract violation found in the data dir at ``path`` (empty when valid).

    Checks: required files exist; every table is sorted with the same keys as utt2spk;
    spk2utt agrees with utt2spk; audio (a noisy set: each mixture, as long as its clean
    audio) is readable, mono and lasts as long as utt2dur says, and no utterance is shorter
    than the SSL receptive field (MIN_SSL_SAMPLES); a noisy set's written mixtures (wav.scp
    of ``sitool mix --write-audio``) hold the mixtures of their rows (each wav's ``.json``
    sidecar: the row and the digest of its samples); targets file is well formed; each target
    array has the named columns, finite values and a duration within FRAME_TOLERANCE_S of the
    audio. ``check_audio=False`` reads no audio (durations then come from utt2dur) but still
    checks that the files of mix.tsv rows exist. ``warnings``, when given, receives the
    warnings (:func:`speaker_offset_warning`), which are not problems; ``speaker_moments``,
    when given, receives the per-speaker target moments of this set (merged into what is
    there), for a warning over several sets (:func:`speaker_offset_warning`).
    """
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: data directory not found"]
    problems: list[str] = []
    data = DataDir(path)
    for filename in REQUIRED:
        if not (path / filename).is_file():
            problems.append(f"{path / filename}: missing (required by the data-dir contract)")
    has_mix = (path / "mix.tsv").is_file()
    if not (path / "wav.scp").is_file() and not has_mix:
        problems.append(f"{path / 'wav.scp'}: missing (a clean set needs wav.scp; "
                        "a noisy set needs mix.tsv)")
    if problems:
        return problems

    utt2spk = _load_table(path / "utt2spk", problems)
    if utt2spk is None:
        return problems
    utts = set(utt2spk)
    if not utts:
        problems.append(f"{path / 'utt2spk'}: no utterances (the file is empty)")
        return problems
    tables: dict[str, dict[str, str]] = {}
    for filename in KEYED_TABLES:
        if not (path / filename).is_file():
            continue
        table = _load_table(path / filename, problems)
        if table is None:
            continue
        tables[filename] = table
        if set(table) != utts:
            extra = sorted(set(table) - utts)
            missing = sorted(utts - set(table))
            if extra:
                problems.append(f"{path / filename}: {len(extra)} utterance(s) not in utt2spk, "
                                f"e.g. {extra[0]!r}")
            if missing:
                problems.append(f"{path / filename}: {len(missing)} utterance(s) of utt2spk "
                                f"missing, e.g. {missing[0]!r}")
    if (path / "spk2utt").is_file():
        spk2utt = _load_table(path / "spk2utt", problems)
        if spk2utt is not None:
            derived = {spk: " ".join(us) for spk, us in data.spk2utt.items()}
            if spk2utt != derived:
                problems.append(f"{path / 'spk2utt'}: disagrees with utt2spk; "
                                "regenerate it from utt2spk")
    else:
        problems.append(f"{path / 'spk2utt'}: missing (derive it from utt2spk)")

    info = None
    if (path / "tv.scp").is_file():
        if not (path / "targets").is_file():
            problems.append(f"{path / 'targets'}: missing (tv.scp needs the targets file)")
        else:
            try:
                info = TargetInfo.read(path / "targets")
            except SitoolError as e:
                problems.append(str(e))

    mix = {}
    row_lines: dict[str, int] = {}
    if has_mix:
        try:
            mix = data.mix
        except SitoolError as e:
            problems.append(str(e))
        else:
            row_lines = mix_tsv_lines(path / "mix.tsv")
            missing = sorted(utts - set(mix))
            if missing:
                problems.append(f"{path / 'mix.tsv'}: {len(missing)} utterance(s) of utt2spk "
                                f"have no row, e.g. {missing[0]!r}")

    durations: dict[str, float] = {}
    for utt, value in tables.get("utt2dur", {}).items():
        try:
            durations[utt] = float(value)
        except ValueError:
            problems.append(f"{path / 'utt2dur'}: {utt}: duration {value!r} is not a number")

    wav_scp = tables.get("wav.scp", {})
    tv_scp = tables.get("tv.scp", {})
    found: dict[str, bool] = {}
    clean_lengths: dict[str, float | None] = {}
    implied = _RowChecks(path / "mix.tsv", row_lines, check_audio)
    per_speaker: dict[str, SpeakerMoments] = {}      # target moments by speaker, each file once
    seen_targets: set[str] = set()
    for utt in tqdm(sorted(utts), desc=f"validate {path.name}", disable=not progress,
                    leave=False):
        audio_dur = durations.get(utt)
        if check_audio and utt in wav_scp:
            audio_dur = _check_audio(wav_scp[utt], utt, durations.get(utt), problems)
            if utt in mix and audio_dur is not None:   # written by sitool mix --write-audio
                written = written_mixture_problem(mix[utt], wav_scp[utt])
                if written:
                    problems.append(f"{utt}: {written}")
        elif utt in mix:
            missing = _check_mix_row(mix[utt], found)
            problems.extend(missing)
            if check_audio and not missing:
                audio_dur = _check_mixture_length(mix[utt], durations.get(utt), clean_lengths,
                                                  problems)
        if utt in mix and not _check_mix_row(mix[utt], found):
            problems.extend(implied.problems(mix[utt]))
        if audio_dur is not None and audio_dur * SAMPLE_RATE < MIN_SSL_SAMPLES:
            problems.append(f"{utt}: lasts {audio_dur * 1000:.1f} ms, shorter than the SSL "
                            f"receptive field ({MIN_SSL_SAMPLES} samples = "
                            f"{MIN_SSL_SAMPLES / SAMPLE_RATE * 1000:.0f} ms at 16 kHz); "
                            "drop it from the data dir")
        if utt in tv_scp:
            array = _check_targets(tv_scp[utt], utt, info, audio_dur, problems)
            if array is not None and tv_scp[utt] not in seen_targets:
                seen_targets.add(tv_scp[utt])
                per_speaker.setdefault(utt2spk[utt], SpeakerMoments()).add(array)
    problems.extend(_check_alignments(path, data, durations))
    if warnings is not None and info is not None:
        warning = speaker_offset_warning(str(path / "tv.scp"), info.names, per_speaker)
        if warning:
            warnings.append(warning)
    if speaker_moments is not None:
        for spk, moments in per_speaker.items():
            speaker_moments.setdefault(spk, SpeakerMoments()).merge(moments)
    return problems


class SpeakerMoments:
    """One speaker's frame count, per-column mean and sum of squared deviations, merged file by
    file (Chan et al.), so a corpus is summarised without holding its arrays."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | float = 0.0
        self.m2: np.ndarray | float = 0.0

    def add(self, array: np.ndarray) -> None:
        array = np.asarray(array, dtype=np.float64)
        if array.shape[0] == 0:
            return
        other = SpeakerMoments()
        other.count, other.mean = array.shape[0], array.mean(0)
        other.m2 = ((array - other.mean) ** 2).sum(0)
        self.merge(other)

    def merge(self, other: "SpeakerMoments") -> None:
        """Add the frames ``other`` summarises."""
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.m2 = self.m2 + other.m2 + delta ** 2 * (self.count * other.count / total)
        self.mean = self.mean + delta * (other.count / total)
        self.count = total


def speaker_shares(per_speaker: dict[str, SpeakerMoments]) -> np.ndarray | None:
    """Per target column, the share of the total variance (over every frame) explained by the
    speaker means: between-speaker sum of squares / total sum of squares (0 for a constant
    column). None with fewer than two speakers that have frames."""
    moments = [m for m in per_speaker.values() if m.count]
    if len(moments) < 2:
        return None
    count = sum(m.count for m in moments)
    grand = sum(m.count * m.mean for m in moments) / count
    between = sum(m.count * (m.mean - grand) ** 2 for m in moments)
    total = between + sum(m.m2 for m in moments)
    return np.where(total > 0, between / np.where(total > 0, total, 1.0), 0.0)


def speaker_offset_warning(where: str, names: Sequence[str],
                           per_speaker: dict[str, SpeakerMoments],
                           threshold: float = SPEAKER_SHARE_THRESHOLD) -> str | None:
    """One line, starting with ``where``, naming the target columns ``names`` whose variance is
    mostly between speakers (share above ``threshold``, two or more speakers), with the fix;
    None when there are none."""
    shares = speaker_shares(per_speaker)
    if shares is None or len(shares) != len(names):
        return None
    high = [(n, s) for n, s in zip(names, shares) if s > threshold]
    if not high:
        return None
    listed = ", ".join(f"{n} {s:.2f}" for n, s in high)
    return (f"{where}: speaker means explain more than {threshold:g} of the variance "
            f"of {len(high)} target(s) over {len(per_speaker)} speakers ({listed}): the "
            "speakers' offsets (e.g. sensor origins) would swamp the movement; train with "
            "data.normalise: speaker (docs/training.md)")


ALIGNMENT_SLACK_S = 0.01      # phones.ctm may end this much past the audio (rounding)


def _check_alignments(path: Path, data: DataDir, durations: dict[str, float]) -> list[str]:
    """phones.ctm: every utterance's alignment ends within its audio (utt2dur)."""
    if not (path / "phones.ctm").is_file():
        return []
    try:
        phones = data.phones
    except (SitoolError, ValueError) as e:
        return [f"{path / 'phones.ctm'}: unreadable ({e})"]
    problems = []
    for utt, segments in sorted(phones.items()):
        end = max((s.end for s in segments), default=0.0)
        if utt in durations and end > durations[utt] + ALIGNMENT_SLACK_S:
            problems.append(f"{path / 'phones.ctm'}: {utt}: alignment ends at {end:.3f} s but "
                            f"the audio lasts {durations[utt]:.3f} s (utt2dur); cut the "
                            "segments to the audio (sitool prepare does)")
    return problems


def _check_audio(wav: str, utt: str, listed_dur: float | None, problems: list[str]) -> float | None:
    try:
        header = audio_info(wav)
    except SitoolError as e:
        problems.append(f"{utt}: {e}")
        return None
    if header.frames == 0:
        problems.append(f"{utt}: {wav}: audio file is empty")
        return None
    if header.channels != 1:
        problems.append(f"{utt}: {wav}: {header.channels} channels, expected mono")
    duration = header.frames / header.samplerate  # libsndfile: what a WAV really holds
    if listed_dur is not None and abs(duration - listed_dur) > DURATION_TOLERANCE_S:
        problems.append(f"{utt}: utt2dur says {listed_dur:.3f} s but {wav} lasts {duration:.3f} s")
    return duration


def _check_mix_row(row, found: dict[str, bool]) -> list[str]:
    """The row's clean and noise files exist (``found`` caches the answer per file)."""
    problems = []
    for what, file in (("clean audio", row.clean_path), ("noise", row.noise_file)):
        if file not in found:
            found[file] = Path(file).is_file()
        if not found[file]:
            problems.append(f"{row.utt}: {what} {file} not found (mix.tsv)")
    return problems


class _RowChecks:
    """What a ``mix.tsv`` row implies, recomputed: its noise offset lies inside its noise
    (from the file header, also without ``check_audio``), and its gain gives its snr_db
    (``check_audio``: loads the audio). A problem names file:line and the utterance. Noise
    lengths and clean speech levels are measured once per file."""

    def __init__(self, mix_path: Path, lines: dict[str, int], check_audio: bool):
        self.mix_path, self.lines, self.check_audio = mix_path, lines, check_audio
        self.noise_lengths: dict[str, float | str] = {}
        self.speech_powers: dict[str, float | str] = {}

    def problems(self, row) -> list[str]:
        where = f"{self.mix_path}:{self.lines.get(row.utt, '?')}: {row.utt}"
        noise_s = self._measured(self.noise_lengths, row.noise_path,
                                 lambda: noise_seconds(row.noise_path))
        if isinstance(noise_s, str):
            return [f"{where}: {noise_s}"]
        problem = offset_problem(row, noise_s)
        if problem:
            return [f"{where}: {problem}; correct the row or remake the set with sitool mix "
                    "--overwrite"]
        if not self.check_audio:
            return []
        from sitool.noise.snr import active_speech_level   # scipy: only when audio is read

        power = self._measured(self.speech_powers, row.clean_path,
                               lambda: active_speech_level(load_clean(row.clean_path)).power)
        try:
            if isinstance(power, str):
                raise SitoolError(power)
            problem = snr_problem(row, implied_snr_db(row, power))
        except SitoolError as e:
            return [f"{where}: {e}"]
        return [f"{where}: {problem}; correct snr_db or gain, or remake the set with sitool "
                "mix --overwrite"] if problem else []

    @staticmethod
    def _measured(cache: dict, key: str, measure) -> float | str:
        """``measure()`` once per key; a ``SitoolError`` is kept as its message."""
        if key not in cache:
            try:
                cache[key] = measure()
            except SitoolError as e:
                cache[key] = str(e)
        return cache[key]


def _check_mixture_length(row, listed_dur: float | None, clean_lengths: dict[str, float | None],
                          problems: list[str]) -> float | None:
    """The mixture lasts as long as its clean audio really does; compare that with utt2dur."""
    if row.clean_path not in clean_lengths:
        try:
            header = audio_info(row.clean_path)
            clean_lengths[row.clean_path] = header.frames / header.samplerate
        except SitoolError as e:
            problems.append(f"{row.utt}: {e}")
            clean_lengths[row.clean_path] = None
    duration = clean_lengths[row.clean_path]
    if duration is not None and listed_dur is not None and \
            abs(duration - listed_dur) > DURATION_TOLERANCE_S:
        problems.append(f"{row.utt}: utt2dur says {listed_dur:.3f} s but the mixture lasts "
                        f"{duration:.3f} s (its clean audio {row.clean_path}); remake the set "
                        "with sitool mix --overwrite")
    return duration


def _check_targets(npy: str, utt: str, info: TargetInfo | None, audio_dur: float | None,
                   problems: list[str]) -> np.ndarray | None:
    """Check one target file; returns its array when it is readable and finite."""
    try:
        array = load_target_file(npy, info)
    except SitoolError as e:
        problems.append(f"{utt}: {e}")
        return None
    finite = bool(np.all(np.isfinite(array)))
    if not finite:
        bad_rows, bad_cols = np.nonzero(~np.isfinite(array))
        name = info.names[bad_cols[0]] if info else f"column {bad_cols[0]}"
        problems.append(f"{utt}: {npy}: {len(bad_rows)} non-finite value(s) (NaN/Inf), first in "
                        f"{name} at frame {bad_rows[0]}")
    if info is not None and audio_dur is not None:
        problem = target_length_problem(npy, array.shape[0], info.frame_rate, audio_dur)
        if problem:
            problems.append(f"{utt}: {problem}")
    return array if finite else None
