"""Wisconsin X-ray Microbeam (XRMB) reader (``sitool prepare xrmb``).

Corpus: the University of Wisconsin X-ray Microbeam Speech Production Database (Westbury,
1994): about 47 American English speakers, each with up to ~100 tasks (word lists,
sentences, passages); gold pellets tracked on the midsagittal plane. The original CD-ROM
stores audio (``.ACC``) and pellets (``.XYD``) in its own compressed formats, with per-speaker
palate and pharynx traces (``PAL.DAT``, ``PHA.DAT``). Obtain it from the University of
Wisconsin (it is not bundled with sitool; check its licence terms).

sitool reads the plain-text conversion used in speech-inversion work, one pair per task::

    <root>/.../jw11_tp005.txy     rows: time (us), then x y (um) for the pellets
                                  UL LL T1 T2 T3 T4 MNI MNM  (17 numbers per row)
    <root>/.../jw11_tp005.wav     the task's audio
    <root>/<speaker>/PAL.DAT      optional palate trace: rows whose first two numbers are
                                  x y in um (other lines ignored); public copies also name
                                  it <speaker>_pal.dat (anywhere under the root)

Pellet frame rate about 145.6 Hz (sitool uses the time column, so any rate works). The value
1000000 in a coordinate marks a mistracked pellet (read as missing). Coordinates are in the
maxillary occlusal-plane frame with the origin at the upper incisors, so LP is measured from
x = 0. The speaker is the file name before the first ``_`` (``jw11``).

Mapping to canonical sensors: UL->UL, LL->LL, MNI->JAW (mandible, incisor), T1->TT, T2->TM,
T3->TD (T4, the rearmost tongue pellet, is often mistracked and is not used by default).
Palate file names looked for (case-insensitive): in the speaker's directory ``PAL.DAT``,
``pal.txt``, ``palate.txt``; anywhere, named after the speaker, ``<speaker>_pal.dat``,
``<speaker>_pal.txt``, ``<speaker>.pal``. The pharynx trace (``PHA.DAT`` /
``<speaker>_pha.dat``) is recognised but not used (no tract variable needs it). A speaker
without a palate trace gets an estimated palate, announced as a WARNING: the estimate (the
upper envelope of the tongue pellets) can lie tens of mm from the traced palate, which shifts
that speaker's TTCD/TBCD by as much.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.corpora.recording import (CorpusReader, Recording, RecordingRef, index_files,
                                      pair_with_audio, require_root)
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

NAME = "xrmb"
SUMMARY = "XRMB (Wisconsin X-ray microbeam): .txy pellet text + .wav -> data dirs."
PELLETS = ("UL", "LL", "T1", "T2", "T3", "T4", "MNI", "MNM")
SENSOR_PELLETS = {"UL": "UL", "LL": "LL", "JAW": "MNI", "TT": "T1", "TM": "T2", "TD": "T3"}
MISSING = 1000000.0
UM_TO_MM = 1e-3
US_TO_S = 1e-6
PALATE_NAMES = ("pal.dat", "pal.txt", "palate.txt")                # in the speaker's directory
SPEAKER_PALATE_NAMES = ("{spk}_pal.dat", "{spk}_pal.txt", "{spk}.pal")    # anywhere
PHARYNX_NAMES = ("pha.dat", "{spk}_pha.dat")                           # recognised, not used


def read_txy(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(times [N] s, {pellet: [N, 2] mm})``; mistracked samples are NaN."""
    rows = []
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 1 + 2 * len(PELLETS):
                raise SitoolError(f"{path}:{lineno}: expected {1 + 2 * len(PELLETS)} numbers "
                                  f"(time, then x y for {' '.join(PELLETS)}), got {len(parts)}")
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                raise SitoolError(f"{path}:{lineno}: non-numeric value in {line.strip()!r}") \
                    from None
    if len(rows) < 2:
        raise SitoolError(f"{path}: {len(rows)} pellet frame(s); the file is empty or truncated")
    data = np.array(rows)
    coords = data[:, 1:]
    coords[np.isclose(coords, MISSING) | ~np.isfinite(coords)] = np.nan
    pellets = {}
    for i, name in enumerate(PELLETS):
        xy = coords[:, 2 * i: 2 * i + 2] * UM_TO_MM
        xy[np.isnan(xy).any(axis=1)] = np.nan           # a half-missing pellet is missing
        pellets[name] = xy
    return data[:, 0] * US_TO_S, pellets


def find(root: Path) -> list[RecordingRef]:
    root = require_root(root, NAME)
    refs = []
    for stem, txy, wav in pair_with_audio(index_files(root, ".txy"), index_files(root, ".wav"),
                                          root, NAME, ".txy"):
        refs.append(RecordingRef(utt=stem, speaker=stem.split("_")[0],
                                 paths={"txy": txy, "wav": wav}))
    return refs


def load(ref: RecordingRef) -> Recording:
    times, pellets = read_txy(ref.paths["txy"])
    sensors = {name: pellets[pellet] for name, pellet in SENSOR_PELLETS.items()}
    return Recording(utt=ref.utt, speaker=ref.speaker, times=times, sensors=sensors,
                     audio_path=ref.paths["wav"])


def read_palate_file(path: Path) -> np.ndarray:
    """``[M, 2]`` palate points in mm from a text file of ``x y ...`` rows in um."""
    points = []
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.replace(",", " ").split()
        try:
            x, y = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            continue
        if np.isclose(x, MISSING) or np.isclose(y, MISSING):
            continue
        points.append((x * UM_TO_MM, y * UM_TO_MM))
    if len(points) < 2:
        raise SitoolError(f"{path}: no palate points (expected rows 'x y' in micrometres)")
    return np.array(points)


def palates(root: Path, speakers: Sequence[str]) -> dict[str, np.ndarray]:
    wanted = {spk.lower(): spk for spk in speakers}
    found: dict[str, np.ndarray] = {}
    for dirpath, _, filenames in os.walk(root, followlinks=True):
        owner_dir = wanted.get(Path(dirpath).name.lower())
        for filename in filenames:
            lower = filename.lower()
            owner = None
            if lower in PALATE_NAMES and owner_dir:
                owner = owner_dir
            for key, spk in wanted.items():
                if lower in (name.format(spk=key) for name in SPEAKER_PALATE_NAMES):
                    owner = spk
            if owner and owner not in found:
                try:
                    found[owner] = read_palate_file(Path(dirpath) / filename)
                except SitoolError as e:
                    log.warning("xrmb: %s; the palate of %s will be estimated", e, owner)
                    continue
                log.info("xrmb: palate trace for %s from %s", owner, Path(dirpath) / filename)
    names = ", ".join(n.upper() for n in PALATE_NAMES[:1]) + ", " + ", ".join(
        n.format(spk="<speaker>") for n in SPEAKER_PALATE_NAMES)
    for spk in speakers:
        if spk not in found:
            log.warning("xrmb: no palate trace for speaker %s (looked for %s under %s); its "
                        "palate is estimated from the tongue pellets, which can shift its TTCD "
                        "and TBCD by tens of mm against the traced palate - copy the speaker's "
                        "PAL.DAT from the corpus to fix it", spk, names, root)
    return found


READER = CorpusReader(name=NAME, find=find, load=load, palates=palates)
