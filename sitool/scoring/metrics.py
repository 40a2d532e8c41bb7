"""Per-utterance metrics: PPMC and RMSE for trajectories, SI-SDR / PESQ / STOI for audio.

PPMC (product-moment correlation, Pearson's r) is undefined when either track does not vary.
sitool's rule, reported in every table rather than hidden as NaN:

- reference constant (e.g. voicing in a fully voiced utterance): the utterance is EXCLUDED
  from that target's PPMC average and counted (status ``const_ref``);
- prediction constant while the reference varies: PPMC is taken as 0 (the prediction carries
  no linear information about the track) and counted (status ``const_pred``), so a collapsed
  model is not rewarded by dropping its worst utterances.

A track is constant when its standard deviation is at most ``CONSTANT_REL_STD`` times
``max(1, max|x|)`` (float32 round-off on a flat track stays far below that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.datadir import FRAME_TOLERANCE_S
from sitool.errors import SitoolError

CONSTANT_REL_STD = 1e-6
OK = "ok"
CONST_REF = "const_ref"
CONST_PRED = "const_pred"
STATUSES = (OK, CONST_REF, CONST_PRED)

# SI-SDR of an (almost) exact copy is capped here instead of reporting +inf.
SI_SDR_CAP_DB = 100.0


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS: OpenBLAS threads its ``ddot`` on long vectors, which is
    many times slower than a plain vectorised sum on a loaded multi-user machine."""
    return float(np.sum(a * b))


def is_constant(track: np.ndarray) -> bool:
    """True when the 1-D ``track`` does not vary (see the module docstring for the tolerance)."""
    track = np.asarray(track, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(track)))) if track.size else 1.0
    return track.size < 2 or float(np.std(track)) <= CONSTANT_REL_STD * scale


@dataclass(frozen=True)
class PPMC:
    """PPMC of one target in one utterance: ``value`` is None when excluded (``const_ref``)."""

    value: float | None
    status: str


def ppmc(pred: np.ndarray, ref: np.ndarray) -> PPMC:
    """Pearson correlation of two equal-length 1-D tracks, with the constant-track rule."""
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape or pred.ndim != 1:
        raise ValueError(f"ppmc needs two equal-length 1-D tracks, got {pred.shape} and {ref.shape}")
    if is_constant(ref):
        return PPMC(None, CONST_REF)
    if is_constant(pred):
        return PPMC(0.0, CONST_PRED)
    p = pred - pred.mean()
    r = ref - ref.mean()
    value = _dot(p, r) / math.sqrt(_dot(p, p) * _dot(r, r))
    return PPMC(max(-1.0, min(1.0, value)), OK)


def rmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Root-mean-square error of two equal-length tracks, in their units."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    return float(np.sqrt(np.mean(diff ** 2)))


def length_tolerance_frames(frame_rate: float) -> int:
    """Frames by which prediction and reference may differ (data-dir contract: 50 ms + 1 frame)."""
    return int(math.floor(FRAME_TOLERANCE_S * frame_rate + 1e-9)) + 1


def trim_to_shorter(pred: np.ndarray, ref: np.ndarray, frame_rate: float,
                    where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Trim ``pred`` and ``ref`` (``[frames, ...]``) to the shorter; too large a gap is an error."""
    gap = abs(len(pred) - len(ref))
    if gap > length_tolerance_frames(frame_rate):
        raise SitoolError(
            f"{where}: prediction has {len(pred)} frames but the reference has {len(ref)} "
            f"(more than {FRAME_TOLERANCE_S * 1000:.0f} ms + 1 frame apart at {frame_rate:g} Hz); "
            "the decode dir does not match its data dir, re-run sitool decode --overwrite"
        )
    n = min(len(pred), len(ref))
    return pred[:n], ref[:n]


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both signals made zero-mean.

    The estimate is projected onto the reference: target = a*ref with a = <est,ref>/|ref|^2,
    SI-SDR = 10 log10(|target|^2 / |est - target|^2). Capped at ``SI_SDR_CAP_DB`` (an exact
    copy has no error); a silent reference is an error.
    """
    est = np.asarray(estimate, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    n = min(len(est), len(ref))
    est = est[:n] - est[:n].mean()
    ref = ref[:n] - ref[:n].mean()
    ref_energy = _dot(ref, ref)
    if ref_energy <= 0.0:
        raise ValueError("si_sdr: the reference signal is silent")
    target = (_dot(est, ref) / ref_energy) * ref
    target_energy = _dot(target, target)
    error_energy = _dot(est - target, est - target)
    floor = target_energy * 10 ** (-SI_SDR_CAP_DB / 10)
    if target_energy == 0.0:
        return -SI_SDR_CAP_DB
    return float(10 * np.log10(target_energy / max(error_energy, floor)))


def pesq_wb(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> float | None:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO 1.04..4.64) at 16 kHz.

    None when a signal is all zeros or PESQ finds no utterance in it (it cannot be scored).
    """
    import pesq

    if rate != 16000:
        raise ValueError(f"pesq_wb needs 16 kHz audio, got {rate} Hz")
    n = min(len(degraded), len(reference))
    if not np.any(reference[:n]) or not np.any(degraded[:n]):
        return None
    try:
        return float(pesq.pesq(rate, np.asarray(reference[:n], dtype=np.float32),
                               np.asarray(degraded[:n], dtype=np.float32), "wb"))
    except (pesq.NoUtterancesError, pesq.BufferTooShortError):
        return None


def stoi(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE,
         extended: bool = False) -> float | None:
    """Short-time objective intelligibility (Taal et al. 2011, 0..1); ``extended``: ESTOI
    (Jensen & Taal 2016).

    None when pystoi cannot score the pair (fewer than 30 speech frames of 25.6 ms after
    silence removal; pystoi would warn and return 1e-5).
    """
    import warnings

    from pystoi import stoi as _stoi

    n = min(len(degraded), len(reference))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(np.asarray(reference[:n], dtype=np.float64),
                            np.asarray(degraded[:n], dtype=np.float64), rate, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return None
    return value if math.isfinite(value) else None
