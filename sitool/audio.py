"""Audio input/output: soundfile for reading and writing, scipy's polyphase filter for resampling.

Every model in sitool works at 16 kHz mono float32. ``load_audio`` turns whatever a corpus
holds into that, and reports bad files (missing, unreadable, empty, non-finite, multichannel
where mono is required) as one clear line naming the file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from sitool.errors import SitoolError

SAMPLE_RATE = 16000
MIN_SSL_SAMPLES = 400  # 25 ms at 16 kHz: the SSL conv encoder's receptive field, the shortest input
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}

log = logging.getLogger(__name__)

CLIPPED_FRACTION = 0.001   # integer audio with this share of samples at full scale is clipped
SILENT_PEAK = 10 ** (-80 / 20)   # a peak below -80 dBFS (3 LSB of 16 bit): silent input
INTEGER_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}

RESAMPLE_LOG_INTERVAL_S = 300.0  # at most one INFO line about load-time resampling per this long


class ResampleLog:
    """Counts files resampled on load, per (file rate, rate): one DEBUG line per file and at
    most one INFO line per ``interval`` seconds summarising the count since the last one
    (the first file of a process gets its line at once). A corpus at another rate is
    resampled again on every read; ``sitool prepare``/``prepare-noise`` write 16 kHz copies."""

    def __init__(self, interval: float = RESAMPLE_LOG_INTERVAL_S):
        self.interval = interval
        self.counts: Counter = Counter()      # (from, to) -> files, since the process started
        self._pending: Counter = Counter()    # (from, to) -> files not yet in an INFO line
        self._last_info = -float("inf")
        self._lock = threading.Lock()

    def note(self, path: str | os.PathLike, orig_rate: int, new_rate: int) -> None:
        log.debug("%s: resampling %d Hz -> %d Hz", path, orig_rate, new_rate)
        with self._lock:
            self.counts[orig_rate, new_rate] += 1
            self._pending[orig_rate, new_rate] += 1
            now = time.monotonic()
            if now - self._last_info < self.interval:
                return
            self._last_info = now
            pending, self._pending = self._pending, Counter()
        log.info("resampled %s on load (prepare the audio at %d Hz to skip this; -v lists "
                 "the files)", "; ".join(f"{n} file(s) from {a} Hz to {b} Hz"
                                         for (a, b), n in sorted(pending.items())), new_rate)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self._pending.clear()
            self._last_info = -float("inf")


RESAMPLE_LOG = ResampleLog()


def read_audio_file(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``[samples, channels]`` and its sample rate."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: audio file not found")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise SitoolError(f"{path}: unreadable audio ({e}); re-encode it as WAV/FLAC") from None
    if data.shape[0] == 0:
        raise SitoolError(f"{path}: audio file is empty (0 samples)")
    if not np.all(np.isfinite(data)):
        raise SitoolError(f"{path}: audio contains NaN or Inf samples")
    return data, int(rate)


def level_warnings(data: np.ndarray, subtype: str = "") -> list[str]:
    """What is wrong with the level of ``data`` (float samples as read, any channels;
    ``subtype``: the file's soundfile subtype): samples beyond full scale (float files can
    hold them; written as integers they would clip), clipping (integer audio with many
    samples at full scale) or silence. Empty when the level is fine."""
    data = np.asarray(data)
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    notes = []
    if peak > 1.0:
        count = int(np.count_nonzero(np.abs(data) > 1.0))
        notes.append(f"out of range: peak {peak:.4g} ({20 * np.log10(peak):.1f} dB above full "
                     f"scale 1.0), {count} sample(s) ({100 * count / data.size:.2g} %) beyond it")
    bits = INTEGER_BITS.get(subtype.upper())
    if bits is not None and data.size:
        full = 1.0 - 1.5 / 2 ** (bits - 1)          # within one step of either extreme
        count = int(np.count_nonzero(np.abs(data) >= full))
        if count >= max(2, CLIPPED_FRACTION * data.size):
            notes.append(f"clipped: {count} sample(s) ({100 * count / data.size:.2g} %) at "
                         f"full scale ({subtype}); record at a lower level")
    if peak < SILENT_PEAK:
        level = (f"peak {20 * np.log10(peak):.0f} dBFS (below "
                 f"{20 * np.log10(SILENT_PEAK):.0f} dBFS)") if peak > 0 else "every sample is 0"
        notes.append(f"silent: {level}; the outputs describe no speech")
    return notes


def resample(signal: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Resample a 1-D float32 signal: polyphase FIR (Kaiser-windowed sinc) low-pass at the
    lower Nyquist rate, ``scipy.signal.resample_poly``. Output length ceil(n * new / orig).

    scipy rather than torchaudio so that audio loading (and the synthesis workers) need no
    torch import, which costs ~2 s and ~700 MB per process.
    """
    if orig_rate == new_rate:
        return signal
    from math import gcd

    from scipy.signal import resample_poly

    step = gcd(orig_rate, new_rate)
    out = resample_poly(np.asarray(signal, dtype=np.float64), new_rate // step, orig_rate // step)
    return out.astype(np.float32)


def load_audio(
    path: str | os.PathLike,
    rate: int = SAMPLE_RATE,
    downmix: bool = False,
    note: bool = False,
    warnings: list[str] | None = None,
) -> np.ndarray:
    """Load ``path`` as mono float32 at ``rate`` Hz.

    Multichannel audio is an error unless ``downmix`` (then channels are averaged and a note
    is logged). Other sample rates are resampled: counted by ``RESAMPLE_LOG`` (a DEBUG line
    per file, an INFO summary at most every 5 min), or with ``note`` (a user's own file, as
    ``sitool invert`` reads it) an INFO line naming the file. ``warnings``: a list that gets
    :func:`level_warnings` of the file's samples as read (before downmix and resampling).
    """
    data, file_rate = read_audio_file(path)
    if warnings is not None:
        warnings.extend(level_warnings(data, audio_info(path).subtype))
    if data.shape[1] > 1:
        if not downmix:
            raise SitoolError(
                f"{path}: audio has {data.shape[1]} channels, sitool data dirs need mono; "
                "downmix it (e.g. sox in.wav out.wav remix -) or pick one channel"
            )
        log.info("%s: downmixing %d channels to mono", path, data.shape[1])
    signal = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if file_rate != rate:
        if note:
            log.info("%s: resampling %d Hz -> %d Hz", path, file_rate, rate)
        else:
            RESAMPLE_LOG.note(path, file_rate, rate)
        signal = resample(signal, file_rate, rate)
    return np.ascontiguousarray(signal, dtype=np.float32)


def audio_info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames) without reading the samples."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: audio file not found")
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise SitoolError(f"{path}: unreadable audio ({e})") from None


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds from the file header."""
    info = audio_info(path)
    return info.frames / info.samplerate


def audio_samples(path: str | os.PathLike, rate: int = SAMPLE_RATE) -> int:
    """How many samples ``load_audio(path, rate)`` returns, from the file header (no samples
    decoded): the file's frames, or ``ceil(frames * rate / file rate)`` when it is resampled."""
    info = audio_info(path)
    if info.samplerate == rate:
        return int(info.frames)
    return -(-int(info.frames) * rate // int(info.samplerate))


def write_audio(path: str | os.PathLike, signal: np.ndarray, rate: int = SAMPLE_RATE,
                subtype: str = "PCM_16") -> None:
    """Write a mono signal atomically. ``subtype='FLOAT'`` keeps float32 samples bit-exact."""
    from sitool.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(signal, dtype=np.float32), rate, subtype=subtype,
                 format=AUDIO_FORMATS.get(path.suffix.lower(), "WAV"))
