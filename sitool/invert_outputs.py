"""What ``sitool invert`` writes beside each recording's predictions: the target files in the
chosen formats, a JSON sidecar that makes them self-describing, and the optional ``--align``
and ``--animate`` outputs (:class:`Extras`).

Formats (``--format``, several allowed; default ``npy,csv``):

- ``npy``  float32 ``[frames, n_targets]`` in the targets' units;
- ``csv``  a ``time [s]`` column then ``NAME [unit]`` columns;
- ``mat``  MATLAB (v5, ``scipy.io.savemat``): ``targets`` ``[frames, n]`` (double), ``time``
  ``[frames, 1]`` seconds, ``names`` and ``units`` (cell arrays of strings), ``frame_rate``.

The sidecar ``<name>.json``: sitool version; the model (as given, its resolved dir, the sha256
of its weights file, model type, SSL model); the targets (names, units, frame rate, the time of
the first frame, frame count, precision, and how they were de-normalised: ``normalisation``,
see :func:`describe_normalisation`); the input file (original rate, channels, duration) and
what was done to it (downmix, resample, scaling of input beyond full scale); an estimate of
the input's SNR (method named); and ``warnings``: what is wrong with the input's level
(beyond full scale, clipped, silent; ``sitool.audio.level_warnings``), empty when nothing is.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool import __version__
from sitool.audio import SAMPLE_RATE, audio_info
from sitool.datadir import TargetInfo
from sitool.errors import SitoolError
from sitool.io import atomic_path, atomic_save_npy, atomic_write_text

log = logging.getLogger(__name__)

FORMATS = ("npy", "csv", "mat")
DEFAULT_FORMATS = ("npy", "csv")
SIDECAR_FORMAT = 1


def parse_formats(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """``["npy,csv", "mat"]`` → ``("npy", "csv", "mat")``; empty → the default (npy, csv)."""
    if values is None:
        return DEFAULT_FORMATS
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in FORMATS:
                raise SitoolError(f"--format {name}: unknown; choose from {', '.join(FORMATS)}")
            if name not in out:
                out.append(name)
    return tuple(out) or DEFAULT_FORMATS


def targets_csv(targets: np.ndarray, info: TargetInfo) -> str:
    """CSV text: a ``time [s]`` column (``i / frame_rate``) and ``NAME [unit]`` columns."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time [s]"] + [f"{n} [{u}]" for n, u in zip(info.names, info.units)])
    for i, row in enumerate(targets):
        writer.writerow([f"{i / info.frame_rate:.4f}"] + [f"{v:.6g}" for v in row])
    return buffer.getvalue()


def save_mat(path: str | os.PathLike, targets: np.ndarray, info: TargetInfo) -> None:
    """Targets as a MATLAB v5 file (see the module doc for the variables), atomically."""
    from scipy.io import savemat

    names = np.empty((1, len(info.names)), dtype=object)
    units = np.empty((1, len(info.units)), dtype=object)
    names[0, :] = list(info.names)
    units[0, :] = list(info.units)
    time = (np.arange(len(targets)) / info.frame_rate)[:, None]
    with atomic_path(path) as tmp:
        savemat(str(tmp), {"targets": targets.astype(np.float64), "time": time,
                           "names": names, "units": units,
                           "frame_rate": float(info.frame_rate)}, format="5",
                oned_as="column")


def target_paths(out_dir: Path, stem: str, formats: Sequence[str]) -> dict[str, Path]:
    return {fmt: out_dir / f"{stem}.{fmt}" for fmt in formats}


def write_targets(paths: dict[str, Path], targets: np.ndarray, info: TargetInfo) -> None:
    """Write ``targets`` in every format of ``paths`` (``{"npy": path, ...}``)."""
    for fmt, path in paths.items():
        if fmt == "npy":
            atomic_save_npy(path, targets)
        elif fmt == "csv":
            atomic_write_text(path, targets_csv(targets, info))
        elif fmt == "mat":
            save_mat(path, targets, info)
        else:
            raise SitoolError(f"unknown target format {fmt!r}")


# ----------------------------------------------------------------------------- sidecar

