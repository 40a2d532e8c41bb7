"""Speech-enhancement measures as the SE literature reports them, beside PESQ-WB/STOI/SI-SDR
(``sitool.scoring.metrics``). All take ``degraded`` and ``reference`` 1-D float signals at 16 kHz.

- ``estoi``: extended STOI (Jensen & Taal 2016), pystoi's ``extended=True``.
- ``pesq_nb``: narrow-band PESQ (ITU-T P.862 with the P.862.1 MOS-LQO mapping), ``pesq`` in
  ``nb`` mode (the signal is band-limited to telephone band inside P.862).
- ``composite``: CSIG, CBAK, COVL of Hu & Loizou (2008), "Evaluation of objective quality
  measures for speech enhancement", IEEE TASLP 16(1): linear combinations of the log-likelihood
  ratio (LLR), the weighted-spectral-slope distance (WSS, Klatt 1982), segmental SNR and PESQ,
  fitted to listeners' ratings of signal distortion, background intrusiveness and overall
  quality, each clipped to [1, 5]::

      CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS
      CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR
      COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS

  Frames of 30 ms, hop 7.5 ms (75 % overlap), Hann window, as in Loizou's reference code
  (``composite.m``, "Speech Enhancement: Theory and Practice"): LLR with LPC order 16 at
  16 kHz (10 below 10 kHz) and WSS over 25 critical bands (Kmax 20, Klocmax 1), each the mean
  of the lowest 95 % of frame values; segSNR the mean of frame SNRs clamped to [-10, 35] dB.
  The PESQ term is narrow-band P.862 (``pesq_nb``) as in the published fit, on the 16 kHz
  signals.

Functions return None where a measure is undefined (PESQ finds no speech).
"""

from __future__ import annotations

import math

import numpy as np

from sitool.audio import SAMPLE_RATE

# Critical-band centre frequencies and bandwidths in Hz (Klatt 1982; Loizou's wss.m).
CENTRE_HZ = np.array([50.0, 120, 190, 260, 330, 400, 470, 540, 617.372, 703.378, 798.717,
                      904.128, 1020.38, 1148.30, 1288.72, 1442.54, 1610.70, 1794.16, 1993.93,
                      2211.08, 2446.71, 2701.97, 2978.04, 3276.17, 3597.63])
BANDWIDTH_HZ = np.array([70.0, 70, 70, 70, 70, 70, 70, 77.3724, 86.0056, 95.3398, 105.411,
                         116.256, 127.914, 140.423, 153.823, 168.154, 183.457, 199.776, 217.153,
                         235.631, 255.255, 276.072, 298.126, 321.465, 346.136])
FRAME_S = 0.030
SEGSNR_RANGE = (-10.0, 35.0)
KEEP = 0.95         # LLR and WSS: mean over the lowest 95 % of frames


