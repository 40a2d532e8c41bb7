"""``sitool mix``: clean data dir + noise data dir -> noisy data dir (``mix.tsv``).

Two designs:

* **grid** (``snrs``; test sets): every utterance x every noise type x every SNR. For one
  utterance and noise type the same noise entry and offset are used at every SNR, so the
  SNR curve of a model compares like with like. Utterance id
  ``<clean_utt>-<noise_type>-snr<+SS>`` (e.g. ``spk1_003-babble3-snr-05``, ``...-snr+20``).
* **draws** (``per_utt`` K, ``snr_range``; training): K mixtures per utterance, each with a
  noise type drawn uniformly over the available types, a noise entry of that type, an offset
  and an SNR uniform in the range (rounded to 0.01 dB). Utterance id ``<clean_utt>-mix<kk>``.

Every random choice for a row comes from a generator seeded by (global seed, utterance,
noise type or draw index) -- never by iteration order -- and that seed is the row's
``seed`` column. Rerunning gives a byte-identical ``mix.tsv``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml
from tqdm import tqdm

from sitool.audio import SAMPLE_RATE, audio_duration
from sitool.datadir import DURATION_TOLERANCE_S, DataDir, PhoneSegment, write_data_dir
from sitool.errors import SitoolError
from sitool.io import read_yaml
from sitool.locking import locks_output
from sitool.mixture import (CATEGORIES, MixRow, format_mix_tsv, load_clean, load_noise_range,
                            mix_signals, noise_segment, sidecar_path, write_mixture_wav,
                            written_mixture_problem)
from sitool.noise.seeds import derive_seed
from sitool.noise.snr import SILENCE_POWER, SpeechLevel, active_speech_level, mixture_gain, noise_power
from sitool.noise.sources import NoiseSegment, read_noise_dir

log = logging.getLogger(__name__)

PEAK_LIMIT = 0.99        # the mixture is scaled down when its peak would exceed this
OFFSET_TRIES = 10        # redraws of the noise offset when the chosen window is silent


def snr_label(snr_db: float) -> str:
    """``-5 -> 'snr-05'``, ``20 -> 'snr+20'``, ``2.5 -> 'snr+2.5'``."""
    return f"snr{snr_db:+03.0f}" if float(snr_db).is_integer() else f"snr{snr_db:+.1f}"


def noise_by_type(segments: Sequence[NoiseSegment],
                  types: Sequence[str] | None = None) -> dict[str, list[NoiseSegment]]:
    """Group noise entries by type, keeping only ``types`` (each a type or a category)."""
    groups: dict[str, list[NoiseSegment]] = {}
    for s in sorted(segments, key=lambda s: s.noise_id):
        groups.setdefault(s.noise_type, []).append(s)
    if not types:
        return groups
    keep = {}
    for wanted in types:
        matched = [t for t, g in groups.items() if t == wanted or
                   (wanted in CATEGORIES and g[0].category == wanted)]
        if not matched:
            raise SitoolError(f"--types: no noise of type or category {wanted!r}; available "
                              f"types: {', '.join(sorted(groups))}")
        for t in matched:
            keep[t] = groups[t]
    return dict(sorted(keep.items()))


def select_utts(data: DataDir, num_utts: int | None) -> list[str]:
    """The first ``num_utts`` utterances taken round-robin over speakers (sorted); all when None."""
    if num_utts is None or num_utts >= len(data.utts):
        return list(data.utts)
    if num_utts < 1:
        raise SitoolError(f"--num-utts must be >= 1, got {num_utts}")
    queues = [list(utts) for _, utts in sorted(data.spk2utt.items())]
    chosen: list[str] = []
    depth = 0
    while len(chosen) < num_utts:
        for queue in queues:
            if depth < len(queue) and len(chosen) < num_utts:
                chosen.append(queue[depth])
        depth += 1
    return sorted(chosen)


def check_talkers_not_speakers(noise: dict[str, list[NoiseSegment]], data: DataDir) -> None:
    """Babble talkers must never be target speakers of the data being mixed."""
    speakers = set(data.utt2spk.values())
    for segments in noise.values():
        for s in segments:
            shared = speakers.intersection(s.talkers)
            if shared:
                raise SitoolError(f"noise {s.noise_id} is babble of {', '.join(sorted(shared))}, "
                                  f"who are also target speakers in {data.path}; babble talkers "
                                  "must be held-out speakers")


@dataclass(frozen=True)
class _Clean:
    path: str
    audio: np.ndarray
    level: SpeechLevel


class RowMaker:
    """Makes ``MixRow``s for the utterances of one clean data dir (caches each utterance's
    audio and active speech level)."""

    def __init__(self, data: DataDir):
        self.data = data
        self._clean: dict[str, _Clean] = {}

    def clean(self, utt: str) -> _Clean:
        if utt not in self._clean:
            if utt not in self.data.wav_scp:
                raise SitoolError(f"{self.data.path / 'wav.scp'}: no entry for {utt!r}")
            path = self.data.wav_scp[utt]
            audio = load_clean(path)
            try:
                level = active_speech_level(audio, SAMPLE_RATE)
            except SitoolError:
                raise SitoolError(f"{path}: utterance {utt} is silent; remove it from "
                                  f"{self.data.path}") from None
            self._clean = {utt: _Clean(path, audio, level)}  # keep only the current one
        return self._clean[utt]

    def offset(self, rng: np.random.Generator, segment: NoiseSegment, num_samples: int) -> int:
        """A uniformly drawn start (samples) such that the window fits in the noise entry;
        0 when the entry is shorter than the utterance (it is then looped)."""
        length = load_noise_range(segment.noise_path).size
        return int(rng.integers(0, length - num_samples + 1)) if length > num_samples else 0

    def make(self, utt: str, clean_utt: str, segment: NoiseSegment, rng: np.random.Generator,
             snr_db: float, seed: int, offset: int | None = None) -> tuple[MixRow, int]:
        """The row mixing ``clean_utt`` with ``segment`` at ``snr_db``; returns it and the
        offset used (drawn with ``rng`` unless given; redrawn if the window is silent)."""
        clean = self.clean(clean_utt)
        n = clean.audio.size
        for _ in range(OFFSET_TRIES):
            if offset is None:
                offset = self.offset(rng, segment, n)
            noise = noise_segment(segment.noise_path, offset / SAMPLE_RATE, n)
            power = noise_power(noise)
            if power > SILENCE_POWER:
                break
            offset = None
        else:
            raise SitoolError(f"noise {segment.noise_id} ({segment.noise_path}) is silent over "
                              f"{OFFSET_TRIES} windows of {n / SAMPLE_RATE:.2f} s; remove it")
        gain = mixture_gain(clean.level.power, power, snr_db)
        peak = float(np.max(np.abs(mix_signals(clean.audio, noise, gain, 1.0))))
        scale = 1.0 if peak <= PEAK_LIMIT else PEAK_LIMIT / peak
        row = MixRow(utt=utt, clean_utt=clean_utt, noise_id=segment.noise_id,
                     noise_type=segment.noise_type, category=segment.category,
                     snr_db=float(snr_db), noise_path=segment.noise_path,
                     noise_offset_s=offset / SAMPLE_RATE, gain=float(gain), seed=seed,
                     clean_path=clean.path, scale=float(scale))
        return row, offset


def grid_rows(data: DataDir, noise: dict[str, list[NoiseSegment]], utts: Sequence[str],
              snrs: Sequence[float], seed: int, progress: bool = True) -> list[MixRow]:
    """Every utterance x noise type x SNR (same noise entry and offset across SNRs)."""
    maker = RowMaker(data)
    rows = []
    for utt in tqdm(utts, desc=f"mix grid {data.name}", disable=not progress, leave=False):
        for noise_type, segments in noise.items():
            row_seed = derive_seed(seed, "grid", utt, noise_type)
            rng = np.random.default_rng(row_seed)
            segment = segments[int(rng.integers(len(segments)))]
            offset = None
            for snr in snrs:
                row, offset = maker.make(f"{utt}-{noise_type}-{snr_label(snr)}", utt, segment,
                                         rng, snr, row_seed, offset)
                rows.append(row)
    return rows


def draw_rows(data: DataDir, noise: dict[str, list[NoiseSegment]], utts: Sequence[str],
              per_utt: int, snr_range: tuple[float, float], seed: int,
              progress: bool = True) -> list[MixRow]:
    """``per_utt`` random (noise type, entry, offset, SNR) draws per utterance."""
    if per_utt < 1:
        raise SitoolError(f"--per-utt must be >= 1, got {per_utt}")
    low, high = snr_range
    if not low <= high:
        raise SitoolError(f"--snr-range: low {low} is above high {high}")
    maker = RowMaker(data)
    types = sorted(noise)
    width = max(2, len(str(per_utt - 1)))
    rows = []
    for utt in tqdm(utts, desc=f"mix draws {data.name}", disable=not progress, leave=False):
        for k in range(per_utt):
            row_seed = derive_seed(seed, "draw", utt, k)
            rng = np.random.default_rng(row_seed)
            segments = noise[types[int(rng.integers(len(types)))]]
            segment = segments[int(rng.integers(len(segments)))]
            snr = round(float(rng.uniform(low, high)), 2)
            row, _ = maker.make(f"{utt}-mix{k:0{width}d}", utt, segment, rng, snr, row_seed)
            rows.append(row)
    return rows


def write_mixture_audio(rows: Sequence[MixRow], audio_dir: Path, overwrite: bool,
                        progress: bool = True) -> dict[str, str]:
    """Write each mixture as float32 WAV (bit-exact) with its sidecar record
    (``sitool.mixture.write_mixture_wav``). Existing files are kept unless ``overwrite``, once
    checked against their rows: one that holds another mixture (another seed, an edited
    file) is rewritten, and a warning counts them. Returns ``utt -> path``."""
    wav_scp = {}
    existing, rewritten = 0, []
    for row in tqdm(rows, desc="write mixtures", disable=not progress, leave=False):
        path = (audio_dir / f"{row.utt}.wav").resolve()
        if overwrite or not path.is_file():
            write_mixture_wav(row, path)
        else:
            existing += 1
            problem = written_mixture_problem(row, path)
            if problem is not None:
                rewritten.append(problem)
            if problem is not None or not sidecar_path(path).is_file():
                write_mixture_wav(row, path)    # the right audio, or its missing record
        wav_scp[row.utt] = str(path)
    if rewritten:
        log.warning("%d of %d existing mixture file(s) in %s held other mixtures than their "
                    "rows (e.g. %s); rewrote them", len(rewritten), existing, audio_dir,
                    rewritten[0].split("; ")[0])
    elif existing:
        log.info("reused %d existing mixture file(s) in %s (each checked against its row)",
                 existing, audio_dir)
    return wav_scp


def real_durations(src: DataDir, rows: Sequence[MixRow]) -> dict[str, float]:
    """``clean_utt -> seconds`` of the clean audio really in each file (a mixture lasts as
    long); a warning names the utterances whose utt2dur says otherwise."""
    durations: dict[str, float] = {}
    for row in rows:
        if row.clean_utt not in durations:
            durations[row.clean_utt] = audio_duration(row.clean_path)
    listed = src.utt2dur
    wrong = sorted(u for u, d in durations.items()
                   if abs(d - listed.get(u, d)) > DURATION_TOLERANCE_S)
    if wrong:
        log.warning("%s: %d utterance(s) last other than utt2dur says (e.g. %s: %.3f s, not "
                    "%.3f s); the noisy set gets the real durations. Check the clean set: "
                    "sitool validate-data %s", src.path, len(wrong), wrong[0],
                    durations[wrong[0]], listed[wrong[0]], src.path)
    return durations


def write_noisy_dir(src: DataDir, rows: Sequence[MixRow], out: str | os.PathLike,
                    wav_scp: dict[str, str] | None = None,
                    settings: dict | None = None) -> Path:
    """The noisy data dir: utt2spk/tv.scp/targets/text/phones.ctm of the clean utterances
    re-keyed to the noisy ids, utt2dur from the real audio, plus mix.tsv (and wav.scp when
    given)."""
    utt2spk = {r.utt: src.utt2spk[r.clean_utt] for r in rows}
    durations = real_durations(src, rows)
    utt2dur = {r.utt: durations[r.clean_utt] for r in rows}
    tv_scp = {r.utt: src.tv_scp[r.clean_utt] for r in rows} if src.tv_scp else None
    text = {r.utt: src.text[r.clean_utt] for r in rows} if src.text else None
    phones: dict[str, list[PhoneSegment]] | None = None
    if src.phones:
        phones = {r.utt: src.phones[r.clean_utt] for r in rows if r.clean_utt in src.phones}
    extra = {"mix.tsv": format_mix_tsv(rows)}
    if settings is not None:
        extra["mix.yaml"] = yaml.safe_dump(settings, sort_keys=False)
    return write_data_dir(out, utt2spk=utt2spk, utt2dur=utt2dur, wav_scp=wav_scp, tv_scp=tv_scp,
                          targets=src.targets if src.tv_scp else None, text=text, phones=phones,
                          extra_files=extra)


def check_reused_design(out: Path, *, seed: int, snrs: Sequence[float] | None,
                        per_utt: int | None, snr_range: tuple[float, float]) -> None:
    """An existing noisy set is reused only when its ``mix.yaml`` records the design asked for
    now (grid SNRs, or draws per utterance and SNR range, and seed); otherwise one line saying
    what differs. A set without ``mix.yaml`` (older sitool) is reused as it is."""
    if not (out / "mix.yaml").is_file():
        return
    made = read_yaml(out / "mix.yaml") or {}
    asked = {"design": "grid" if snrs is not None else "draws", "seed": seed,
             "snrs": [float(s) for s in snrs] if snrs is not None else None,
             "per_utt": per_utt,
             "snr_range": [float(v) for v in snr_range] if snrs is None else None}
    differ = [f"{k} {made.get(k)!r} -> {v!r}" for k, v in asked.items() if made.get(k) != v]
    if differ:
        raise SitoolError(f"{out}: exists, made with another design ({'; '.join(differ)}); "
                          f"rerun with --overwrite (run.sh: --overwrite true) to remake it, or "
                          f"write elsewhere")


@locks_output("out")
def mix_data_dir(src: str | os.PathLike, noise_dir: str | os.PathLike, out: str | os.PathLike, *,
                 seed: int, snrs: Sequence[float] | None = None, per_utt: int | None = None,
                 snr_range: tuple[float, float] = (-5.0, 20.0),
                 types: Sequence[str] | None = None, num_utts: int | None = None,
                 write_audio_files: bool = False, audio_dir: str | os.PathLike | None = None,
                 overwrite: bool = False, progress: bool = True) -> Path:
    """``sitool mix``: write the noisy data dir ``out`` (grid when ``snrs``, draws when
    ``per_utt``). An existing finished ``out`` is reused unless ``overwrite``."""
    out = Path(out)
    if (snrs is None) == (per_utt is None):
        raise SitoolError("sitool mix: give either --snrs (test grid) or --per-utt (random draws)")
    if (out / "mix.tsv").is_file() and (out / "utt2spk").is_file() and not overwrite:
        check_reused_design(out, seed=seed, snrs=snrs, per_utt=per_utt, snr_range=snr_range)
        log.info("%s exists, reusing it (--overwrite redoes it)", out)
        return out
    data = DataDir(src)
    if data.has("mix.tsv"):
        raise SitoolError(f"{data.path}: already a noisy set (has mix.tsv); mix a clean set")
    data.require("utt2spk", "utt2dur", "wav.scp")
    data.check_utterances()
    if write_audio_files:
        audio_dir = Path(audio_dir) if audio_dir else out.parent / f"{out.name}_audio"
        if audio_dir.resolve().is_relative_to(out.resolve()):
            raise SitoolError(f"--audio-dir {audio_dir} is inside {out}, which is replaced as a "
                              f"whole when it is written; put the audio beside it (default: "
                              f"{out.parent / (out.name + '_audio')})")
    noise = noise_by_type(read_noise_dir(noise_dir), types)
    check_talkers_not_speakers(noise, data)
    utts = select_utts(data, num_utts)
    if snrs is not None:
        rows = grid_rows(data, noise, utts, list(snrs), seed, progress)
    else:
        rows = draw_rows(data, noise, utts, per_utt, snr_range, seed, progress)
    if not rows:
        raise SitoolError(f"{data.path}: no mixtures to write (no utterances selected)")
    wav_scp = None
    if write_audio_files:
        wav_scp = write_mixture_audio(rows, audio_dir, overwrite, progress)
    settings = {
        "src": str(src), "noise": str(noise_dir), "seed": seed,
        "design": "grid" if snrs is not None else "draws",
        "snrs": [float(s) for s in snrs] if snrs is not None else None,
        "per_utt": per_utt, "snr_range": [float(v) for v in snr_range] if snrs is None else None,
        "types": sorted(noise), "num_utts": len(utts),
    }
    write_noisy_dir(data, rows, out, wav_scp, settings)
    log.info("wrote %s: %d mixtures of %d utterances, %d noise types", out, len(rows), len(utts),
             len(noise))
    return out
