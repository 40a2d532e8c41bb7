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
- ``<name>_enhanced.wav``  16 kHz enhanced speech (32-bit float WAV: nothing clips), when
  the model has an SE head;
- ``<name>.gif``  with ``animate``: the TVs driving a mid-sagittal schematic, time cursor;
- ``<name>_phones.tsv``  with ``align``: per phone interval and target, mean/min/max/midpoint;
- ``<name>.json``  the sidecar: model id and hash, targets (and how they were de-normalised),
  input and its processing, SNR estimate (``sitool.invert_outputs``, which also writes
  ``--format mat``).

A model trained with ``data.normalise: speaker`` predicts speaker-centred targets: ``speaker``
(``--speaker ID``, a training speaker) adds that speaker's mean back; without it, the global
offset (the training speakers' mean origin) is added and the sidecar says so.

An SE-only model (no SI head) writes only the enhanced audio.

The level of each input is checked (``sitool.audio.level_warnings``): samples beyond full
scale, clipping, silence are each a logged WARNING and an entry of the sidecar's
``warnings``. Input beyond full scale (a float file peaking above 1.0) is scaled to peak 1.0
before it reaches the model, which never saw louder audio in training (its SE head reads
log-magnitudes, which are not level-invariant), and the enhanced audio is scaled back; the
sidecar's ``input.processing`` says so.

A file that cannot be read (or is too short) does not stop the others: each gets one line,
every other file is inverted, and the run then fails with the count (:class:`InvertFailures`;
a single input fails with its own line).

Finished outputs are reused unless ``overwrite``.
"""

from __future__ import annotations

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
from sitool.invert_outputs import DEFAULT_FORMATS, targets_csv  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


class InvertFailures(SitoolError):
    """Some inputs could not be inverted (each was logged); ``results`` holds the outputs of
    the others, which were written."""

    def __init__(self, message: str, results: list["InvertOutputs"]):
        super().__init__(message)
        self.results = results


@dataclass
class LoadedAudio:
    """An input as the model gets it: 16 kHz mono ``signal`` (as in the file, not scaled),
    the level ``warnings`` and the ``gain`` applied before the model (1/peak when the input
    exceeds full scale, else 1)."""

    signal: np.ndarray
    warnings: list[str]
    gain: float = 1.0

    @property
    def processing(self) -> list[str]:
        if self.gain == 1.0:
            return []
        return [f"scaled by {self.gain:.6g} to peak 1.0 before the model (the input exceeds "
                f"full scale); enhanced audio scaled back by {1 / self.gain:.6g}"]


@dataclass
class InvertOutputs:
    """The files written (or reused) for one input recording (None: not made by this model)."""

    audio: Path
    npy: Path | None
    csv: Path | None
    png: Path | None
    enhanced: Path | None
    mat: Path | None = None
    sidecar: Path | None = None       # <name>.json, see sitool.invert_outputs
    phones: Path | None = None        # <name>_phones.tsv with --align, see sitool.alignment
    gif: Path | None = None           # <name>.gif with animate, see sitool.animation

    def all(self) -> list[Path]:
        return [p for p in (self.npy, self.csv, self.mat, self.png, self.gif, self.enhanced,
                            self.phones, self.sidecar) if p is not None]

    def target_files(self) -> dict[str, Path]:
        return {fmt: p for fmt, p in (("npy", self.npy), ("csv", self.csv), ("mat", self.mat))
                if p is not None}


def output_paths(audio: Path, out_dir: Path, plot: bool, has_si: bool, has_se: bool,
                 formats=DEFAULT_FORMATS) -> InvertOutputs:
    stem = audio.stem
    return InvertOutputs(audio=audio,
                         npy=out_dir / f"{stem}.npy" if has_si and "npy" in formats else None,
                         csv=out_dir / f"{stem}.csv" if has_si and "csv" in formats else None,
                         png=out_dir / f"{stem}.png" if plot and has_si else None,
                         enhanced=out_dir / f"{stem}_enhanced.wav" if has_se else None,
                         mat=out_dir / f"{stem}.mat" if has_si and "mat" in formats else None,
                         sidecar=out_dir / f"{stem}.json")


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
                   title: str, phones=()) -> Path:
    """Spectrogram of the input and one panel per predicted target (phone intervals shaded)."""
    from sitool.plotting import plot_tracks

    tracks = {"predicted": {n: targets[:, i] for i, n in enumerate(info.names)}}
    return plot_tracks(signal, tracks, info.names, info.units, info.frame_rate, out, title=title,
                       phones=phones)


def invert_files(audio_paths: Sequence[str | os.PathLike], model_dir: str | os.PathLike,
                 out_dir: str | os.PathLike, plot: bool = False, checkpoint: str = "best",
                 device: str = "cpu", overwrite: bool = False,
                 formats=DEFAULT_FORMATS, align: str | os.PathLike | None = None,
                 animate: bool = False, chunk_seconds: float | None = None,
                 overlap_seconds: float | None = None,
                 precision: str | None = None, speaker: str | None = None) -> list[InvertOutputs]:
    """Invert every recording (files, dirs, list files) with the model of ``model_dir`` (an
    experiment or exported dir, or a Hub id); returns what was written per file, in input
    order. ``align``: a TextGrid, CTM or dir of them, for per-phone summaries
    (``<name>_phones.tsv``) and phone shading in the plot. ``animate``: ``<name>.gif``, a
    mid-sagittal schematic driven by the predicted TVs. ``chunk_seconds``/``overlap_seconds``:
    the chunk window of long files (None: ``sitool.inference`` defaults; 0: whole files).
    ``precision``: None = the model's config (``sitool.precision``). ``speaker``: a training
    speaker of a ``data.normalise: speaker`` model, whose statistics de-normalise the outputs
    (None: the global offset, stated in the sidecar)."""
    from sitool import invert_outputs
    from sitool.export import resolve_model
    from sitool.inference import DEFAULT_CHUNK_SECONDS, DEFAULT_OVERLAP_SECONDS, load_inverter

    model_name, model_dir = model_dir, resolve_model(model_dir)
    formats = invert_outputs.parse_formats(formats)
    paths = check_inputs(list_inputs(audio_paths), model_dir)
    extras = invert_outputs.Extras(align, animate, out_dir, single=len(paths) == 1)
    out_dir = check_out_dir(out_dir)

    inverter = load_inverter(
        model_dir, checkpoint=checkpoint, device=device, progress=True, precision=precision,
        speaker=speaker,
        chunk_seconds=DEFAULT_CHUNK_SECONDS if chunk_seconds is None else chunk_seconds,
        overlap_seconds=DEFAULT_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds)
    info = inverter.target_info
    results, reused, failed = [], 0, []
    if info is None and plot:
        log.info("%s has no SI head (SE only): no targets, so no plot", model_dir)
    planned = []
    normalisation = invert_outputs.describe_normalisation(inverter)
    per_speaker = normalisation is not None and normalisation["kind"] == "speaker"
    for path in paths:
        outputs = output_paths(path, out_dir, plot, info is not None, inverter.has_se, formats)
        phones = extras.plan(outputs, info is not None)      # --align, --animate outputs
        todo = overwrite or not all(p.is_file() for p in outputs.all())
        if not todo and per_speaker:      # outputs of another --speaker are redone
            todo = invert_outputs.sidecar_normalisation(outputs.sidecar) != normalisation
        planned.append((path, outputs, phones, todo))
    batched = _batched_results([path for path, _, _, todo in planned if todo], inverter)
    for path, outputs, phones, todo in tqdm(planned, desc="invert", unit="file",
                                            disable=len(paths) < 2):
        if not todo:
            reused += 1
            results.append(outputs)
            continue
        loaded, result, error = next(batched)
        if error is not None:
            if len(paths) == 1:
                raise SitoolError(error)
            log.error("%s", error)
            failed.append(path)
            continue
        signal = loaded.signal
        for warning in loaded.warnings:
            log.warning("%s: %s", path, warning)
        if info is not None:
            targets = np.asarray(result.targets, dtype=np.float32)
            if targets.ndim != 2 or targets.shape[1] != len(info.names):
                raise SitoolError(f"{model_dir}: model returned targets of shape {targets.shape}, "
                                  f"expected [frames, {len(info.names)}]")
            invert_outputs.write_targets(outputs.target_files(), targets, info)
            if outputs.png is not None:
                plot_inversion(signal, targets, info, outputs.png,
                               title=f"{path.name}: predicted by {Path(model_dir).name}",
                               phones=phones or ())
            extras.write(outputs, signal, targets, info, phones)
            log.info("%s: %d frames at %g Hz -> %s", path, len(targets), info.frame_rate,
                     ", ".join(p.name for p in outputs.target_files().values()))
        if outputs.enhanced is not None:
            if result.enhanced is None:
                raise SitoolError(f"{model_dir}: the model has an SE head but returned no audio")
        enhanced = None
        if outputs.enhanced is not None:
            if result.enhanced is None:
                raise SitoolError(f"{model_dir}: the model has an SE head but returned no audio")
            enhanced = np.asarray(result.enhanced, dtype=np.float32) / np.float32(loaded.gain)
            write_audio(outputs.enhanced, enhanced, SAMPLE_RATE, subtype="FLOAT")
        invert_outputs.write_sidecar(outputs, inverter, model_name, signal, enhanced,
                                     info, targets if info is not None else None,
                                     warnings=loaded.warnings, processing=loaded.processing)
        results.append(outputs)
    extras.report(len(paths))
    if reused:
        log.info("%d of %d file(s) already inverted in %s, reused (--overwrite redoes them)",
                 reused, len(paths), out_dir)
    if failed:
        raise InvertFailures(f"{len(failed)} of {len(paths)} file(s) could not be inverted "
                             f"(each named above, e.g. {failed[0]}); the other "
                             f"{len(paths) - len(failed)} were written to {out_dir}. Fix or "
                             "remove them and rerun (finished files are reused)", results)
    return results


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` and check that files can be written there, before any work."""
    import tempfile

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise SitoolError(f"{out_dir}: cannot write the outputs there ({e.strerror or e}); "
                          "choose another --out or fix its permissions") from None
    return out_dir


def _load_signal(path: Path) -> LoadedAudio:
    warnings: list[str] = []
    signal = load_audio(path, SAMPLE_RATE, downmix=True, note=True, warnings=warnings)
    if signal.size < MIN_SSL_SAMPLES:
        raise SitoolError(f"{path}: {signal.size / SAMPLE_RATE * 1000:.1f} ms of audio; at "
                          f"least {MIN_SSL_SAMPLES / SAMPLE_RATE * 1000:.0f} ms are needed "
                          "(remove the file or give a longer recording)")
    peak = float(np.max(np.abs(signal)))
    return LoadedAudio(signal, warnings, 1.0 / peak if peak > 1.0 else 1.0)


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


def _batched_results(paths: Sequence[Path], inverter
                     ) -> Iterator[tuple[LoadedAudio | None, object, str | None]]:
    """(LoadedAudio, InversionResult, None) per path, in order, or (None, None, error line)
    for a file that cannot be read; files are loaded and run a batch at a time."""
    window = inverter.window / SAMPLE_RATE
    index = {path: i for i, path in enumerate(paths)}
    failed: dict[int, str] = {}
    readable = []
    for i, path in enumerate(paths):
        try:
            audio_info(path)
            readable.append(path)
        except SitoolError as e:
            failed[i] = str(e)
    done = 0
    for group in file_batches(readable, inverter.batch_seconds, window):
        loaded = []
        for path in group:
            try:
                loaded.append((path, _load_signal(path)))
            except SitoolError as e:
                failed[index[path]] = str(e)
        results = inverter.invert_batch([a.signal * np.float32(a.gain) for _, a in loaded],
                                        [p.name for p, _ in loaded]) if loaded else []
        ready = {index[p]: (a, r) for (p, a), r in zip(loaded, results)}
        last = index[group[-1]]
        while done <= last:
            yield (*ready[done], None) if done in ready else (None, None, failed[done])
            done += 1
    while done < len(paths):
        yield None, None, failed[done]
        done += 1
