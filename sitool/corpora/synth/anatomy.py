"""Speaker anatomies and the adaptation of JD3 articulation to them (pure numpy).

VocalTractLab describes a vocal-tract anatomy by 13 parameters (cm, and one angle in degrees)
and an articulation by 19 tract parameters (positions in cm in the model's midsagittal
coordinates, with the origin near the upper incisors' root: x grows towards the lips, y up).
The gestural-score generator only knows the JD3 articulation, so a motor trajectory made for
JD3 must be mapped onto a scaled anatomy, otherwise closures are missed or vowels closed.

The mapping used here (after the scaling idea of VocalTractLab's anatomy model): horizontal
tongue coordinates scale with the soft-palate length behind x = 0 and with the hard-palate
length in front of it; vertical coordinates keep their offset from the palate height, scaled
by the pharynx-length ratio at the back of the mouth and by the ratio of the front heights
(palate + molars + mandible) at the front, blended linearly along the palate. For the
tongue-body centre the blend leans towards the pharynx ratio for short tracts
(``tongue_body_blend``): measured on JD3, this keeps velar closures complete in /i/ context
down to ``pharynx_scale`` 0.85 without closing the vowels.
"""

from __future__ import annotations

import numpy as np

# Anatomy parameter indices (VocalTractLab order).
LIP_WIDTH, MANDIBLE_HEIGHT, LOWER_MOLARS, UPPER_MOLARS, PALATE_HEIGHT, PALATE_DEPTH, \
    HARD_PALATE, SOFT_PALATE, PHARYNX, LARYNX_LENGTH, LARYNX_WIDTH, VOCAL_FOLDS, \
    ORAL_PHARYNGEAL_ANGLE = range(13)
ORAL_PARAMS = (LIP_WIDTH, MANDIBLE_HEIGHT, PALATE_HEIGHT, PALATE_DEPTH, HARD_PALATE, SOFT_PALATE)
PHARYNX_PARAMS = (PHARYNX, LARYNX_LENGTH, LARYNX_WIDTH, VOCAL_FOLDS)

# Tract parameter indices (VocalTractLab order).
TRACT_PARAMS = ("HX", "HY", "JX", "JA", "LP", "LD", "VS", "VO", "TCX", "TCY", "TTX", "TTY",
                "TBX", "TBY", "TRX", "TRY", "TS1", "TS2", "TS3")
HX, HY, JX, JA, LP, LD, VS, VO, TCX, TCY, TTX, TTY, TBX, TBY, TRX, TRY, TS1, TS2, TS3 = \
    range(len(TRACT_PARAMS))
TONGUE_POINTS = ((TCX, TCY), (TTX, TTY), (TBX, TBY), (TRX, TRY))


def scaled_anatomy(reference: np.ndarray, oral_scale: float, pharynx_scale: float) -> np.ndarray:
    """JD3's 13 anatomy parameters with the oral and pharyngeal dimensions scaled."""
    params = np.array(reference, dtype=np.float64, copy=True)
    params[list(ORAL_PARAMS)] *= oral_scale
    params[list(PHARYNX_PARAMS)] *= pharynx_scale
    return params


def tongue_body_blend(pharynx_scale: float) -> float:
    """Weight of the front-height ratio in the tongue-body centre's vertical scaling.

    1 (the plain along-the-palate blend) for tracts at least as long as JD3's, falling
    linearly to 0 (pharynx ratio only) at ``pharynx_scale`` 0.85 and below.
    """
    return float(np.clip((pharynx_scale - 0.85) / 0.15, 0.0, 1.0))


def adapt_articulation(tract: np.ndarray, reference: np.ndarray, anatomy: np.ndarray,
                       body_blend: float = 1.0) -> np.ndarray:
    """Map JD3 tract parameters ``[..., 19]`` onto ``anatomy`` (13 params, cm).

    ``reference`` is JD3's anatomy; ``body_blend`` is ``tongue_body_blend(pharynx_scale)``.
    Returns a new array of the same shape.
    """
    tract = np.asarray(tract, dtype=np.float64)
    out = tract.copy()
    a0, a1 = np.asarray(reference, np.float64), np.asarray(anatomy, np.float64)
    back_ratio = a1[PHARYNX] / a0[PHARYNX]
    front0 = a0[PALATE_HEIGHT] + a0[UPPER_MOLARS] + a0[LOWER_MOLARS] + a0[MANDIBLE_HEIGHT]
    front1 = a1[PALATE_HEIGHT] + a1[UPPER_MOLARS] + a1[LOWER_MOLARS] + a1[MANDIBLE_HEIGHT]
    front_ratio = front1 / front0
    palate0 = a0[SOFT_PALATE] + a0[HARD_PALATE]

    def new_x(x: np.ndarray) -> np.ndarray:
        return np.where(x < 0, x * a1[SOFT_PALATE] / a0[SOFT_PALATE],
                        x * a1[HARD_PALATE] / a0[HARD_PALATE])

    def new_y(x: np.ndarray, y: np.ndarray, blend: float = 1.0) -> np.ndarray:
        front_weight = blend * np.clip((x + a0[SOFT_PALATE]) / palate0, 0.0, 1.0)
        ratio = (1.0 - front_weight) * back_ratio + front_weight * front_ratio
        return a1[PALATE_HEIGHT] + (y - a0[PALATE_HEIGHT]) * ratio

    out[..., HY] = new_y(np.zeros_like(tract[..., HY]), tract[..., HY])
    out[..., JX] = tract[..., JX] * (a1[SOFT_PALATE] + a1[HARD_PALATE]) / palate0
    out[..., LD] = tract[..., LD] * back_ratio
    for ix, iy in TONGUE_POINTS:
        blend = body_blend if iy == TCY else 1.0
        out[..., ix] = new_x(tract[..., ix])
        out[..., iy] = new_y(tract[..., ix], tract[..., iy], blend)
    out[..., [TS1, TS2, TS3]] = tract[..., [TS1, TS2, TS3]] * a1[PALATE_DEPTH] / a0[PALATE_DEPTH]
    return out
