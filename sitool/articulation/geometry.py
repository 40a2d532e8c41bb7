"""Sensor positions -> tract variables (TVs), in an oriented midsagittal frame.

Frame: every corpus reader gives 2-D midsagittal positions in mm. ``find_orientation`` flips
the axes where needed so that **x grows towards the lips (anterior)** and **y grows upwards**:
the upper lip is in front of the tongue body and above the lower lip in every corpus, whatever
its own sign conventions. Origins are left as the corpus has them (XRMB and HPRC: the upper
incisors; MOCHA and mngu0: the recording system's reference).

Sensors (canonical names, mapped from each corpus' own names by its reader):
UL upper lip, LL lower lip, JAW lower incisors, TT tongue tip, TM tongue blade/mid,
TD tongue dorsum (the body sensor used for TBCL/TBCD).

Tract variables (per frame; ``tract_variables`` returns them in ``TV_NAMES`` order):

======  =====  ==========================================================================
LA      mm     lip aperture: Euclidean distance UL-LL
LP      mm     lip protrusion: mean x of UL and LL minus a reference x (the upper incisors
               where the corpus has them, else the frame's origin); larger = more protruded
TTCD    mm     tongue-tip constriction degree: distance from TT to the palate trace,
               negative when TT is above the trace (measurement error or estimated palate)
TTCL    deg    tongue-tip constriction location: the direction of TT seen from the palate
               centre (``Palate.centre``), 0 = straight ahead (towards the lips),
               90 = straight up, larger = further back; range (-90, 270]
TBCD    mm     tongue-body constriction degree: distance from TD to the palate trace
TBCL    deg    tongue-body constriction location: direction of TD, as TTCL
======  =====  ==========================================================================

Constriction locations are angles (not positions along the palate) so that they keep varying
when the tongue body moves behind the end of the hard-palate trace (back vowels, velars).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from sitool.articulation.palate import Palate
from sitool.errors import SitoolError

TV_NAMES = ("LA", "LP", "TTCL", "TTCD", "TBCL", "TBCD")
TV_UNITS = ("mm", "mm", "deg", "mm", "deg", "mm")
TV_DESCRIPTIONS = {
    "LA": "lip aperture: distance upper lip - lower lip sensor (mm)",
    "LP": "lip protrusion: mean front-back position of the lip sensors relative to the "
          "upper incisors / frame origin, positive forwards (mm)",
    "TTCL": "tongue-tip constriction location: direction of the tongue-tip sensor seen from "
            "the palate centre, 0 = forwards, 90 = up (deg)",
    "TTCD": "tongue-tip constriction degree: distance tongue-tip sensor - palate trace (mm)",
    "TBCL": "tongue-body constriction location: direction of the tongue-dorsum sensor seen "
            "from the palate centre, 0 = forwards, 90 = up (deg)",
    "TBCD": "tongue-body constriction degree: distance tongue-dorsum sensor - palate trace (mm)",
}
TV_SENSORS = ("UL", "LL", "TT", "TD")
TONGUE_SENSORS = ("TT", "TM", "TD")


@dataclass(frozen=True)
class Orientation:
    """Which axes to flip so that x points forwards and y points up."""

    flip_x: bool
    flip_y: bool

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """``xy`` ``[..., 2]`` in the corpus' axes -> the oriented frame."""
        signs = np.array([-1.0 if self.flip_x else 1.0, -1.0 if self.flip_y else 1.0])
        return np.asarray(xy, dtype=np.float64) * signs


