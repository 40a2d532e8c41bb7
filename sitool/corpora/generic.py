"""Generic corpus reader (``sitool prepare generic``): your own articulatory data.

Layout (names configurable in ``generic.yaml``)::

    <root>/generic.yaml              how to read the corpus (below)
    <root>/wav/<utt>.wav             audio, any rate soundfile reads, mono
    <root>/targets/<utt>.csv         one row per frame; a header row names the columns
                                     (``header: false``: no header row)
       or  <root>/targets/<utt>.npy  float array [frames, columns]
       or  <root>/targets/<utt>.mat  MATLAB file holding a [frames, columns] array (v4-v7;
                                     v7.3/HDF5 needs h5py installed)
    <root>/text                      optional: '<utt> <words...>' lines

The names of a file's columns come from ``layout`` (sensors x axes), else from the CSV
header row, else from a ``columns`` list naming every column in order; ``columns`` then picks
the target columns (a list of those names, or a mapping ``target name: column``, where a
column is a 0-based index into the file or one of those names).

``generic.yaml`` keys (unknown keys are errors naming the nearest valid key)::

    frame_rate: 200          # required: frames per second of the target files
    units: mm                # required: one unit for every column, or {column: unit}
    targets_ext: null        # .csv, .npy or .mat (the dot optional); default: the one
                             #   kind found in targets_dir
    mat_variable: null       # .mat: the variable to read (default: the file's only one)
    header: true             # .csv: the first row names the columns
    layout: null             # the file's columns are sensors x axes, sensor-major, named
                             #   <sensor>_<axis>:  {sensors: [TT, TM, ...],
                             #   axes: [x, y, z, phi, theta, rms]} (replaces a CSV header)
    columns: null            # the target columns: [a, b] (names; for a file without names,
                             #   the names of all its columns) or {name: index or name}
                             #   (default: every named column but time_column)
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
                             #   (UL, LL, TT, TD required; TM, JAW optional); mm, midsagittal;
                             #   a column is a target name, a file column name or an index
    palate: null             # for --targets tv: CSV 'x,y' (mm, same axes) for every speaker,
                             #   or {speaker: csv}; default: estimated from the tongue sensors

With ``--targets ema`` (the default for generic corpora) the ``columns`` are written as they
are (resampled to the target frame rate, gaps filled, plus source features); with
``--targets tv`` the ``sensors`` columns give tract variables like the EMA corpora.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
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
TARGET_SUFFIXES = (".csv", ".npy", ".mat")


@dataclass
class ColumnLayout:
    """``layout:`` the file's columns are ``sensors`` x ``axes``, sensor-major."""

    sensors: list[str]
    axes: list[str]

    def names(self) -> list[str]:
        """``<sensor>_<axis>`` for every column, in file order."""
        return [f"{sensor}_{axis}" for sensor in self.sensors for axis in self.axes]


@dataclass
class GenericConfig:
    """The schema of ``generic.yaml`` (module docstring)."""

    frame_rate: float
    units: Any
    targets_ext: str | None = None
    mat_variable: str | None = None
    header: bool = True
    layout: ColumnLayout | None = None
    columns: Any = None
    time_column: int | str | None = None
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


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_column(value: Any) -> bool:
    """A column reference: a non-empty name or a 0-based index."""
    return (_is_index(value) and value >= 0) or (isinstance(value, str) and bool(value))


def _check_names(path: Path, key: str, names: Any) -> None:
    if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
        raise SitoolError(f"{path}: {key} must be a non-empty list of names")
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise SitoolError(f"{path}: {key} names {', '.join(repeated)} more than once")