def estoi(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> float | None:
    """Extended STOI (pystoi, ``extended=True``); None where STOI is undefined too."""
    from sitool.scoring.metrics import stoi

    return stoi(degraded, reference, rate, extended=True)


def pesq_nb(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> float | None:
    """Narrow-band PESQ (P.862 + P.862.1 MOS-LQO, about 1.0-4.5); None when a signal is
    silent or P.862 finds no utterance."""
    import pesq

    n = min(len(degraded), len(reference))
    if not np.any(reference[:n]) or not np.any(degraded[:n]):
        return None
    try:
        return float(pesq.pesq(rate, np.asarray(reference[:n], dtype=np.float32),
                               np.asarray(degraded[:n], dtype=np.float32), "nb"))
    except (pesq.NoUtterancesError, pesq.BufferTooShortError):
        return None


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """``[n_frames, length]`` Hann-windowed frames: ``(len - length) // hop`` of them, i.e.
    the last whole frame is left out, as in the reference code's frame count."""
    n = max(0, (len(x) - length) // hop)
    idx = np.arange(length)[None, :] + hop * np.arange(n)[:, None]
    return x[idx] * np.hanning(length + 2)[1:-1][None, :]


def _geometry(rate: int) -> tuple[int, int]:
    length = int(round(FRAME_S * rate))
    return length, length // 4


def segmental_snr(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Mean over frames of 10 log10(|clean|^2 / |clean - processed|^2), each in [-10, 35] dB."""
    length, hop = _geometry(rate)
    clean = _frames(reference, length, hop)
    noise = clean - _frames(degraded, length, hop)
    eps = np.finfo(np.float64).eps
    snr = 10 * np.log10(np.sum(clean ** 2, 1) / (np.sum(noise ** 2, 1) + eps) + eps)
    return float(np.mean(np.clip(snr, *SEGSNR_RANGE)))


def _lpc(frames: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (rows): autocorrelation ``r[0..order]`` and LPC polynomial ``[1, a1..ap]``
    (Levinson-Durbin, all frames at once)."""
    n, length = frames.shape
    r = np.stack([np.sum(frames[:, :length - k] * frames[:, k:], axis=1)
                  for k in range(order + 1)], axis=1)
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    for i in range(1, order + 1):
        ok = error > 0
        acc = r[:, i] + np.sum(a[:, 1:i] * r[:, i - 1:0:-1], axis=1)
        k = np.where(ok, -acc / np.where(ok, error, 1.0), 0.0)
        a[:, 1:i + 1] = a[:, 1:i + 1] + k[:, None] * a[:, i - 1::-1][:, :i]
        error = error * (1 - k * k)
    return r, a


def _toeplitz_form(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Per row: ``a T(r) a'`` with ``T(r)`` the symmetric Toeplitz matrix of ``r``."""
    order = a.shape[1] - 1
    out = r[:, 0] * np.sum(a * a, axis=1)
    for d in range(1, order + 1):
        out += 2 * r[:, d] * np.sum(a[:, :order + 1 - d] * a[:, d:], axis=1)
    return out


def llr_frames(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Per-frame log-likelihood ratio log(a_p R_c a_p' / a_c R_c a_c') (R_c: the clean
    frame's autocorrelation matrix; a_c, a_p: clean and processed LPC polynomials)."""
    length, hop = _geometry(rate)
    order = 10 if rate < 10000 else 16
    r_c, a_c = _lpc(_frames(reference, length, hop), order)
    _, a_p = _lpc(_frames(degraded, length, hop), order)
    num, den = _toeplitz_form(a_p, r_c), _toeplitz_form(a_c, r_c)
    keep = (num > 0) & (den > 0)      # a silent (all-zero) frame carries no spectral envelope
    return np.log(num[keep] / den[keep])


def _critical_filters(n_fft: int, rate: int) -> np.ndarray:
    half = n_fft // 2
    top = rate / 2
    bw_min = BANDWIDTH_HZ[0]
    bins = np.arange(half)
    centre = CENTRE_HZ / top * half
    width = BANDWIDTH_HZ / top * half
    norm = np.log(bw_min) - np.log(BANDWIDTH_HZ)
    filt = np.exp(-11 * ((bins[None, :] - np.floor(centre)[:, None]) / width[:, None]) ** 2
                  + norm[:, None])
    return filt * (filt > math.exp(-30 / (2 * 2.303)))     # the filter's -30 dB point


def _nearest_peaks(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Per frame (rows) and band, the energy at the nearest spectral peak, found by following
    the slope (the search of Loizou's ``wss.m``, indices as there): on a rising slope the
    band before the first non-rising one at or above it, else the band after the last
    rising one at or below it."""
    n_frames, n = slope.shape
    idx = np.arange(n)
    last = energy.shape[1] - 1
    # first j >= i with slope <= 0 (else ``last``), and last j <= i with slope > 0 (else -1)
    up = np.minimum.accumulate(np.where(slope <= 0, idx, last)[:, ::-1], axis=1)[:, ::-1]
    down = np.maximum.accumulate(np.where(slope > 0, idx, -1), axis=1)
    j = np.where(slope > 0, np.minimum(up, last) - 1, down + 1)
    return np.take_along_axis(energy, j, axis=1)


def wss_frames(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE,
               kmax: float = 20.0, klocmax: float = 1.0) -> np.ndarray:
    """Per-frame weighted spectral slope distance over 25 critical bands (Klatt 1982)."""
    length, hop = _geometry(rate)
    n_fft = 2 ** int(math.ceil(math.log2(2 * length)))
    filters = _critical_filters(n_fft, rate)
    half = n_fft // 2
    weights, slopes = [], []
    for x in (reference, degraded):
        spec = np.abs(np.fft.rfft(_frames(x, length, hop), n_fft, axis=1)[:, :half]) ** 2
        energy = 10 * np.log10(np.maximum(spec @ filters.T, 1e-10))
        slope = energy[:, 1:] - energy[:, :-1]
        peak = _nearest_peaks(energy, slope)
        w_max = kmax / (kmax + energy.max(axis=1, keepdims=True) - energy[:, :-1])
        w_loc = klocmax / (klocmax + peak - energy[:, :-1])
        weights.append(w_max * w_loc)
        slopes.append(slope)
    w = (weights[0] + weights[1]) / 2
    return np.sum(w * (slopes[0] - slopes[1]) ** 2, axis=1) / np.sum(w, axis=1)


def _lowest_mean(values: np.ndarray) -> float:
    if values.size == 0:
        return math.nan
    keep = max(1, int(round(len(values) * KEEP)))
    return float(np.mean(np.sort(values)[:keep]))


def composite(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE,
              pesq_value: float | None = None) -> dict[str, float | None]:
    """``csig``, ``cbak``, ``covl`` and their inputs ``llr``, ``wss``, ``segsnr``, ``pesq_nb``
    (``pesq_value``: a narrow-band PESQ already computed). None when PESQ is undefined."""
    n = min(len(degraded), len(reference))
    eps = np.finfo(np.float64).eps        # as the reference code: no exactly-zero frame
    deg = np.asarray(degraded[:n], dtype=np.float64) + eps
    ref = np.asarray(reference[:n], dtype=np.float64) + eps
    llr = _lowest_mean(llr_frames(deg, ref, rate))
    wss = _lowest_mean(wss_frames(deg, ref, rate))
    seg = segmental_snr(deg, ref, rate)
    pesq_value = pesq_nb(deg, ref, rate) if pesq_value is None else pesq_value
    out: dict[str, float | None] = {"llr": llr, "wss": wss, "segsnr": seg, "pesq_nb": pesq_value}
    if pesq_value is None or math.isnan(llr) or math.isnan(wss):
        return {**out, "csig": None, "cbak": None, "covl": None}

    def clip(v: float) -> float:
        return float(min(5.0, max(1.0, v)))

    out["csig"] = clip(3.093 - 1.029 * llr + 0.603 * pesq_value - 0.009 * wss)
    out["cbak"] = clip(1.634 + 0.478 * pesq_value - 0.007 * wss + 0.063 * seg)
    out["covl"] = clip(1.594 + 0.805 * pesq_value - 0.512 * llr - 0.007 * wss)
    return out
