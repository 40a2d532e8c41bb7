"""``sitool invert``: tract variables (and enhanced audio) for new recordings with a trained model.

Inputs are audio files, directories (every audio file directly inside, sorted) and list files
(``.txt``/``.list``/``.lst``: one audio path per line, relative to the list's dir; blank and
``#`` lines skipped). Short files are inverted in batches; a file longer than the chunk window
runs in chunks (``sitool.inference``) with a progress bar.

For each input file ``<dir>/<name>.<ext>`` (anything soundfile reads; multichannel audio is
averaged to mono and other rates resampled to 16 kHz, each with a logged note) it writes to
the output dir:

- ``<name>.npy``  float32 ``[frames, n_targets]`` in the targets' units, at the model's rate
  (frame ``i`` is the state at ``t = i / frame_rate``);
- ``<name>.csv``  the same with a time column: header ``time [s],LA [mm],...``;
- ``<name>.png``  with ``plot``: spectrogram and one panel per target;
- ``<name>_enhanced.wav``  16 kHz enhanced speech, when the model has an SE head.

An SE-only model (no SI head) writes only the enhanced audio.

Finished outputs are reused unless ``overwrite``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from tqdm import tqdm

import soundfile as sf

from sitool.audio import MIN_SSL_SAMPLES, SAMPLE_RATE, audio_info, load_audio, write_audio
from sitool.datadir import TargetInfo
from sitool.errors import SitoolError
from sitool.io import atomic_save_npy, atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class InvertOutputs:
    """The files written (or reused) for one input recording (None: not made by this model)."""

    audio: Path
    npy: Path | None
    csv: Path | None
    png: Path | None
    enhanced: Path | None

    def all(self) -> list[Path]:
        return [p for p in (self.npy, self.csv, self.png, self.enhanced) if p is not None]


def output_paths(audio: Path, out_dir: Path, plot: bool, has_si: bool, has_se: bool) -> InvertOutputs:
    stem = audio.stem
    return InvertOutputs(audio=audio,
                         npy=out_dir / f"{stem}.npy" if has_si else None,
                         csv=out_dir / f"{stem}.csv" if has_si else None,
                         png=out_dir / f"{stem}.png" if plot and has_si else None,
                         enhanced=out_dir / f"{stem}_enhanced.wav" if has_se else None)


def targets_csv(targets: np.ndarray, info: TargetInfo) -> str:
    """CSV text: a ``time [s]`` column (``i / frame_rate``) and ``NAME [unit]`` columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time [s]"] + [f"{n} [{u}]" for n, u in zip(info.names, info.units)])
    for i, row in enumerate(targets):
        writer.writerow([f"{i / info.frame_rate:.4f}"] + [f"{v:.6g}" for v in row])
    return buffer.getvalue()


LIST_SUFFIXES = (".txt", ".list", ".lst")


def _audio_suffixes() -> set[str]:
    return {"." + ext.lower() for ext in sf.available_formats()} | {".mp3", ".opus"}