def _check_columns(path: Path, config: GenericConfig) -> None:
    columns = config.columns
    if columns is None:
        if not config.header and config.layout is None:
            raise SitoolError(f"{path}: header: false needs 'layout' or 'columns' to name the "
                              "CSV columns")
        return
    if isinstance(columns, list):
        _check_names(path, "columns", columns)
        return
    if not isinstance(columns, dict) or not columns:
        raise SitoolError(f"{path}: columns must be a list of names or a mapping "
                          "{target name: column index (0-based) or column name}")
    for name, column in columns.items():
        if not isinstance(name, str) or not name:
            raise SitoolError(f"{path}: columns: key {name!r} must be a target name")
        if not _is_column(column):
            raise SitoolError(f"{path}: columns.{name}: {column!r} must be a column index "
                              "(0-based) or a column name")
        if isinstance(column, str) and config.layout is None and not config.header:
            raise SitoolError(f"{path}: columns.{name}: {column!r} names a column, but with "
                              "header: false and no layout the columns have no names; give "
                              "its index (0-based)")


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
    if config.targets_ext is not None:
        ext = config.targets_ext.lower()
        config.targets_ext = ext if ext.startswith(".") else f".{ext}"
        if config.targets_ext not in TARGET_SUFFIXES:
            raise SitoolError(f"{path}: targets_ext {config.targets_ext!r} is not one of "
                              f"{', '.join(TARGET_SUFFIXES)}")
    if config.layout is not None:
        _check_names(path, "layout.sensors", config.layout.sensors)
        _check_names(path, "layout.axes", config.layout.axes)
    _check_columns(path, config)
    if config.time_column is not None and not _is_column(config.time_column):
        raise SitoolError(f"{path}: time_column must be a column name or index (0-based)")
    unknown = sorted(set(config.sensors) - set(SENSOR_NAMES))
    if unknown:
        raise SitoolError(f"{path}: sensors: unknown sensor name(s) {', '.join(unknown)}; "
                          f"use {', '.join(SENSOR_NAMES)}")
    for name, pair in config.sensors.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(_is_column, pair))):
            raise SitoolError(f"{path}: sensors.{name} must be [x column, y column] (names "
                              "or 0-based indices)")
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


# --------------------------------------------------------------------------- target files

