"""``sitool validate-data``: check a data dir against the contract, one line per problem."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sitool.audio import MIN_SSL_SAMPLES, SAMPLE_RATE, audio_info
from sitool.datadir import (DURATION_TOLERANCE_S, DataDir, TargetInfo, load_target_file,
                            target_length_problem)
from sitool.errors import SitoolError
from sitool.io import read_table

log = logging.getLogger(__name__)

REQUIRED = ("utt2spk", "utt2dur")
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
        table = read_table(path)
    except SitoolError as e:
        problems.append(str(e))
        return None
    problems.extend(_check_sorted(path))
    return table


def validate_data_dir(path: str | os.PathLike, check_audio: bool = True,
                      progress: bool = True) -> list[str]:
    """Return every contract violation found in the data dir at ``path`` (empty when valid).

    Checks: required files exist; every table is sorted with the same keys as utt2spk;
    spk2utt agrees with utt2spk; audio (a noisy set: each mixture, as long as its clean
    audio) is readable, mono and lasts as long as utt2dur says, and no utterance is shorter
    than the SSL receptive field (MIN_SSL_SAMPLES); targets file is well formed; each target
    array has the named columns, finite values and a duration within FRAME_TOLERANCE_S of the
    audio. ``check_audio=False`` reads no audio (durations then come from utt2dur) but still
    checks that the files of mix.tsv rows exist.
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
    if has_mix:
        try:
            mix = data.mix
        except SitoolError as e:
            problems.append(str(e))
        else:
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
    for utt in tqdm(sorted(utts), desc=f"validate {path.name}", disable=not progress,
                    leave=False):
        audio_dur = durations.get(utt)
        if check_audio and utt in wav_scp:
            audio_dur = _check_audio(wav_scp[utt], utt, durations.get(utt), problems)
        elif utt in mix:
            missing = _check_mix_row(mix[utt], found)
            problems.extend(missing)
            if check_audio and not missing:
                audio_dur = _check_mixture_length(mix[utt], durations.get(utt), clean_lengths,
                                                  problems)
        if audio_dur is not None and audio_dur * SAMPLE_RATE < MIN_SSL_SAMPLES:
            problems.append(f"{utt}: lasts {audio_dur * 1000:.1f} ms, shorter than the SSL "
                            f"receptive field ({MIN_SSL_SAMPLES} samples = "
                            f"{MIN_SSL_SAMPLES / SAMPLE_RATE * 1000:.0f} ms at 16 kHz); "
                            "drop it from the data dir")
        if utt in tv_scp:
            _check_targets(tv_scp[utt], utt, info, audio_dur, problems)
    problems.extend(_check_alignments(path, data, durations))
    return problems


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
                   problems: list[str]) -> None:
    try:
        array = load_target_file(npy, info)
    except SitoolError as e:
        problems.append(f"{utt}: {e}")
        return
    if not np.all(np.isfinite(array)):
        bad_rows, bad_cols = np.nonzero(~np.isfinite(array))
        name = info.names[bad_cols[0]] if info else f"column {bad_cols[0]}"
        problems.append(f"{utt}: {npy}: {len(bad_rows)} non-finite value(s) (NaN/Inf), first in "
                        f"{name} at frame {bad_rows[0]}")
    if info is not None and audio_dur is not None:
        problem = target_length_problem(npy, array.shape[0], info.frame_rate, audio_dur)
        if problem:
            problems.append(f"{utt}: {problem}")
