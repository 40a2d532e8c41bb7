"""Phone alignments: reading TextGrid/CTM files, phone classes, per-phone summaries of tracks.

Alignments come from a Praat TextGrid (read with ``praatio``; the interval tier named
``phones``/``phone``/``phonemes``/``segments``, or the only interval tier) or a Kaldi CTM
(``utt channel start dur phone``). Empty TextGrid intervals are dropped.

Phone classes (:func:`phone_classes`) put a phone in a place class (consonants: bilabial,
labiodental, dental, alveolar, postalveolar, palatal, velar, uvular, glottal, labial-velar)
and a manner class (vowel, stop, nasal, fricative, affricate, approximant; or silence), so
``m`` counts for both bilabial and nasal. Symbols are SAMPA (the synthetic corpus; case
matters: ``S`` is the postalveolar fricative, ``N`` the velar nasal) unless the alignment
is ARPAbet: a set of labels with an upper-case two-letter phone (``AA``, ``IY1``) is read as
ARPAbet throughout; lower-case multi-letter labels (TIMIT, MOCHA: ``sh``, ``ng``, ``bcl``)
are ARPAbet in either case. Unknown labels get no class (counted, not scored by class).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from sitool.datadir import PhoneSegment, TargetInfo, read_ctm
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

PHONE_TIERS = ("phones", "phone", "phonemes", "phoneme", "segments", "segment")
SILENCE_LABELS = {"sil", "#", "##", "pau", "sp", "spn", "h#", "sil1", "<sil>", "breath", "br",
                  "epi", "noise", "ns"}
SILENCE = "silence"
PLACES = ("bilabial", "labiodental", "dental", "alveolar", "postalveolar", "palatal", "velar",
          "uvular", "glottal", "labial-velar")
MANNERS = ("vowel", "stop", "nasal", "fricative", "affricate", "approximant")
CLASS_ORDER = (*PLACES, *MANNERS, SILENCE)


def _table(spec: str) -> dict[str, tuple[str, str]]:
    """``"p b = bilabial stop; m = bilabial nasal"`` → {symbol: (place, manner)}."""
    out = {}
    for group in spec.split(";"):
        symbols, features = group.split("=")
        place, manner = features.split()
        for symbol in symbols.split():
            out[symbol] = (place, manner)
    return out


SAMPA = _table(
    "i I e E a A @ 6 3 y Y 2 9 u U o O V { Q a: i: u: o: e: 2: y: E: aI aU OI eI @U = - vowel;"
    "p b = bilabial stop; t d = alveolar stop; k g = velar stop; ? = glottal stop;"
    "m = bilabial nasal; n = alveolar nasal; N = velar nasal;"
    "f v = labiodental fricative; T D = dental fricative; s z = alveolar fricative;"
    "S Z = postalveolar fricative; C = palatal fricative; x = uvular fricative;"
    "h = glottal fricative; tS dZ = postalveolar affricate; l r = alveolar approximant;"
    "j = palatal approximant; w = labial-velar approximant")
ARPABET = _table(
    "aa ae ah ao aw ay eh er ey ih iy ow oy uh uw ax axr ix ux ax-h = - vowel;"
    "p b bcl pcl = bilabial stop; t d dx tcl dcl = alveolar stop; k g kcl gcl = velar stop;"
    "q = glottal stop; m em = bilabial nasal; n en nx = alveolar nasal; ng eng = velar nasal;"
    "f v = labiodental fricative; th dh = dental fricative; s z = alveolar fricative;"
    "sh zh = postalveolar fricative; hh hv = glottal fricative; ch jh = postalveolar affricate;"
    "l el r = alveolar approximant; y = palatal approximant; w = labial-velar approximant")
_ARPABET_UPPER = re.compile(r"^[A-Z]{2}[0-2]?$")


def is_arpabet(labels: Iterable[str]) -> bool:
    """True when the labels are upper-case ARPAbet (some label like ``AA`` or ``IY1``)."""
    return any(_ARPABET_UPPER.match(label) for label in labels)


def phone_classes(label: str, arpabet: bool = False) -> tuple[str, ...]:
    """The classes of one phone label (place and manner; ``silence``; ``()`` when unknown)."""
    if label.lower() in SILENCE_LABELS or not label:
        return (SILENCE,)
    if arpabet:
        features = ARPABET.get(re.sub(r"[0-2]$", "", label).lower())
    else:
        features = SAMPA.get(label) or (ARPABET.get(label.lower()) if len(label) > 1 else None)
    if features is None:
        return ()
    place, manner = features
    return (manner,) if place == "-" else (place, manner)


# ----------------------------------------------------------------------------- reading

def read_textgrid(path: str | os.PathLike, tier: str | None = None) -> list[PhoneSegment]:
    """Phone intervals of a TextGrid (``tier`` by name, else the phone tier, see module doc)."""
    try:
        from praatio import textgrid
    except ImportError:
        raise SitoolError(f"{path}: reading TextGrids needs praatio (pip install "
                          "'praatio==6.2.2', the 'align' extra)") from None
    path = Path(path)
    try:
        grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    except Exception as e:  # praatio raises several types for malformed files
        raise SitoolError(f"{path}: not a readable TextGrid ({type(e).__name__}: {e})") from None
    intervals = [name for name in grid.tierNames
                 if isinstance(grid.getTier(name), textgrid.IntervalTier)]
    if tier is None:
        named = [n for n in intervals if n.lower() in PHONE_TIERS]
        chosen = named[0] if named else (intervals[0] if len(intervals) == 1 else None)
        if chosen is None:
            raise SitoolError(f"{path}: no interval tier named {'/'.join(PHONE_TIERS[:3])} among "
                              f"{intervals}; rename the phone tier")
        tier = chosen
    elif tier not in intervals:
        raise SitoolError(f"{path}: no interval tier {tier!r} (interval tiers: {intervals})")
    return [PhoneSegment(float(e.start), float(e.end), e.label.strip())
            for e in grid.getTier(tier).entries if e.label.strip()]


def read_alignment(path: str | os.PathLike) -> dict[str, list[PhoneSegment]]:
    """Alignments by name: a TextGrid gives ``{file stem: segments}``, a CTM ``{utt: ...}``, a
    dir every ``*.TextGrid`` and ``*.ctm`` in it."""
    path = Path(path)
    if path.is_dir():
        out: dict[str, list[PhoneSegment]] = {}
        for item in sorted(path.iterdir()):
            if item.suffix.lower() in (".textgrid", ".ctm"):
                out.update(read_alignment(item))
        if not out:
            raise SitoolError(f"{path}: no .TextGrid or .ctm files in this dir")
        return out
    if not path.is_file():
        raise SitoolError(f"{path}: alignment file not found")
    if path.suffix.lower() == ".textgrid":
        return {path.stem: read_textgrid(path)}
    if path.suffix.lower() == ".ctm":
        try:
            return read_ctm(path)
        except ValueError as e:
            raise SitoolError(f"{path}: bad CTM line ({e}); expected 'utt channel start dur "
                              "phone'") from None
    raise SitoolError(f"{path}: unknown alignment format; give a .TextGrid or a .ctm file")


def alignment_for(alignments: dict[str, list[PhoneSegment]], stem: str,
                  single: bool) -> list[PhoneSegment] | None:
    """The alignment of the input named ``stem``; a lone TextGrid applies to a lone input."""
    if stem in alignments:
        return alignments[stem]
    if single and len(alignments) == 1:
        return next(iter(alignments.values()))
    return None


# ----------------------------------------------------------------------------- summaries

PHONE_COLUMNS = ["index", "phone", "classes", "start_s", "end_s", "target", "unit", "mean",
                 "min", "max", "mid"]


def frames_in(segment: PhoneSegment, n_frames: int, frame_rate: float) -> np.ndarray:
    """Indices of the frames whose time ``i / frame_rate`` lies in ``[start, end)``."""
    first = int(np.ceil(segment.start * frame_rate - 1e-9))
    last = int(np.ceil(segment.end * frame_rate - 1e-9))
    return np.arange(max(first, 0), min(last, n_frames))


def phone_summaries(targets: np.ndarray, info: TargetInfo,
                    segments: Sequence[PhoneSegment]) -> list[dict]:
    """Per phone interval and target: mean, min and max over the interval's frames and the
    value at its midpoint (linear interpolation). An interval shorter than a frame has its
    midpoint value as mean/min/max; intervals past the end of the track are left out."""
    times = np.arange(len(targets)) / info.frame_rate
    arpabet = is_arpabet(s.phone for s in segments)
    rows = []
    for index, seg in enumerate(segments):
        if seg.start >= times[-1] + 1 / info.frame_rate or seg.end <= seg.start:
            continue
        frames = frames_in(seg, len(targets), info.frame_rate)
        mid_t = (seg.start + seg.end) / 2
        for j, (name, unit) in enumerate(zip(info.names, info.units)):
            mid = float(np.interp(mid_t, times, targets[:, j]))
            values = targets[frames, j] if frames.size else np.array([mid])
            rows.append({"index": index, "phone": seg.phone,
                         "classes": ",".join(phone_classes(seg.phone, arpabet)) or "-",
                         "start_s": seg.start, "end_s": seg.end, "target": name, "unit": unit,
                         "mean": float(values.mean()), "min": float(values.min()),
                         "max": float(values.max()), "mid": mid})
    return rows


def format_phone_table(rows: Sequence[dict]) -> str:
    """The per-phone TSV (header + one line per phone interval and target)."""
    lines = ["\t".join(PHONE_COLUMNS)]
    for row in rows:
        cells = []
        for column in PHONE_COLUMNS:
            value = row[column]
            cells.append(f"{value:.6g}" if isinstance(value, float) else str(value))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"
