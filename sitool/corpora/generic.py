"""Generic corpus reader (``sitool prepare generic``): your own articulatory data.

Layout (names configurable in ``generic.yaml``)::

    <root>/generic.yaml              how to read the corpus (below)
    <root>/wav/<utt>.wav             audio, any rate soundfile reads, mono
    <root>/targets/<utt>.csv         one row per frame; a header row names the columns
       or  <root>/targets/<utt>.npy  float array [frames, columns]; generic.yaml names them
    <root>/text                      optional: '<utt> <words...>' lines

``generic.yaml`` keys (unknown keys are errors naming the nearest valid key)::

    frame_rate: 200          # required: frames per second of the target files
    units: mm                # required: one unit for every column, or {column: unit}
    columns: [a, b]          # .npy: the column names (required); .csv: keep only these,
                             #   in this order (default: every column but time_column)
    time_column: null        # a column holding each frame's time in s (irregular sampling)
    missing_value: null      # a number that marks a missing sample (NaN/empty cells always do)
    speaker_pattern: '^([^_]+)_'   # regex on the utterance id; group 'spk' or group 1 is the
                             #   speaker (ids not starting with it get '<speaker>_' prepended)
    utt2spk: null            # or a file '<utt> <speaker>' (relative to the root)
    text: null               # a file '<utt> <words...>' (default: '<root>/text' if present)
    audio_dir: wav
    audio_ext: .wav
    targets_dir: targets
    dev_speakers: []         # default split (overridden by --dev-speakers / --test-speakers)
    test_speakers: []
    sensors: {}              # for --targets tv: canonical sensor -> [x column, y column]
                             #   (UL, LL, TT, TD required; TM, JAW optional); mm, midsagittal
    palate: null             # for --targets tv: CSV 'x,y' (mm, same axes) for every speaker,
                             #   or {speaker: csv}; default: estimated from the tongue sensors

With ``--targets ema`` (the default for generic corpora) the columns are written as they are
(resampled to the target frame rate, gaps filled, plus source features); with ``--targets tv``
the ``sensors`` columns give tract variables like the EMA corpora.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sitool.config import from_dict
from sitool.corpora.recording import (SENSOR_NAMES, CorpusReader, Recording, RecordingRef,
                                      require_root)
from sitool.errors import SitoolError
from sitool.io import read_table, read_yaml

NAME = "generic"
CONFIG_NAME = "generic.yaml"
TARGET_SUFFIXES = (".csv", ".npy")


@dataclass
class GenericConfig:
    """The schema of ``generic.yaml`` (module docstring)."""

    frame_rate: float
    units: Any
    columns: list[str] | None = None
    time_column: str | None = None
    missing_value: float | None = None
    speaker_pattern: str = r"^([^_]+)_"
    utt2spk: str | None = None
    text: str | None = None
    audio_dir: str = "wav"
    audio_ext: str = ".wav"
    targets_dir: str = "targets"
    dev_speakers: list[str] = field(default_factory=list)
    test_speakers: list[str] = field(default_factory=list)
    sensors: dict = field(default_factory=dict)
    palate: Any = None


def read_generic_config(root: Path, path: str | Path | None = None) -> GenericConfig:
    """Read and check ``generic.yaml`` (default ``<root>/generic.yaml``)."""
    path = Path(path) if path else root / CONFIG_NAME
    if not path.is_file():
        raise SitoolError(f"{path}: generic corpus description not found; write one (see "
                          "docs/new_corpus.md) with at least frame_rate and units")
    config = from_dict(GenericConfig, read_yaml(path), str(path))
    if not config.frame_rate > 0:
        raise SitoolError(f"{path}: frame_rate must be > 0, got {config.frame_rate}")
    if not isinstance(config.units, (str, dict)):
        raise SitoolError(f"{path}: units must be one unit (e.g. mm) or a mapping "
                          "{column: unit}")
    unknown = sorted(set(config.sensors) - set(SENSOR_NAMES))
    if unknown:
        raise SitoolError(f"{path}: sensors: unknown sensor name(s) {', '.join(unknown)}; "
                          f"use {', '.join(SENSOR_NAMES)}")
    for name, pair in config.sensors.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(c, str) for c in pair)):
            raise SitoolError(f"{path}: sensors.{name} must be [x column, y column]")
    try:
        re.compile(config.speaker_pattern)
    except re.error as e:
        raise SitoolError(f"{path}: speaker_pattern is not a valid regex ({e})") from None
    return config


def _speaker(utt: str, pattern: str, where: Path) -> str:
    match = re.search(pattern, utt)
    if not match:
        raise SitoolError(f"{where}: utterance {utt!r} does not match speaker_pattern "
                          f"{pattern!r}; fix the pattern or give an utt2spk file")
    groups = match.groupdict()
    speaker = groups.get("spk") or (match.group(1) if match.groups() else match.group(0))
    if not speaker:
        raise SitoolError(f"{where}: speaker_pattern {pattern!r} gives an empty speaker for {utt!r}")
    return speaker


def read_csv_columns(path: Path) -> tuple[list[str], np.ndarray]:
    """``(column names, [frames, columns] float64)``; empty cells and 'nan' are NaN."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 3:
        raise SitoolError(f"{path}: needs a header row and at least 2 frames, has {len(rows)} rows")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise SitoolError(f"{path}: header row must name every column once, got {header}")
    values = np.full((len(rows) - 1, len(header)), np.nan)
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise SitoolError(f"{path}:{i + 2}: {len(row)} values, header has {len(header)}")
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell:
                try:
                    values[i, j] = float(cell)
                except ValueError:
                    raise SitoolError(f"{path}:{i + 2}: {cell!r} in column {header[j]!r} is "
                                      "not a number") from None
    return header, values


