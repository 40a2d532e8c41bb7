"""Definitions of the synthetic corpus' targets, measured on VocalTractLab's own tube.

At every target frame (100 Hz) the tract state is turned into the tube that the acoustic
simulation uses (``vtlFastTractToTube``: 40 sections from the glottis to the lips, each with
a length, a cross-sectional area and the articulator that bounds it from below: 0 vocal
folds, 1 tongue, 2 lower incisors, 3 lower lip, 4 other), plus the position of the upper
incisors along the tube and the velo-pharyngeal port area. Positions are section centres
measured along the tube's centre line from the glottis. From that tube:

=========  ======  ===========================================================================
name       unit    definition
=========  ======  ===========================================================================
LA         mm^2    lip aperture: smallest area of the lip sections (articulator 3)
LP         mm      lip protrusion: tube length in front of the upper incisors (lip-tube length)
TTCL       mm      tongue-tip constriction location: distance of the constriction in the
                   tongue-tip region behind the upper incisors (along the tube)
TTCD       mm^2    tongue-tip constriction degree: smallest area in the tongue-tip region, i.e.
                   the sections 0-17.5 mm behind the upper incisors (dental-alveolar)
TBCL       mm      tongue-body constriction location: distance behind the upper incisors of
                   the constriction among the tongue sections (articulator 1) more than
                   17.5 mm behind them (postalveolar and palatal to pharyngeal)
TBCD       mm^2    tongue-body constriction degree: smallest area among those sections
VEL        mm^2    velum opening: area of the velo-pharyngeal port
F0         Hz      fundamental frequency the glottis model is driven with (defined everywhere)
VOICING    0/1     1 where the glottis is set to phonate (see ``prosody.voicing``)
=========  ======  ===========================================================================

Constriction locations are the centroid of the region's sections weighted by
``exp(-(area - smallest area) / 10 mm^2)``: the centre of the closed sections at a closure,
the narrow part of the region otherwise, and continuous in time (see ``constriction``).
Closures have area exactly 0 in VocalTractLab's tube, so LA, TTCD and TBCD reach 0.
"""

from __future__ import annotations

import numpy as np

from sitool.datadir import TargetInfo

TONGUE, LOWER_INCISORS, LOWER_LIP, OTHER = 1, 2, 3, 4
TONGUE_TIP_REGION_MM = 17.5
LOCATION_SOFTNESS_MM2 = 10.0

NAMES = ["LA", "LP", "TTCL", "TTCD", "TBCL", "TBCD", "VEL", "F0", "VOICING"]
UNITS = ["mm^2", "mm", "mm", "mm^2", "mm", "mm^2", "mm^2", "Hz", "0/1"]
GEOMETRY_NAMES = NAMES[:7]
DESCRIPTIONS = {
    "LA": "lip aperture: smallest cross-sectional area of the lip sections of VocalTractLab's "
          "tube (0 at bilabial closure)",
    "LP": "lip protrusion: length of the tube in front of the upper incisors (larger for "
          "rounded vowels)",
    "TTCL": "tongue-tip constriction location: distance behind the upper incisors, along the "
            "tube, of the constriction 0-17.5 mm behind them (area-weighted centroid)",
    "TTCD": "tongue-tip constriction degree: smallest area 0-17.5 mm behind the upper incisors "
            "(0 at alveolar closure)",
    "TBCL": "tongue-body constriction location: distance behind the upper incisors of the "
            "constriction among the tongue sections more than 17.5 mm behind them "
            "(area-weighted centroid)",
    "TBCD": "tongue-body constriction degree: smallest area among those tongue sections (0 at "
            "velar closure)",
    "VEL": "velum opening: area of the velo-pharyngeal port (0 when closed, > 0 in nasals)",
    "F0": "fundamental frequency driving the glottis model, defined in unvoiced parts too",
    "VOICING": "1 where the glottis is set to phonate (vibration amplitude >= 0.5 and lung "
               "pressure >= half its maximum), else 0",
}
FRAME_RATE = 100.0


def target_info() -> TargetInfo:
    """The ``targets`` file of the synthetic corpus' data dirs."""
    return TargetInfo(names=list(NAMES), units=list(UNITS), frame_rate=FRAME_RATE,
                      descriptions=dict(DESCRIPTIONS))


def constriction(x_mm: np.ndarray, area_mm2: np.ndarray,
                 sections: np.ndarray) -> tuple[float, float]:
    """(location along the tube in mm, smallest area in mm^2) among ``sections`` (indices).

    The location is the centroid of the sections weighted by
    ``exp(-(area - smallest) / LOCATION_SOFTNESS_MM2)``: the centre of the closed run at a
    closure, and a continuous function of the area function elsewhere (the plain position
    of the minimum jumps between sections whenever two of them are about equally narrow).
    """
    areas = area_mm2[sections]
    smallest = float(areas.min())
    weights = np.exp(-(areas - smallest) / LOCATION_SOFTNESS_MM2)
    return float(np.sum(weights * x_mm[sections]) / np.sum(weights)), smallest


def tube_targets(lengths_cm: np.ndarray, areas_cm2: np.ndarray, articulators: np.ndarray,
                 incisor_cm: float, velum_cm2: float) -> np.ndarray:
    """The 7 geometric targets (LA, LP, TTCL, TTCD, TBCL, TBCD, VEL) of one tube.

    Inputs are one tube from the glottis to the lips: section lengths (cm), areas (cm^2),
    articulator labels, the upper incisors' position (cm from the glottis) and the velum
    opening (cm^2). Returns float64 ``[7]`` in the units of ``UNITS``.
    """
    length_mm = np.asarray(lengths_cm, np.float64) * 10.0
    area_mm2 = np.asarray(areas_cm2, np.float64) * 100.0
    labels = np.asarray(articulators)
    x_mm = np.cumsum(length_mm) - 0.5 * length_mm
    incisor_mm = incisor_cm * 10.0
    behind = incisor_mm - x_mm

    lips = np.flatnonzero(labels == LOWER_LIP)
    if lips.size == 0:
        lips = np.flatnonzero(behind < 0)
    if lips.size == 0:
        lips = np.array([len(area_mm2) - 1])
    la = float(area_mm2[lips].min())
    lp = float(length_mm.sum() - incisor_mm)

    tip = np.flatnonzero((behind >= 0) & (behind <= TONGUE_TIP_REGION_MM))
    if tip.size == 0:
        tip = np.array([int(np.flatnonzero(behind >= 0)[-1])])
    tt_x, ttcd = constriction(x_mm, area_mm2, tip)

    body = np.flatnonzero((labels == TONGUE) & (behind > TONGUE_TIP_REGION_MM))
    if body.size == 0:
        raise ValueError("tube has no tongue section behind the tongue-tip region")
    tb_x, tbcd = constriction(x_mm, area_mm2, body)
    return np.array([la, lp, incisor_mm - tt_x, ttcd, incisor_mm - tb_x, tbcd,
                     velum_cm2 * 100.0])