def find_orientation(sensors: Mapping[str, np.ndarray], what: str = "") -> Orientation:
    """Orientation from typical sensor layout: UL in front of TD (or TT) and above LL.

    ``sensors`` maps canonical names to ``[T, 2]`` tracks (NaN allowed); medians over frames
    are compared, so a few bad frames do not matter.
    """
    where = f"{what}: " if what else ""
    back = "TD" if "TD" in sensors else "TT"
    for name in ("UL", "LL", back):
        if name not in sensors:
            raise SitoolError(f"{where}cannot orient the sensor axes without sensor {name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # all-NaN -> NaN, handled below
        ul, ll, tongue = (np.nanmedian(np.asarray(sensors[n], dtype=np.float64), axis=0)
                          for n in ("UL", "LL", back))
    forward, up = ul[0] - tongue[0], ul[1] - ll[1]
    if not (np.isfinite(forward) and np.isfinite(up)) or forward == 0 or up == 0:
        raise SitoolError(f"{where}cannot orient the sensor axes: UL, LL and {back} have no "
                          "distinct valid positions")
    return Orientation(flip_x=bool(forward < 0), flip_y=bool(up < 0))


def lip_aperture(ul: np.ndarray, ll: np.ndarray) -> np.ndarray:
    """LA in mm: distance between the lip sensors; ``[T, 2]`` each -> ``[T]``."""
    return np.linalg.norm(np.asarray(ul) - np.asarray(ll), axis=-1)


def lip_protrusion(ul: np.ndarray, ll: np.ndarray, reference_x: float = 0.0) -> np.ndarray:
    """LP in mm: mean x of the lip sensors minus ``reference_x`` (oriented frame)."""
    return 0.5 * (np.asarray(ul)[:, 0] + np.asarray(ll)[:, 0]) - reference_x


def distance_to_polyline(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Shortest distance from each point ``[T, 2]`` to a polyline ``[M, 2]`` -> ``[T]``."""
    points = np.asarray(points, dtype=np.float64)
    a = polyline[:-1][None, :, :]                         # [1, M-1, 2]
    ab = (polyline[1:] - polyline[:-1])[None, :, :]
    ap = points[:, None, :] - a                           # [T, M-1, 2]
    length2 = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    t = np.clip(np.sum(ap * ab, axis=-1) / length2, 0.0, 1.0)
    nearest = a + t[..., None] * ab
    return np.min(np.linalg.norm(points[:, None, :] - nearest, axis=-1), axis=1)


def constriction_degree(sensor: np.ndarray, palate: Palate) -> np.ndarray:
    """Signed distance (mm) from a tongue sensor ``[T, 2]`` to the palate trace.

    Positive below the trace, negative above it (inside the palate: a measurement error, or an
    estimated palate the tongue went higher than).
    """
    sensor = np.asarray(sensor, dtype=np.float64)
    distance = distance_to_polyline(sensor, palate.points)
    above = sensor[:, 1] > palate.height_at(sensor[:, 0])   # NaN height (outside) -> False
    return np.where(above, -distance, distance)


def constriction_location(sensor: np.ndarray, palate: Palate) -> np.ndarray:
    """Direction (degrees) of a tongue sensor ``[T, 2]`` seen from ``palate.centre``.

    0 = straight forwards, 90 = straight up, 180 = straight back; range (-90, 270].
    """
    d = np.asarray(sensor, dtype=np.float64) - palate.centre
    angle = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    return np.where(angle <= -90.0, angle + 360.0, angle)


def tract_variables(sensors: Mapping[str, np.ndarray], palate: Palate,
                    lp_reference_x: float = 0.0) -> np.ndarray:
    """The six TVs, float32 ``[T, 6]`` in ``TV_NAMES`` order, from oriented sensor tracks.

    ``sensors`` maps canonical names (needs UL, LL, TT, TD) to ``[T, 2]`` tracks in mm in the
    oriented frame (see ``find_orientation``); ``palate`` is in the same frame.
    """
    missing = [name for name in TV_SENSORS if name not in sensors]
    if missing:
        raise SitoolError(f"tract variables need sensor(s) {', '.join(missing)}")
    ul, ll, tt, td = (np.asarray(sensors[n], dtype=np.float64) for n in TV_SENSORS)
    columns = {
        "LA": lip_aperture(ul, ll),
        "LP": lip_protrusion(ul, ll, lp_reference_x),
        "TTCL": constriction_location(tt, palate),
        "TTCD": constriction_degree(tt, palate),
        "TBCL": constriction_location(td, palate),
        "TBCD": constriction_degree(td, palate),
    }
    return np.stack([columns[name] for name in TV_NAMES], axis=1).astype(np.float32)