def _select(names: list[str], values: np.ndarray, wanted: Sequence[str], path: Path) -> np.ndarray:
    missing = [name for name in wanted if name not in names]
    if missing:
        raise SitoolError(f"{path}: no column(s) {', '.join(missing)}; columns in the file: "
                          f"{', '.join(names)}")
    return values[:, [names.index(name) for name in wanted]]


def make_reader(root: str | Path, config_path: str | Path | None = None) -> CorpusReader:
    """A ``CorpusReader`` for the generic corpus at ``root`` described by ``generic.yaml``."""
    root = require_root(root, NAME)
    config = read_generic_config(root, config_path)
    units = config.units

    def column_units(names: list[str], where: Path) -> list[str]:
        if isinstance(units, str):
            return [units] * len(names)
        missing = [name for name in names if name not in units]
        if missing:
            raise SitoolError(f"{where}: units: no unit for column(s) {', '.join(missing)}")
        return [str(units[name]) for name in names]

    def find(root_dir: Path) -> list[RecordingRef]:
        audio_dir, targets_dir = root_dir / config.audio_dir, root_dir / config.targets_dir
        for d in (audio_dir, targets_dir):
            if not d.is_dir():
                raise SitoolError(f"{d}: directory not found (generic.yaml audio_dir / "
                                  "targets_dir)")
        targets = {p.stem: p for p in sorted(targets_dir.iterdir())
                   if p.suffix.lower() in TARGET_SUFFIXES}
        if not targets:
            raise SitoolError(f"{targets_dir}: no .csv or .npy target files")
        utt2spk = read_table(root_dir / config.utt2spk) if config.utt2spk else None
        text_path = root_dir / (config.text or "text")
        texts = read_table(text_path) if (config.text or text_path.is_file()) else {}
        refs = []
        for stem, target in targets.items():
            audio = audio_dir / f"{stem}{config.audio_ext}"
            if not audio.is_file():
                raise SitoolError(f"{target}: no audio file {audio}")
            if utt2spk is not None:
                if stem not in utt2spk:
                    raise SitoolError(f"{root_dir / config.utt2spk}: no speaker for {stem!r}")
                speaker = utt2spk[stem]
            else:
                speaker = _speaker(stem, config.speaker_pattern, root_dir / CONFIG_NAME)
            utt = stem if stem.startswith(speaker) else f"{speaker}_{stem}"
            paths = {"targets": target, "audio": audio}
            refs.append(RecordingRef(utt=utt, speaker=speaker, paths=paths, text=texts.get(stem)))
        return refs

    def load(ref: RecordingRef) -> Recording:
        path = ref.paths["targets"]
        if path.suffix.lower() == ".npy":
            if not config.columns:
                raise SitoolError(f"{root / CONFIG_NAME}: .npy targets need 'columns' naming "
                                  "their columns")
            try:
                values = np.load(path, allow_pickle=False).astype(np.float64)
            except (ValueError, OSError, EOFError) as e:
                raise SitoolError(f"{path}: unreadable .npy ({e})") from None
            if values.ndim != 2 or values.shape[1] != len(config.columns):
                raise SitoolError(f"{path}: shape {values.shape}, expected [frames, "
                                  f"{len(config.columns)}] (generic.yaml columns)")
            names = list(config.columns)
        else:
            names, values = read_csv_columns(path)
        if config.missing_value is not None:
            values[np.isclose(values, config.missing_value)] = np.nan
        if config.time_column:
            times = _select(names, values, [config.time_column], path)[:, 0]
        else:
            times = np.arange(len(values)) / config.frame_rate
        wanted = config.columns or [n for n in names if n != config.time_column]
        columns = _select(names, values, wanted, path)
        sensors = {sensor: _select(names, values, pair, path)
                   for sensor, pair in config.sensors.items()}
        return Recording(utt=ref.utt, speaker=ref.speaker, times=times, sensors=sensors,
                         audio_path=ref.paths["audio"], text=ref.text,
                         columns=columns, column_names=list(wanted),
                         column_units=column_units(list(wanted), root / CONFIG_NAME))

    def palates(root_dir: Path, speakers: Sequence[str]) -> dict[str, np.ndarray]:
        if config.palate is None:
            return {}
        if isinstance(config.palate, str):
            trace = _palate_csv(root_dir / config.palate)
            return {spk: trace for spk in speakers}
        if isinstance(config.palate, dict):
            return {spk: _palate_csv(root_dir / str(p)) for spk, p in config.palate.items()
                    if spk in speakers}
        raise SitoolError(f"{root / CONFIG_NAME}: palate must be a CSV path or "
                          "{speaker: CSV path}")

    return CorpusReader(name=NAME, find=find, load=load, palates=palates,
                        default_dev_speakers=tuple(config.dev_speakers),
                        default_test_speakers=tuple(config.test_speakers))


def _palate_csv(path: Path) -> np.ndarray:
    if not path.is_file():
        raise SitoolError(f"{path}: palate file not found (generic.yaml palate)")
    names, values = read_csv_columns(path)
    if values.shape[1] < 2:
        raise SitoolError(f"{path}: palate CSV needs x and y columns")
    return values[:, :2][np.all(np.isfinite(values[:, :2]), axis=1)]
