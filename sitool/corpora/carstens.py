"""Carstens AG500 / AG501 reader (``sitool prepare carstens``): lab EMA recordings.

The Carstens articulographs write one binary ``.pos`` file per sweep (positions after
calibration and, usually, head correction), with the audio as a ``.wav`` of the same name.
Two layouts are read, told apart per file by its first bytes (``find`` logs how many of each
it found):

- **AG501** (and the AG500 with newer software): a text header whose first line is
  ``AG50xDATA_V003`` and whose second line is the header's length in bytes (e.g.
  ``00004096``), then ``key=value`` lines, of which ``NumberOfChannels`` (e.g. 16) and
  ``SamplingFrequencyHz`` (e.g. 250) are used; the samples start at that byte offset;
- **AG500**: no header; 12 channels at 200 Hz (``ag500_channels`` / ``ag500_rate_hz`` in
  ``carstens.yaml`` if your system differs).

Samples: little-endian float32; per sample, per channel 7 values: x, y, z (mm), two angles
(phi, theta, deg), the RMS calibration error and an extra value. NaN marks a lost sample.

Layout read (any depth under ``--root``)::

    <root>/carstens.yaml                     the sensor-to-channel mapping (below)
    <root>/<speaker>/pos/0001.pos            a sweep ...
    <root>/<speaker>/wav/0001.wav            ... and its audio: <stem>.wav in the same
                                             directory, or in the sibling wav/ of a pos/
    (or flat: <root>/<speaker>_0001.pos beside <speaker>_0001.wav)

``carstens.yaml`` (unknown keys are errors naming the nearest valid key)::

    sensors:              # required: canonical sensor -> channel number (1-based, the
      TT: 1               #   Carstens socket); --targets tv needs UL LL TT TD,
      TM: 2               #   --targets ema all six (UL LL JAW TT TM TD)
      TD: 3
      UL: 5
      LL: 6
      JAW: 7
    reference: {UI: 8}    # optional: the upper-incisor channel, LP's origin
    front_back: x         # which coordinate is front-back (x, y or z)
    vertical: z           # which coordinate is vertical
    ag500_channels: 12    # headerless AG500 files only
    ag500_rate_hz: 200
    speaker_pattern: '^([^/_]+)[/_]'   # regex on the .pos path below the root, without
                          #   .pos ('S01/pos/0001', 'S01_0001'): group 1 is the speaker
    dev_speakers: []
    test_speakers: []

The utterance id is ``<speaker>_<stem>`` (or the stem when it starts with the speaker). The
axes' signs are found from the data (x forwards, y up), as for every corpus. No palate trace is
read: ``--targets tv`` estimates it from the tongue sensors (docs/corpora.md).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from sitool.config import from_dict
from sitool.corpora.recording import (SENSOR_NAMES, CorpusReader, Recording, RecordingRef,
                                      require_root)
from sitool.errors import SitoolError
from sitool.io import read_yaml

log = logging.getLogger(__name__)

NAME = "carstens"
CONFIG_NAME = "carstens.yaml"
SUMMARY = "Carstens AG500/AG501 .pos (binary) + .wav, mapped by carstens.yaml -> data dirs."
MAGIC = b"AG50xDATA_V"
SUPPORTED_VERSION = "AG50xDATA_V003"
VALUES_PER_CHANNEL = 7          # x, y, z, phi, theta, rms, extra
AXES = {"x": 0, "y": 1, "z": 2}
AG501_LAYOUT = "AG501 (AG50xDATA_V003 header)"
AG500_LAYOUT = "AG500 (no header)"


@dataclass
class CarstensConfig:
    """The schema of ``carstens.yaml`` (module docstring)."""

    sensors: dict
    reference: dict = field(default_factory=dict)
    front_back: Literal["x", "y", "z"] = "x"
    vertical: Literal["x", "y", "z"] = "z"
    ag500_channels: int = 12
    ag500_rate_hz: float = 200.0
    speaker_pattern: str = r"^([^/_]+)[/_]"
    dev_speakers: list[str] = field(default_factory=list)
    test_speakers: list[str] = field(default_factory=list)


@dataclass
class PosFile:
    """One ``.pos`` sweep: ``data [samples, channels, 7]`` at ``rate`` Hz."""

    path: Path
    layout: str
    rate: float
    data: np.ndarray


def read_carstens_config(root: Path, path: str | os.PathLike | None = None) -> CarstensConfig:
    """Read and check ``carstens.yaml`` (default ``<root>/carstens.yaml``)."""
    path = Path(path) if path else root / CONFIG_NAME
    if not path.is_file():
        raise SitoolError(f"{path}: Carstens corpus description not found; write one with at "
                          "least 'sensors: {UL: <channel>, LL: ..., TT: ..., TD: ...}' "
                          "(see docs/corpora.md, Carstens)")
    config = from_dict(CarstensConfig, read_yaml(path), str(path))
    for key, mapping in (("sensors", config.sensors), ("reference", config.reference)):
        if not isinstance(mapping, dict):
            raise SitoolError(f"{path}: {key} must be a mapping {{sensor: channel number}}")
        for name, channel in mapping.items():
            if isinstance(channel, bool) or not isinstance(channel, int) or channel < 1:
                raise SitoolError(f"{path}: {key}.{name}: channel {channel!r} must be a "
                                  "channel number >= 1 (Carstens sockets count from 1)")
    unknown = sorted(set(config.sensors) - set(SENSOR_NAMES))
    if unknown:
        raise SitoolError(f"{path}: sensors: unknown sensor name(s) "
                          f"{', '.join(map(str, unknown))}; use {', '.join(SENSOR_NAMES)}")
    if set(config.reference) - {"UI"}:
        raise SitoolError(f"{path}: reference: only UI (upper incisor) is used, got "
                          f"{', '.join(map(str, config.reference))}")
    if config.front_back == config.vertical:
        raise SitoolError(f"{path}: front_back and vertical are both {config.vertical!r}")
    if config.ag500_channels < 1 or not config.ag500_rate_hz > 0:
        raise SitoolError(f"{path}: ag500_channels and ag500_rate_hz must be > 0")
    try:
        re.compile(config.speaker_pattern)
    except re.error as e:
        raise SitoolError(f"{path}: speaker_pattern is not a valid regex ({e})") from None
    return config


def pos_layout(path: Path) -> str:
    """``AG501_LAYOUT`` when the file starts with the ``AG50xDATA_V`` header, else AG500."""
    with open(path, "rb") as f:
        return AG501_LAYOUT if f.read(len(MAGIC)) == MAGIC else AG500_LAYOUT


def _header_fields(path: Path, raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").replace("\x00", "").replace("\r", "").split("\n")
    version = lines[0].strip()
    if version != SUPPORTED_VERSION:
        raise SitoolError(f"{path}: Carstens header version {version[:30]!r}; sitool reads "
                          f"{SUPPORTED_VERSION} (re-export the sweep with the Carstens tools)")
    try:
        size = int(lines[1].strip())
    except (IndexError, ValueError):
        raise SitoolError(f"{path}: second header line should be the header length in bytes, "
                          f"got {lines[1][:30] if len(lines) > 1 else ''!r}") from None
    fields = {}
    for line in lines[2:]:
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return size, fields


def read_pos(path: str | os.PathLike, ag500_channels: int = 12,
             ag500_rate_hz: float = 200.0) -> PosFile:
    """Read a Carstens ``.pos`` file of either layout; bad or truncated files are one error."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: .pos file not found")
    blob = path.read_bytes()
    layout = AG501_LAYOUT if blob.startswith(MAGIC) else AG500_LAYOUT
    if layout == AG501_LAYOUT:
        size, fields = _header_fields(path, blob[:64])
        if size > len(blob) or size < 16:
            raise SitoolError(f"{path}: header length {size} bytes, file holds {len(blob)}")
        _, fields = _header_fields(path, blob[:size])
        try:
            channels = int(fields["NumberOfChannels"])
            rate = float(fields["SamplingFrequencyHz"])
        except KeyError as e:
            raise SitoolError(f"{path}: AG501 header lacks {e.args[0]}=") from None
        except ValueError:
            raise SitoolError(f"{path}: AG501 header NumberOfChannels / SamplingFrequencyHz "
                              "are not numbers") from None
        if channels < 1 or not rate > 0:
            raise SitoolError(f"{path}: AG501 header gives {channels} channels at {rate} Hz")
        payload = blob[size:]
    else:
        channels, rate, payload = ag500_channels, ag500_rate_hz, blob
    sample_bytes = 4 * VALUES_PER_CHANNEL * channels
    if len(payload) < 2 * sample_bytes or len(payload) % sample_bytes:
        hint = ("" if layout == AG501_LAYOUT else
                "; not an AG501 file either (no AG50xDATA header) - is it a .pos file?")
        raise SitoolError(f"{path}: truncated or corrupt {layout} data: {len(payload)} bytes is "
                          f"not a whole number (>= 2) of samples of {channels} channels x "
                          f"{VALUES_PER_CHANNEL} float32{hint}")
    data = np.frombuffer(payload, dtype="<f4").reshape(-1, channels, VALUES_PER_CHANNEL)
    return PosFile(path=path, layout=layout, rate=rate, data=data.astype(np.float64))


