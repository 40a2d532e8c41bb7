"""The palate trace that tongue constriction degrees are measured against.

A palate is a polyline in the oriented midsagittal frame (see ``sitool.articulation.geometry``:
x grows towards the lips, y grows upwards, millimetres), ordered from its front end (behind the
upper incisors) to its back end (towards the soft palate).

It comes from the corpus when the corpus has one (XRMB ``PAL.DAT``, HPRC ``*_palate.mat``, a
``palate`` file of a generic corpus), or is estimated from the speaker's own tongue movements:
every time the tongue touches the roof of the mouth a tongue sensor sits on the palate, so the
upper envelope of all tongue-sensor positions (a high quantile of their height, in narrow
front-back bins) traces the palate wherever the tongue reaches it. The estimate lies on or just
below the true palate, so estimated constriction degrees are "distance below the highest place
the tongue reached there" and are close to 0 at full closure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from sitool.errors import SitoolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Palate:
    """A palate trace: ``points`` ``[M, 2]`` (x, y) in mm, ordered front (largest x) to back."""

    points: np.ndarray
    source: str

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
            raise SitoolError(f"palate ({self.source}): need at least 2 (x, y) points, "
                              f"got shape {points.shape}")
        if not np.all(np.isfinite(points)):
            raise SitoolError(f"palate ({self.source}): trace has NaN/Inf points")
        order = np.argsort(-points[:, 0], kind="stable")
        object.__setattr__(self, "points", points[order])

    @property
    def length(self) -> float:
        """Front-back extent of the trace in mm."""
        return float(self.points[0, 0] - self.points[-1, 0])

    @property
    def centre(self) -> np.ndarray:
        """The point constriction locations are measured around, ``[2]`` in mm.

        Horizontally half-way between the trace's ends; vertically half the trace's length
        below the mean height of its two ends, i.e. well below the tongue's working space, so
        that no tongue sensor passes straight below it (where the angle would wrap).
        """
        front, back = self.points[0], self.points[-1]
        x = 0.5 * (front[0] + back[0])
        y = 0.5 * (front[1] + back[1]) - 0.5 * max(self.length, 1.0)
        return np.array([x, y])

    def height_at(self, x: np.ndarray) -> np.ndarray:
        """Palate height (mm) at front-back positions ``x``; NaN outside the trace."""
        xs, ys = self.points[::-1, 0], self.points[::-1, 1]
        heights = np.interp(x, xs, ys)
        return np.where((x >= xs[0]) & (x <= xs[-1]), heights, np.nan)


def estimate_palate(points: np.ndarray, bin_mm: float = 2.0, quantile: float = 0.98,
                    min_points: int = 5, speaker: str = "") -> Palate:
    """Estimate a palate as the upper envelope of tongue-sensor positions.

    ``points`` ``[N, 2]`` are (x, y) positions in mm in the oriented frame, pooled over all
    tongue sensors and all frames of one speaker (NaN rows are ignored). The x range is cut
    into ``bin_mm`` bins; each bin with at least ``min_points`` samples contributes the
    ``quantile`` of its heights at its centre; the heights are smoothed with a 3-bin running
    mean (ends kept) and empty interior bins are bridged linearly.
    """
    points = np.asarray(points, dtype=np.float64)
    points = points[np.all(np.isfinite(points), axis=1)]
    who = f" for speaker {speaker}" if speaker else ""
    if len(points) < 4 * min_points:
        raise SitoolError(f"cannot estimate a palate{who}: only {len(points)} valid tongue "
                          "positions; give a palate trace (--palate) instead")
    x, y = points[:, 0], points[:, 1]
    edges = np.arange(np.floor(x.min()), x.max() + bin_mm, bin_mm)
    index = np.clip(np.digitize(x, edges) - 1, 0, len(edges) - 2)
    centres, heights = [], []
    for b in range(len(edges) - 1):
        in_bin = y[index == b]
        if len(in_bin) >= min_points:
            centres.append(0.5 * (edges[b] + edges[b + 1]))
            heights.append(np.quantile(in_bin, quantile))
    if len(centres) < 3:
        raise SitoolError(f"cannot estimate a palate{who}: the tongue sensors cover only "
                          f"{len(centres)} bin(s) of {bin_mm} mm; give a palate trace instead")
    centres, heights = np.array(centres), np.array(heights)
    smoothed = heights.copy()
    smoothed[1:-1] = (heights[:-2] + heights[1:-1] + heights[2:]) / 3.0
    grid = np.arange(centres[0], centres[-1] + 1e-9, bin_mm)
    trace = np.stack([grid, np.interp(grid, centres, smoothed)], axis=1)
    log.debug("palate%s estimated from %d tongue positions: %d points over %.1f mm",
              who, len(points), len(trace), grid[-1] - grid[0])
    return Palate(trace, f"estimated from the upper envelope of {len(points)} tongue positions")