def read_csv_table(path: Path, header: bool = True) -> tuple[list[str] | None, np.ndarray]:
    """``(column names or None, [frames, columns] float64)`` of a comma-separated file.

    With ``header`` the first row names the columns; empty cells and 'nan' are NaN.
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    first = 1 if header else 0
    if len(rows) < first + 2:
        raise SitoolError(f"{path}: needs {'a header row and ' if header else ''}at least 2 "
                          f"frames, has {len(rows)} rows")
    names = [name.strip() for name in rows[0]] if header else None
    if names is not None and (len(set(names)) != len(names) or not all(names)):
        raise SitoolError(f"{path}: header row must name every column once, got {names} "
                          "(a file without a header row: header: false in generic.yaml)")
    width = len(rows[0])
    values = np.full((len(rows) - first, width), np.nan)
    for i, row in enumerate(rows[first:]):
        line = i + first + 1
        if len(row) != width:
            raise SitoolError(f"{path}:{line}: {len(row)} values, "
                              f"{'header' if header else 'row 1'} has {width}")
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell:
                try:
                    values[i, j] = float(cell)
                except ValueError:
                    column = names[j] if names else j
                    hint = ("" if header or line > 1 else
                            "; is row 1 a header? then header: true in generic.yaml")
                    raise SitoolError(f"{path}:{line}: {cell!r} in column {column!r} is "
                                      f"not a number{hint}") from None
    return names, values


def read_csv_columns(path: Path) -> tuple[list[str], np.ndarray]:
    """``(column names, [frames, columns] float64)`` of a CSV file with a header row."""
    names, values = read_csv_table(path, header=True)
    return list(names or []), values


def _read_mat_hdf5(path: Path) -> dict[str, Any]:
    """The variables of a MATLAB v7.3 (HDF5) file, numeric ones as arrays in MATLAB order."""
    try:
        import h5py
    except ImportError:
        raise SitoolError(f"{path}: MATLAB v7.3 (HDF5) file, which sitool reads only with h5py "
                          "installed; re-save it as v7 in MATLAB (save(file, name, '-v7')) or "
                          "pip install h5py") from None
    with h5py.File(path, "r") as f:
        # h5py shows a MATLAB array transposed (MATLAB stores columns first): .T undoes it.
        return {name: (np.asarray(item).T if isinstance(item, h5py.Dataset) else item.name)
                for name, item in f.items() if not name.startswith("#")}


def read_mat_array(path: Path, variable: str | None = None) -> np.ndarray:
    """The ``[frames, columns]`` array ``variable`` of a MATLAB file (default: its only one)."""
    from scipy.io import loadmat

    try:
        contents = loadmat(str(path))
    except NotImplementedError:             # scipy reads v4 to v7; v7.3 is HDF5
        contents = _read_mat_hdf5(path)
    except Exception as e:                  # scipy raises many kinds on a corrupt file
        raise SitoolError(f"{path}: unreadable .mat file ({type(e).__name__}: {e})") from None
    names = sorted(name for name in contents if not name.startswith("__"))
    if variable is None:
        if len(names) != 1:
            found = f"variables {', '.join(names)}" if names else "no variable"
            raise SitoolError(f"{path}: holds {found}; name the one to read with "
                              "mat_variable: in generic.yaml")
        variable = names[0]
    elif variable not in names:
        raise SitoolError(f"{path}: no variable {variable!r} (generic.yaml mat_variable); "
                          f"variables in the file: {', '.join(names) or 'none'}")
    value = contents[variable]
    if not (isinstance(value, np.ndarray) and value.ndim == 2
            and (np.issubdtype(value.dtype, np.number) or value.dtype == bool)):
        what = (f"a {value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray)
                else "not an array")
        raise SitoolError(f"{path}: variable {variable!r} is {what}; expected a numeric "
                          "[frames, columns] matrix")
    return value.astype(np.float64)


def read_target_file(path: Path, config: GenericConfig) -> tuple[list[str] | None, np.ndarray]:
    """``(the file's column names or None, [frames, columns] float64)`` of one target file."""
    suffix = path.suffix.lower()
    names: list[str] | None = None
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise SitoolError(f"{path}: unreadable .npy ({e})") from None
        if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
            raise SitoolError(f"{path}: a {values.dtype} array of shape {values.shape}; "
                              "expected a numeric [frames, columns] array")
        values = values.astype(np.float64)
    elif suffix == ".mat":
        values = read_mat_array(path, config.mat_variable)
    else:
        names, values = read_csv_table(path, config.header)
    if config.layout is not None:
        names = config.layout.names()
        if values.shape[1] != len(names):
            raise SitoolError(f"{path}: shape {values.shape}, but generic.yaml layout names "
                              f"{len(names)} columns ({len(config.layout.sensors)} sensors x "
                              f"{len(config.layout.axes)} axes)")
    elif names is None and isinstance(config.columns, list):
        names = list(config.columns)
        if values.shape[1] != len(names):
            raise SitoolError(f"{path}: shape {values.shape}, expected [frames, {len(names)}] "
                              "(generic.yaml columns names every column of a file without "
                              "names; or give a mapping {name: index})")
    return names, values


@dataclass
class TargetTable:
    """One target file's values with its column names (file names and the target names)."""

    path: Path
    values: np.ndarray
    names: list[str] | None                  # the file's column names, if it has any
    targets: dict[str, int] = field(default_factory=dict)   # target name -> column index

    def index(self, column: int | str, key: str) -> int:
        """The column index of ``column`` (target name, file column name or index)."""
        if _is_index(column):
            if column >= self.values.shape[1]:
                raise SitoolError(f"{self.path}: {key}: column {column} is out of range, the "
                                  f"array has shape {self.values.shape} (columns 0-"
                                  f"{self.values.shape[1] - 1})")
            return column
        if column in self.targets:
            return self.targets[column]
        if self.names is not None and column in self.names:
            return self.names.index(column)
        known = self.names if self.names is not None else list(self.targets)
        raise SitoolError(f"{self.path}: {key}: no column {column!r}; columns: "
                          f"{', '.join(known) or 'none named (give 0-based indices)'}")


def target_table(path: Path, config: GenericConfig, where: Path) -> TargetTable:
    """Read a target file and resolve generic.yaml's ``columns`` against it."""
    names, values = read_target_file(path, config)
    table = TargetTable(path=path, values=values, names=names)
    columns = config.columns
    if isinstance(columns, dict):
        for name, column in columns.items():
            table.targets[name] = table.index(column, f"columns.{name}")
        return table
    if names is None:
        raise SitoolError(f"{where}: {path.suffix} targets have no column names; give "
                          "'columns' (a list naming all, or {name: index}) or 'layout'")
    if isinstance(columns, list):
        missing = [name for name in columns if name not in names]
        if missing:
            raise SitoolError(f"{path}: no column(s) {', '.join(missing)}; columns in the file: "
                              f"{', '.join(names)}")
        table.targets = {name: names.index(name) for name in columns}
    else:
        time = table.index(config.time_column, "time_column") \
            if config.time_column is not None else None
        table.targets = {name: j for j, name in enumerate(names) if j != time}
    return table


def _target_files(targets_dir: Path, suffix: str | None) -> dict[str, Path]:
    suffixes = (suffix,) if suffix else TARGET_SUFFIXES
    files = [p for p in sorted(targets_dir.iterdir()) if p.suffix.lower() in suffixes
             and p.is_file() and not p.name.startswith(".")]
    if not files:
        raise SitoolError(f"{targets_dir}: no {' or '.join(suffixes)} target files")
    kinds = Counter(p.suffix.lower() for p in files)
    if len(kinds) > 1:
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        raise SitoolError(f"{targets_dir}: holds {found} target files; say which to read with "
                          "targets_ext: in generic.yaml")
    return {p.stem: p for p in files}


def make_reader(root: str | Path, config_path: str | Path | None = None) -> CorpusReader:
    """A ``CorpusReader`` for the generic corpus at ``root`` described by ``generic.yaml``."""
    root = require_root(root, NAME)
    config = read_generic_config(root, config_path)
    where = Path(config_path) if config_path else root / CONFIG_NAME
    units = config.units

    def column_units(names: list[str]) -> list[str]:
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
        targets = _target_files(targets_dir, config.targets_ext)
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
                speaker = _speaker(stem, config.speaker_pattern, where)
            utt = stem if stem.startswith(speaker) else f"{speaker}_{stem}"
            paths = {"targets": target, "audio": audio}
            refs.append(RecordingRef(utt=utt, speaker=speaker, paths=paths, text=texts.get(stem)))
        return refs

    def load(ref: RecordingRef) -> Recording:
        table = target_table(ref.paths["targets"], config, where)
        values = table.values
        if config.missing_value is not None:
            values[np.isclose(values, config.missing_value)] = np.nan
        if config.time_column is not None:
            times = values[:, table.index(config.time_column, "time_column")]
        else:
            times = np.arange(len(values)) / config.frame_rate
        names = list(table.targets)
        columns = values[:, list(table.targets.values())]
        sensors = {sensor: values[:, [table.index(c, f"sensors.{sensor}") for c in pair]]
                   for sensor, pair in config.sensors.items()}
        return Recording(utt=ref.utt, speaker=ref.speaker, times=times, sensors=sensors,
                         audio_path=ref.paths["audio"], text=ref.text,
                         columns=columns, column_names=names,
                         column_units=column_units(names))

    def palates(root_dir: Path, speakers: Sequence[str]) -> dict[str, np.ndarray]:
        if config.palate is None:
            return {}
        if isinstance(config.palate, str):
            trace = _palate_csv(root_dir / config.palate)
            return {spk: trace for spk in speakers}
        if isinstance(config.palate, dict):
            return {spk: _palate_csv(root_dir / str(p)) for spk, p in config.palate.items()
                    if spk in speakers}
        raise SitoolError(f"{where}: palate must be a CSV path or {{speaker: CSV path}}")

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