def _audio_for(pos: Path) -> Path | None:
    for candidate in (pos.with_suffix(".wav"), pos.parent.parent / "wav" / f"{pos.stem}.wav"):
        if candidate.is_file():
            return candidate
    return None


def make_reader(root: str | os.PathLike, config_path: str | os.PathLike | None = None
                ) -> CorpusReader:
    """A ``CorpusReader`` for the Carstens corpus at ``root`` described by ``carstens.yaml``."""
    root = require_root(root, NAME)
    config = read_carstens_config(root, config_path)
    where = Path(config_path) if config_path else root / CONFIG_NAME

    def find(root_dir: Path) -> list[RecordingRef]:
        pos_files = sorted(p for p in Path(root_dir).rglob("*") if p.suffix.lower() == ".pos"
                           and p.is_file() and not p.name.startswith("."))
        if not pos_files:
            raise SitoolError(f"{root_dir}: no .pos files found; is this the Carstens corpus "
                              "root? (see docs/corpora.md for the expected layout)")
        refs, seen, no_audio = [], {}, []
        for pos in pos_files:
            rel = pos.relative_to(root_dir).with_suffix("").as_posix()
            match = re.search(config.speaker_pattern, rel)
            if not match or not (match.group(1) if match.groups() else match.group(0)):
                raise SitoolError(f"{where}: speaker_pattern {config.speaker_pattern!r} finds no "
                                  f"speaker in {rel!r}; fix the pattern")
            speaker = match.group(1) if match.groups() else match.group(0)
            utt = pos.stem if pos.stem.startswith(speaker) else f"{speaker}_{pos.stem}"
            if utt in seen:
                raise SitoolError(f"two .pos files for utterance {utt!r}: {seen[utt]} and {pos}; "
                                  "remove one or fix speaker_pattern")
            seen[utt] = pos
            audio = _audio_for(pos)
            if audio is None:
                no_audio.append(pos)
                continue
            refs.append(RecordingRef(utt=utt, speaker=speaker, paths={"pos": pos, "wav": audio}))
        if no_audio:
            log.warning("carstens: %d .pos file(s) have no .wav of the same name (beside them or "
                        "in a sibling wav/), e.g. %s; skipped", len(no_audio), no_audio[0])
        if not refs:
            raise SitoolError(f"{root_dir}: none of the {len(pos_files)} .pos files has a .wav "
                              "of the same name")
        counts = Counter(pos_layout(ref.paths["pos"]) for ref in refs)
        log.info("carstens: .pos files found: %s",
                 ", ".join(f"{n} {layout}" for layout, n in sorted(counts.items())))
        return sorted(refs, key=lambda r: r.utt)

    def midsagittal(pos: PosFile, name: str, channel: int) -> np.ndarray:
        if channel > pos.data.shape[1]:
            raise SitoolError(f"{where}: {name} is channel {channel} but {pos.path} has "
                              f"{pos.data.shape[1]} channels ({pos.layout})")
        columns = [AXES[config.front_back], AXES[config.vertical]]
        return pos.data[:, channel - 1, columns]

    def load(ref: RecordingRef) -> Recording:
        pos = read_pos(ref.paths["pos"], config.ag500_channels, config.ag500_rate_hz)
        sensors = {name: midsagittal(pos, f"sensors.{name}", ch)
                   for name, ch in config.sensors.items()}
        reference = {name: midsagittal(pos, f"reference.{name}", ch)
                     for name, ch in config.reference.items()}
        return Recording(utt=ref.utt, speaker=ref.speaker,
                         times=np.arange(len(pos.data)) / pos.rate, sensors=sensors,
                         reference=reference, audio_path=ref.paths["wav"])

    def palates(root_dir: Path, speakers: Sequence[str]) -> dict[str, np.ndarray]:
        return {}

    return CorpusReader(name=NAME, find=find, load=load, palates=palates,
                        lp_reference="UI" if "UI" in config.reference else None,
                        default_dev_speakers=tuple(config.dev_speakers),
                        default_test_speakers=tuple(config.test_speakers))