def list_inputs(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Audio paths of ``inputs``: files as given, a dir's audio files (sorted), a list file's
    lines. A dir without audio or a list naming a missing file fails with one line."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if p.is_file() and p.suffix.lower() in _audio_suffixes())
            if not found:
                raise SitoolError(f"{item}: no audio files in this dir (looked for "
                                  f"{', '.join(sorted(_audio_suffixes())[:6])}, ...)")
            paths.extend(found)
        elif item.suffix.lower() in LIST_SUFFIXES and item.is_file():
            for number, line in enumerate(item.read_text().splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                path = Path(line) if Path(line).is_absolute() else item.parent / line
                if not path.is_file():
                    raise SitoolError(f"{item}:{number}: {path}: audio file not found (paths "
                                      "are relative to the list file's dir)")
                paths.append(path)
        else:
            paths.append(item)
    return paths


def check_inputs(audio_paths: Sequence[str | os.PathLike], model_dir: str | os.PathLike) -> list[Path]:
    """Fail early, with one line, on a missing model dir, a missing file or clashing names."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SitoolError(f"{model_dir}: model dir not found; pass an experiment dir made by "
                          "sitool train (e.g. --model exp/train_joint)")
    if not audio_paths:
        raise SitoolError("invert: no audio files given")
    paths = [Path(p) for p in audio_paths]
    by_stem: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise SitoolError(f"{path}: audio file not found")
        if path.stem in by_stem:
            raise SitoolError(f"{path} and {by_stem[path.stem]}: same name, their outputs would "
                              "collide; invert them into different --out dirs")
        by_stem[path.stem] = path
    return paths


def plot_inversion(signal: np.ndarray, targets: np.ndarray, info: TargetInfo, out: Path,
                   title: str) -> Path:
    """Spectrogram of the input and one panel per predicted target."""
    from sitool.plotting import plot_tracks

    tracks = {"predicted": {n: targets[:, i] for i, n in enumerate(info.names)}}
    return plot_tracks(signal, tracks, info.names, info.units, info.frame_rate, out, title=title)


def invert_files(audio_paths: Sequence[str | os.PathLike], model_dir: str | os.PathLike,
                 out_dir: str | os.PathLike, plot: bool = False, checkpoint: str = "best",
                 device: str = "cpu", overwrite: bool = False, chunk_seconds: float | None = None,
                 overlap_seconds: float | None = None,
                 precision: str | None = None) -> list[InvertOutputs]:
    """Invert every recording (files, dirs, list files) with the model of ``model_dir``;
    returns what was written per file, in input order. ``chunk_seconds``/``overlap_seconds``:
    the chunk window of long files (None: ``sitool.inference`` defaults; 0: whole files).
    ``precision``: None = the model's config (``sitool.precision``)."""
    paths = check_inputs(list_inputs(audio_paths), model_dir)
    from sitool.inference import DEFAULT_CHUNK_SECONDS, DEFAULT_OVERLAP_SECONDS, load_inverter

    inverter = load_inverter(
        model_dir, checkpoint=checkpoint, device=device, progress=True, precision=precision,
        chunk_seconds=DEFAULT_CHUNK_SECONDS if chunk_seconds is None else chunk_seconds,
        overlap_seconds=DEFAULT_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds)
    info = inverter.target_info
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results, reused = [], 0
    if info is None and plot:
        log.info("%s has no SI head (SE only): no targets, so no plot", model_dir)
    todo = [p for p in paths if overwrite or not all(o.is_file() for o in output_paths(
        p, out_dir, plot, info is not None, inverter.has_se).all())]
    batched = _batched_results(todo, inverter)
    for path in tqdm(paths, desc="invert", unit="file", disable=len(paths) < 2):
        outputs = output_paths(path, out_dir, plot, info is not None, inverter.has_se)
        if not overwrite and all(p.is_file() for p in outputs.all()):
            reused += 1
            results.append(outputs)
            continue
        signal, result = next(batched)
        if info is not None:
            targets = np.asarray(result.targets, dtype=np.float32)
            if targets.ndim != 2 or targets.shape[1] != len(info.names):
                raise SitoolError(f"{model_dir}: model returned targets of shape {targets.shape}, "
                                  f"expected [frames, {len(info.names)}]")
            atomic_save_npy(outputs.npy, targets)
            atomic_write_text(outputs.csv, targets_csv(targets, info))
            if outputs.png is not None:
                plot_inversion(signal, targets, info, outputs.png,
                               title=f"{path.name}: predicted by {Path(model_dir).name}")
            log.info("%s: %d frames at %g Hz -> %s", path, len(targets), info.frame_rate,
                     outputs.npy)
        if outputs.enhanced is not None:
            if result.enhanced is None:
                raise SitoolError(f"{model_dir}: the model has an SE head but returned no audio")
            write_audio(outputs.enhanced, np.asarray(result.enhanced, dtype=np.float32), SAMPLE_RATE)
        results.append(outputs)
    if reused:
        log.info("%d of %d file(s) already inverted in %s, reused (--overwrite redoes them)",
                 reused, len(paths), out_dir)
    return results


def _load_signal(path: Path) -> np.ndarray:
    signal = load_audio(path, SAMPLE_RATE, downmix=True)
    if signal.size < MIN_SSL_SAMPLES:
        raise SitoolError(f"{path}: {signal.size / SAMPLE_RATE * 1000:.1f} ms of audio; at "
                          f"least {MIN_SSL_SAMPLES / SAMPLE_RATE * 1000:.0f} ms are needed "
                          "(remove the file or give a longer recording)")
    return signal


def file_batches(paths: Sequence[Path], batch_seconds: float, window_seconds: float,
                 max_files: int = 64) -> list[list[Path]]:
    """Consecutive files grouped up to ``batch_seconds`` of audio (``max_files`` at most); a
    file longer than ``window_seconds`` (when > 0) goes alone: it is chunked."""
    groups: list[list[Path]] = []
    seconds = 0.0
    for path in paths:
        info = audio_info(path)
        duration = info.frames / info.samplerate
        if window_seconds > 0 and duration > window_seconds:
            groups.append([path])
            seconds = float("inf")
        elif groups and seconds + duration <= batch_seconds and len(groups[-1]) < max_files:
            groups[-1].append(path)
            seconds += duration
        else:
            groups.append([path])
            seconds = duration
    return groups


def _batched_results(paths: Sequence[Path], inverter) -> Iterator[tuple[np.ndarray, object]]:
    """(signal, InversionResult) per path, in order; files are loaded and run a batch at a time."""
    window = inverter.window / SAMPLE_RATE
    for group in file_batches(paths, inverter.batch_seconds, window):
        signals = [_load_signal(path) for path in group]
        yield from zip(signals, inverter.invert_batch(signals, [p.name for p in group]))
