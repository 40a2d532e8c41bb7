"""Phone label files of the articulatory corpora -> ``PhoneSegment`` lists.

Two text layouts are read (``read_phone_labels`` tells them apart):

- start/end lines (MOCHA-TIMIT ``.lab``): ``<start_s> <end_s> <label>`` per line;
- xwaves/ESPS (mngu0 ``.lab``): a header ending with a line ``#``, then
  ``<end_s> <colour> <label>`` per line; each segment starts where the previous one ended
  (the first at 0).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from sitool.datadir import PhoneSegment
from sitool.errors import SitoolError

# Labels that are not speech sounds; left out of the ``text`` line (kept in phones.ctm).
NON_SPEECH = {"sil", "#", "##", "breath", "br", "pau", "sp", "spn", "h#", "sil1", ""}


def _number(value: str, path: Path, lineno: int) -> float:
    try:
        return float(value)
    except ValueError:
        raise SitoolError(f"{path}:{lineno}: {value!r} is not a time in seconds") from None


def read_start_end_labels(lines: Iterable[tuple[int, str]], path: Path) -> list[PhoneSegment]:
    segments = []
    for lineno, line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3:
            raise SitoolError(f"{path}:{lineno}: expected '<start> <end> <label>', got {line!r}")
        start, end = _number(parts[0], path, lineno), _number(parts[1], path, lineno)
        if end < start:
            raise SitoolError(f"{path}:{lineno}: segment ends ({end}) before it starts ({start})")
        segments.append(PhoneSegment(start, end, "_".join(parts[2:])))
    return segments


def read_xwaves_labels(lines: Iterable[tuple[int, str]], path: Path) -> list[PhoneSegment]:
    segments = []
    start = 0.0
    for lineno, line in lines:
        parts = line.split()
        if not parts:
            continue
        end = _number(parts[0], path, lineno)
        label = "_".join(parts[2:]) if len(parts) >= 3 else ""
        if end < start:
            raise SitoolError(f"{path}:{lineno}: label time {end} goes back (previous {start})")
        segments.append(PhoneSegment(start, end, label or "sil"))
        start = end
    return segments


def read_phone_labels(path: str | os.PathLike) -> list[PhoneSegment]:
    """Read a ``.lab`` file in either layout; segments in time order."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: label file not found")
    lines = list(enumerate(path.read_text(encoding="latin-1").splitlines(), 1))
    for i, (_, line) in enumerate(lines):
        if line.strip() == "#":
            return read_xwaves_labels(lines[i + 1:], path)
    return read_start_end_labels(lines, path)


def phones_text(segments: Iterable[PhoneSegment]) -> str:
    """The speech-sound labels joined by spaces (silences and breaths left out)."""
    return " ".join(s.phone for s in segments if s.phone.lower() not in NON_SPEECH)
