"""Frame-rate conversion: SSL frames (50 Hz) to target or STFT frames (e.g. 100 or 200 Hz).

Frame ``j`` of a target track is the state at ``t = j / rate`` (DESIGN.md §3). SSL frame ``i``
summarises the samples ``[i * stride, i * stride + receptive_field)``, so its centre lies at
``i / ssl_rate + offset`` with ``offset = (receptive_field - 1) / 2 / 16000`` s (12.5 ms for the
standard wav2vec2/HuBERT/WavLM CNN). Each output frame linearly interpolates the two SSL frames
around its time, clamped to the utterance's valid frames (so padding never leaks in).
"""

from __future__ import annotations

import math

import torch

from sitool.audio import SAMPLE_RATE


def frames_for_samples(num_samples: int, rate: float) -> int:
    """Frames at ``rate`` Hz covering ``num_samples`` of 16 kHz audio: the frames with
    ``t = j / rate < duration``. The one output frame grid: cached features use it too, with
    the length from the audio's header (``DataDir.num_samples``), never the rounded utt2dur."""
    return max(1, math.ceil(num_samples * rate / SAMPLE_RATE - 1e-9))


def resample_frames(
    x: torch.Tensor,
    in_lengths: torch.Tensor,
    out_frames: int,
    in_rate: float,
    out_rate: float,
    in_offset_s: float = 0.0,
    out_offset_s: float = 0.0,
) -> torch.Tensor:
    """Linearly interpolate ``x [B, T_in, D]`` (frame i at ``i / in_rate + in_offset_s``) onto
    ``out_frames`` frames at ``j / out_rate + out_offset_s``. Returns ``[B, out_frames, D]``.

    Positions are clamped into ``[0, in_lengths[b] - 1]`` per utterance.
    """
    batch, _, dim = x.shape
    times = torch.arange(out_frames, device=x.device, dtype=torch.float64) / out_rate + out_offset_s
    pos = ((times - in_offset_s) * in_rate)[None, :].expand(batch, -1)
    last = (in_lengths.to(x.device, torch.float64) - 1).clamp(min=0)[:, None]
    pos = torch.minimum(pos.clamp(min=0.0), last)
    lo = pos.floor()
    frac = (pos - lo).to(x.dtype)[..., None]
    lo = lo.long()
    hi = torch.minimum(lo + 1, last.long())
    take = lambda idx: torch.gather(x, 1, idx[..., None].expand(-1, -1, dim))  # noqa: E731
    return take(lo) * (1 - frac) + take(hi) * frac
