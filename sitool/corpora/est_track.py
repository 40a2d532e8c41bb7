"""Reader for Edinburgh Speech Tools (EST) Track files: the ``.ema`` files of MOCHA-TIMIT and mngu0.

Layout (as written by the Edinburgh Speech Tools and read by other public readers of these
corpora; see docs/corpora.md for the sources):

- an ASCII header of ``Key value`` lines, starting with the line ``EST_File Track`` and ending
  with the line ``EST_Header_End``. Keys used here: ``DataType`` (``binary`` or ``ascii``),
  ``NumFrames``, ``NumChannels``, ``ByteOrder`` (``10`` = big-endian, ``01`` = little-endian;
  binary only) and ``Channel_<i> <name>`` for each channel ``i``; others (``EqualSpace``,
  ``BreaksPresent``, ``CommentChar``, ...) are kept in ``EstTrack.header`` but not needed;
- then ``NumFrames`` frames, each ``time (s), break flag, channel 0 .. channel C-1``; binary
  data are float32 in ``ByteOrder``, ASCII data one frame per line. A break flag of 0 marks a
  frame without data: its channel values are returned as NaN.

Some copies of a corpus carry only the body of an ASCII track, without the header (MOCHA-TIMIT
``.ema`` files converted by MOCHAtools, for instance): one frame per line, ``time, flag,
channel 0 .. channel C-1``. ``has_est_header`` tells the two apart from the first bytes, and
``read_headerless_ascii_track`` reads such a body given the channel names, which the file
itself does not carry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sitool.errors import SitoolError

MAGIC = "EST_File Track"
HEADER_END = "EST_Header_End"
BYTE_ORDERS = {"10": ">", "01": "<"}


@dataclass
class EstTrack:
    """One EST Track file: time stamps, break flags and named channels."""

    path: Path
    times: np.ndarray                 # [N] seconds
    present: np.ndarray               # [N] bool, False where the frame is a break
    channels: list[str]               # C channel names, in file order
    data: np.ndarray                  # [N, C] float64, NaN in break frames
    header: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Frame rate (Hz) from the median time step."""
        if len(self.times) < 2:
            raise SitoolError(f"{self.path}: too few frames ({len(self.times)}) for a frame rate")
        return 1.0 / float(np.median(np.diff(self.times)))

    def channel(self, name: str) -> np.ndarray:
        """The ``[N]`` values of channel ``name``; a missing name is an error listing them all."""
        if name not in self.channels:
            raise SitoolError(f"{self.path}: no channel {name!r}; channels in the file: "
                              f"{', '.join(self.channels)}")
        return self.data[:, self.channels.index(name)]


def _read_header(f, path: Path) -> dict[str, str]:
    first = f.readline().decode("latin-1").strip()
    if first != MAGIC:
        raise SitoolError(f"{path}: not an EST Track file (first line {first[:40]!r}, "
                          f"expected {MAGIC!r})")
    header: dict[str, str] = {}
    while True:
        raw = f.readline()
        if not raw:
            raise SitoolError(f"{path}: header has no {HEADER_END!r} line (truncated file?)")
        line = raw.decode("latin-1").strip()
        if line == HEADER_END:
            return header
        if not line:
            continue
        key, _, value = line.partition(" ")
        header[key] = value.strip()


def _int_field(header: dict[str, str], key: str, path: Path) -> int:
    if key not in header:
        raise SitoolError(f"{path}: EST header lacks {key}")
    try:
        value = int(header[key])
    except ValueError:
        raise SitoolError(f"{path}: EST header {key} {header[key]!r} is not an integer") from None
    if value < 0:
        raise SitoolError(f"{path}: EST header {key} is negative ({value})")
    return value


def _channel_names(header: dict[str, str], count: int, path: Path) -> list[str]:
    names = []
    for i in range(count):
        name = header.get(f"Channel_{i}", "").strip()
        if not name:
            raise SitoolError(f"{path}: EST header names no Channel_{i} (NumChannels {count})")
        names.append(name)
    return names


def read_est_track(path: str | os.PathLike) -> EstTrack:
    """Read an EST Track file (binary or ASCII). Bad or truncated files are one clear error."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: EST track file not found")
    with open(path, "rb") as f:
        header = _read_header(f, path)
        n_frames = _int_field(header, "NumFrames", path)
        n_channels = _int_field(header, "NumChannels", path)
        names = _channel_names(header, n_channels, path)
        width = n_channels + 2
        data_type = header.get("DataType", "binary").lower()
        if data_type == "binary":
            order = header.get("ByteOrder", "")
            if order not in BYTE_ORDERS:
                raise SitoolError(f"{path}: EST ByteOrder {order!r} unknown (expected 10 = big-"
                                  "endian or 01 = little-endian)")
            payload = f.read()
            frame_bytes = 4 * width
            complete = len(payload) // frame_bytes
            if complete < n_frames or len(payload) % frame_bytes:
                raise SitoolError(
                    f"{path}: truncated or corrupt EST data: header says {n_frames} frames of "
                    f"{width} float32 values, file holds {len(payload)} bytes "
                    f"({complete} complete frames)")
            values = np.frombuffer(payload, dtype=BYTE_ORDERS[order] + "f4",
                                   count=n_frames * width).reshape(n_frames, width)
        elif data_type == "ascii":
            rows = [line.split() for line in f.read().decode("latin-1").splitlines()
                    if line.strip()]
            if len(rows) < n_frames or any(len(r) != width for r in rows[:n_frames]):
                raise SitoolError(f"{path}: truncated or corrupt EST data: header says "
                                  f"{n_frames} frames of {width} values, found {len(rows)} rows")
            try:
                values = np.array(rows[:n_frames], dtype=np.float64).reshape(n_frames, width)
            except ValueError as e:
                raise SitoolError(f"{path}: non-numeric EST data ({e})") from None
        else:
            raise SitoolError(f"{path}: EST DataType {data_type!r} unknown (binary or ascii)")
    values = values.astype(np.float64)
    present = values[:, 1] != 0
    data = values[:, 2:].copy()
    data[~present] = np.nan
    return EstTrack(path=path, times=values[:, 0].copy(), present=present, channels=names,
                    data=data, header=header)


def has_est_header(path: str | os.PathLike) -> bool:
    """True when the file starts with the ``EST_File Track`` line (False: no EST header)."""
    with open(path, "rb") as f:
        return f.read(len(MAGIC)).decode("latin-1") == MAGIC


def read_headerless_ascii_track(path: str | os.PathLike, channels: list[str]) -> EstTrack:
    """Read an ASCII track body without a header: per line ``time, flag, channels...``.

    ``channels`` names the columns after time and flag (the file does not). Rows of another
    width or with non-numbers are an error naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: track file not found")
    width = len(channels) + 2
    rows = []
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != width:
                raise SitoolError(
                    f"{path}:{lineno}: {len(parts)} values; a headerless ASCII track needs "
                    f"{width} per line (time, flag, then {len(channels)} channels) - or the file "
                    f"is not a track at all")
            try:
                rows.append([float(v) for v in parts])
            except ValueError:
                raise SitoolError(f"{path}:{lineno}: non-numeric value in a headerless ASCII "
                                  f"track line ({line.strip()[:60]!r})") from None
    if not rows:
        raise SitoolError(f"{path}: empty track file (no EST header, no data lines)")
    values = np.array(rows, dtype=np.float64)
    present = values[:, 1] != 0
    data = values[:, 2:].copy()
    data[~present] = np.nan
    return EstTrack(path=path, times=values[:, 0].copy(), present=present,
                    channels=list(channels), data=data, header={})
