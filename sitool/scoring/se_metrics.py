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


def _lpc(frame: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation ``r[0..order]`` and LPC polynomial ``[1, a1..ap]`` (Levinson-Durbin)."""
    r = np.array([np.dot(frame[:len(frame) - k], frame[k:]) for k in range(order + 1)])
    a = np.zeros(order + 1)
    a[0] = 1.0
    error = r[0]
    for i in range(1, order + 1):
        if error <= 0:
            break
        k = -(r[i] + np.dot(a[1:i], r[i - 1:0:-1])) / error
        a[1:i + 1] = a[1:i + 1] + k * a[i - 1::-1][:i]
        error *= 1 - k * k
    return r, a


def llr_frames(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Per-frame log-likelihood ratio log(a_p R_c a_p' / a_c R_c a_c') (R_c: the clean
    frame's autocorrelation matrix; a_c, a_p: clean and processed LPC polynomials)."""
    from scipy.linalg import toeplitz

    length, hop = _geometry(rate)
    order = 10 if rate < 10000 else 16
    out = []
    for c, p in zip(_frames(reference, length, hop), _frames(degraded, length, hop)):
        r_c, a_c = _lpc(c, order)
        _, a_p = _lpc(p, order)
        matrix = toeplitz(r_c)
        den = float(a_c @ matrix @ a_c)
        num = float(a_p @ matrix @ a_p)
        if den <= 0 or num <= 0:
            continue                 # a silent (all-zero) frame carries no spectral envelope
        out.append(math.log(num / den))
    return np.asarray(out)


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
    """For each band, the energy at the nearest spectral peak, found by following the slope
    (the search of Loizou's ``wss.m``, indices as there)."""
    n = len(slope)
    peaks = np.empty(n)
    for i in range(n):
        j = i
        if slope[i] > 0:
            while j < len(energy) - 1 and slope[j] > 0:
                j += 1
            peaks[i] = energy[j - 1]
        else:
            while j >= 0 and slope[j] <= 0:
                j -= 1
            peaks[i] = energy[j + 1]
    return peaks


def wss_frames(degraded: np.ndarray, reference: np.ndarray, rate: int = SAMPLE_RATE,
               kmax: float = 20.0, klocmax: float = 1.0) -> np.ndarray:
    """Per-frame weighted spectral slope distance over 25 critical bands (Klatt 1982)."""
    length, hop = _geometry(rate)
    n_fft = 2 ** int(math.ceil(math.log2(2 * length)))
    filters = _critical_filters(n_fft, rate)
    half = n_fft // 2
    out = []
    for c, p in zip(_frames(reference, length, hop), _frames(degraded, length, hop)):
        specs = [np.abs(np.fft.fft(x, n_fft)[:half]) ** 2 for x in (c, p)]
        energies = [10 * np.log10(np.maximum(filters @ s, 1e-10)) for s in specs]
        slopes = [e[1:] - e[:-1] for e in energies]
        weights = []
        for e, s in zip(energies, slopes):
            peak = _nearest_peaks(e, s)
            w_max = kmax / (kmax + e.max() - e[:-1])
            w_loc = klocmax / (klocmax + peak - e[:-1])
            weights.append(w_max * w_loc)
        w = (weights[0] + weights[1]) / 2
        out.append(float(np.sum(w * (slopes[0] - slopes[1]) ** 2) / np.sum(w)))
    return np.asarray(out)


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