def estimate_snr(signal: np.ndarray, enhanced: np.ndarray | None = None) -> dict:
    """A blind estimate of the input's SNR in dB, and how it was made.

    With enhanced audio (models with an SE stage): speech power = the enhanced signal's, noise
    power = that of the residual ``input - enhanced``. Without: frame powers over 25 ms frames
    every 10 ms; the noise power is the mean of the quietest 10 % of frames (speech pauses),
    the speech power the mean over all frames minus it. Both are rough: the first inherits the
    SE model's errors, the second assumes pauses and stationary noise.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if enhanced is not None:
        n = min(len(signal), len(enhanced))
        speech = np.asarray(enhanced[:n], dtype=np.float64)
        noise = signal[:n] - speech
        p_s, p_n = float(np.mean(speech ** 2)), float(np.mean(noise ** 2))
        method = "SE model: power of the enhanced output over that of the residual"
    else:
        frame, hop = 400, 160
        if len(signal) < frame:
            return {"db": None, "method": "too short to estimate"}
        starts = range(0, len(signal) - frame + 1, hop)
        powers = np.sort([float(np.mean(signal[s:s + frame] ** 2)) for s in starts])
        quiet = powers[:max(1, len(powers) // 10)]
        p_n = float(np.mean(quiet))
        p_s = float(np.mean(powers)) - p_n
        method = "frame powers: quietest 10 % of 25 ms frames taken as noise"
    if p_n <= 0 or p_s <= 0:
        db = None if p_s <= 0 else math.inf
    else:
        db = round(10 * math.log10(p_s / p_n), 2)
    return {"db": db if db is None or math.isfinite(db) else "inf", "method": method}


def describe_input(path: Path, processing: Sequence[str] = ()) -> dict:
    """The input file as it was, and what loading did to it (to 16 kHz mono), then
    ``processing`` (what invert did on top)."""
    info = audio_info(path)
    done = []
    if info.channels > 1:
        done.append(f"downmixed {info.channels} channels to mono (mean)")
    if info.samplerate != SAMPLE_RATE:
        done.append(f"resampled {info.samplerate} Hz -> {SAMPLE_RATE} Hz (polyphase FIR, "
                    "scipy.signal.resample_poly)")
    done.extend(processing)
    return {"path": str(path.resolve()), "sample_rate": int(info.samplerate),
            "channels": int(info.channels), "duration_s": round(info.frames / info.samplerate, 6),
            "format": f"{info.format} {info.subtype}", "processing": done or ["none"]}


def describe_model(inverter, name: str | os.PathLike) -> dict:
    """The model part of the sidecar (the weights' sha256 is computed once per inverter).
    An inverter object that is not a loaded sitool model (no ``trained``) gets just its id."""
    from sitool.export import file_sha256

    trained = getattr(inverter, "trained", None)
    if trained is None:
        return {"id": str(name)}
    digest = getattr(inverter, "_weights_sha256", None)
    if digest is None:
        digest = file_sha256(trained.checkpoint)
        inverter._weights_sha256 = digest
    return {"id": str(name), "weights": str(trained.checkpoint.resolve()),
            "sha256": digest, "epoch": trained.epoch, "type": trained.config.model.type,
            "ssl_model": trained.config.model.ssl.model,
            "ssl_encoder": "frozen" if trained.config.model.ssl.freeze == "all" else "fine-tuned"}


def describe_normalisation(inverter) -> dict | None:
    """How the targets were de-normalised (None: not a loaded sitool model or no SI head).

    Global statistics: one line. Per-speaker statistics (``data.normalise: speaker``): the
    speaker whose mean was added back (``--speaker``), or, without one, the rule for a speaker
    unseen in training: the values are relative to the training speakers' mean origin."""
    trained = getattr(inverter, "trained", None)
    normaliser = getattr(trained, "normaliser", None)
    if normaliser is None:
        return None
    if normaliser.kind != "speaker":
        return {"kind": normaliser.kind,
                "note": "de-normalised with the training sets' per-target mean and std: "
                        "values in the targets' units"}
    known = sorted(normaliser.speaker_means)
    speaker = getattr(inverter, "speaker", None)
    if speaker is not None:
        note = (f"normalise: speaker; de-normalised with training speaker {speaker!r}'s own "
                "mean (its sensor origin) and the pooled std: positions in that speaker's "
                "coordinates")
    else:
        note = ("normalise: speaker; speaker unseen (no --speaker): values are the prediction "
                "plus the training speakers' mean origin (the mean of their per-speaker means); "
                "compare shapes, not absolute positions")
    return {"kind": "speaker", "speaker": speaker, "training_speakers": known, "note": note}


def sidecar(model: dict, audio: dict, info: TargetInfo | None, targets: np.ndarray | None,
            snr: dict, files: dict[str, Path], normalisation: dict | None = None,
            warnings: Sequence[str] = ()) -> dict:
    out = {"sidecar_format": SIDECAR_FORMAT, "sitool_version": __version__, "model": model,
           "input": audio, "input_snr_estimate_db": snr, "warnings": list(warnings)}
    if info is not None and targets is not None:
        out["targets"] = {"names": list(info.names), "units": list(info.units),
                          "descriptions": {n: info.descriptions[n] for n in info.names
                                           if n in info.descriptions},
                          "frame_rate": float(info.frame_rate), "first_frame_time_s": 0.0,
                          "frame_time": "frame i is the state at t = i / frame_rate",
                          "frames": int(len(targets)), "precision": str(targets.dtype)}
        if normalisation is not None:
            out["targets"]["normalisation"] = normalisation
    out["files"] = {k: p.name for k, p in files.items()}
    return out


def sidecar_normalisation(path: Path) -> dict | None:
    """The ``targets.normalisation`` entry of an existing sidecar (None: absent, unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("targets", {}).get("normalisation")
    except (OSError, ValueError, AttributeError):
        return None


def write_sidecar(outputs, inverter, model_name: str | os.PathLike, signal: np.ndarray,
                  enhanced: np.ndarray | None, info: TargetInfo | None,
                  targets: np.ndarray | None, warnings: Sequence[str] = (),
                  processing: Sequence[str] = ()) -> None:
    """Write ``outputs.sidecar`` for one inverted recording (``outputs``: InvertOutputs);
    ``signal`` and ``enhanced`` at the input's own level; ``warnings`` about its level;
    ``processing``: what was done to it beyond downmix and resampling."""
    files = {k: p for k, p in vars(outputs).items()
             if isinstance(p, Path) and k not in ("audio", "sidecar")}
    content = sidecar(describe_model(inverter, model_name),
                      describe_input(outputs.audio, processing), info,
                      targets, estimate_snr(signal, enhanced), files,
                      describe_normalisation(inverter), warnings)
    atomic_write_text(outputs.sidecar, json.dumps(content, indent=2) + "\n")


class Extras:
    """The optional per-recording outputs of ``--align`` (``<name>_phones.tsv`` and phone
    shading in the plot) and ``--animate`` (``<name>.gif``)."""

    def __init__(self, align: str | os.PathLike | None, animate: bool, out_dir: str | os.PathLike,
                 single: bool):
        from sitool.alignment import read_alignment

        self.align = align
        self.alignments = read_alignment(align) if align is not None else None
        self.animate = animate
        self.out_dir = Path(out_dir)
        self.single = single
        self.unaligned = 0

    def plan(self, outputs, has_targets: bool):
        """Set ``outputs.phones``/``outputs.gif``; returns the recording's phone segments
        (None without an alignment for it)."""
        from sitool.alignment import alignment_for

        if not has_targets:
            return None
        stem = outputs.audio.stem
        phones = None
        if self.alignments is not None:
            phones = alignment_for(self.alignments, stem, self.single)
            if phones is not None:
                outputs.phones = self.out_dir / f"{stem}_phones.tsv"
            else:
                self.unaligned += 1
                log.info("%s: no alignment for %r in %s; no phone table", outputs.audio, stem,
                         self.align)
        if self.animate:
            outputs.gif = self.out_dir / f"{stem}.gif"
        return phones

    def write(self, outputs, signal: np.ndarray, targets: np.ndarray, info: TargetInfo,
              phones) -> None:
        from sitool.alignment import format_phone_table, phone_summaries

        if outputs.gif is not None:
            from sitool.animation import animate_tracks

            animate_tracks(signal, {n: targets[:, i] for i, n in enumerate(info.names)},
                           info.frame_rate, outputs.gif, title=f"{outputs.audio.name} (predicted)",
                           labels=[(s.start, s.end, s.phone) for s in phones or ()])
        if outputs.phones is not None:
            atomic_write_text(outputs.phones,
                              format_phone_table(phone_summaries(targets, info, phones)))

    def report(self, total: int) -> None:
        if self.unaligned:
            log.warning("%d of %d file(s) had no alignment in %s (matched by file name)",
                        self.unaligned, total, self.align)
