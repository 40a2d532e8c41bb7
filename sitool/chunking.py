"""Long recordings in overlapping windows: where the windows go and how their outputs are joined.

Inference on a whole recording costs memory that grows with its length (the SSL's attention
is quadratic in it), so ``sitool.inference`` runs audio longer than a window (default 20 s)
as overlapping chunks and joins their outputs with a linear cross-fade:

- chunk starts are multiples of ``align`` samples (:func:`chunk_alignment`: a whole number
  of SSL frames and of output frames), so a chunk's frame ``i`` is the recording's frame
  ``start_frame + i`` with no resampling;
- every seam between consecutive chunks has at least ``overlap`` samples of shared audio;
  the cross-fade covers the middle half of that overlap, so the first and last quarter of
  the overlap (the audio nearest a chunk's edge, where the model has the least context)
  never contributes;
- the weights of the chunks sum to one at every frame, so a signal the chunks agree on
  passes through unchanged.

Memory is then bounded by the window (plus the outputs themselves), whatever the length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError


@dataclass(frozen=True)
class ChunkPlan:
    """Chunks ``[starts[k], ends[k])`` (samples) of a recording of ``num_samples``, and per seam
    ``k`` (between chunk ``k`` and ``k + 1``) the cross-fade ``[fade_starts[k], fade_ends[k])``."""

    num_samples: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    fade_starts: tuple[float, ...]
    fade_ends: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.starts)

    def weights(self, index: int, positions: np.ndarray) -> np.ndarray:
        """Cross-fade weight of chunk ``index`` at ``positions`` (samples from the start of
        the recording, float): 1 inside the chunk away from seams, a linear ramp across each
        of its fades, 0 beyond them."""
        weight = np.ones(len(positions), dtype=np.float64)
        if index > 0:
            a, b = self.fade_starts[index - 1], self.fade_ends[index - 1]
            weight *= np.clip((positions - a) / (b - a), 0.0, 1.0)
        if index < len(self) - 1:
            a, b = self.fade_starts[index], self.fade_ends[index]
            weight *= 1.0 - np.clip((positions - a) / (b - a), 0.0, 1.0)
        return weight


def chunk_alignment(frame_rate: float | None, ssl_stride: int = 320) -> int:
    """Samples that chunk starts are multiples of: a whole number of SSL frames (``ssl_stride``
    samples each) and, for outputs at ``frame_rate`` Hz, of output frames (frame ``j`` at
    ``j / frame_rate`` s). 320 for 100 or 200 Hz targets; 1600 (0.1 s) for 60 Hz."""
    if frame_rate is None:
        return ssl_stride
    per_frame = Fraction(SAMPLE_RATE) / Fraction(frame_rate).limit_denominator(1000)
    return math.lcm(ssl_stride, per_frame.numerator)


def check_chunking(window: int, overlap: int, align: int) -> None:
    """Fail with one line unless ``window`` (samples; 0 = chunking off) and ``overlap`` fit."""
    if window < 0:
        raise SitoolError(f"chunking: the window must be >= 0 s (0 = off), got "
                          f"{window / SAMPLE_RATE:g} s")
    if window > 0 and (overlap <= 0 or 2 * overlap + 4 * align > window):
        raise SitoolError(f"chunking: the overlap ({overlap / SAMPLE_RATE:g} s) must be > 0 and "
                          f"at most about half the window ({window / SAMPLE_RATE:g} s); give a "
                          "longer window or a shorter overlap")


def plan_chunks(num_samples: int, window: int, overlap: int, align: int = 320) -> ChunkPlan:
    """Chunks of ``window`` samples (the last one up to ``align - 1`` longer, ending at the
    end of the recording) overlapping by at least ``overlap`` samples, starting at multiples
    of ``align``. A recording no longer than ``window`` (or ``window = 0``: chunking off) is
    one chunk."""
    check_chunking(window, overlap, align)
    if window == 0 or num_samples <= window:
        return ChunkPlan(num_samples, (0,), (num_samples,), (), ())
    step = (window - overlap) // align          # largest start spacing, in units of align
    last = (num_samples - window) // align      # last chunk starts here (units of align)
    if last == 0:                               # under `align` samples longer than the window
        return ChunkPlan(num_samples, (0,), (num_samples,), (), ())
    steps = math.ceil(last / step)
    starts = [(i * last // steps) * align for i in range(steps + 1)]
    ends = [s + window for s in starts[:-1]] + [num_samples]
    quarter = overlap / 4
    centres = [(starts[k + 1] + ends[k]) / 2 for k in range(steps)]
    return ChunkPlan(num_samples, tuple(starts), tuple(ends),
                     tuple(c - quarter for c in centres), tuple(c + quarter for c in centres))


class Stitcher:
    """Joins per-chunk outputs into the recording's output with the plan's cross-fade.

    ``frame_rate`` None: the outputs are 16 kHz audio samples (chunk ``k`` gives
    ``ends[k] - starts[k]`` of them); otherwise frames at ``frame_rate`` Hz, ``num_frames``
    in all, chunk ``k``'s frame ``i`` being the recording's frame
    ``starts[k] * frame_rate / 16000 + i`` (frames beyond ``num_frames`` are dropped).
    """

    def __init__(self, plan: ChunkPlan, frame_rate: float | None = None,
                 num_frames: int | None = None):
        self.plan = plan
        self.frame_rate = frame_rate
        self.total = plan.num_samples if frame_rate is None else int(num_frames)
        self.out: np.ndarray | None = None
        self.weight = np.zeros(self.total, dtype=np.float64)
        self._samples_per_unit = 1.0 if frame_rate is None else SAMPLE_RATE / frame_rate

    def add(self, index: int, values: np.ndarray) -> None:
        """Add chunk ``index``'s output ``[units, ...]``."""
        values = np.asarray(values)
        first = round(self.plan.starts[index] / self._samples_per_unit)
        count = min(len(values), self.total - first)
        if self.out is None:
            self.out = np.zeros((self.total,) + values.shape[1:], dtype=np.float32)
        units = np.arange(first, first + count)
        w = self.plan.weights(index, units * self._samples_per_unit)
        keep = w > 0
        units, w = units[keep], w[keep]
        shape = (-1,) + (1,) * (values.ndim - 1)
        self.out[units] += (w.reshape(shape) * values[:count][keep]).astype(np.float32)
        self.weight[units] += w

    def result(self) -> np.ndarray:
        """The joined output ``[units, ...]`` float32; fails if a unit got no chunk."""
        if self.out is None or np.any(self.weight <= 0):
            raise SitoolError("chunking: some output frames were covered by no chunk "
                              "(a chunk's output was missing or too short)")
        shape = (-1,) + (1,) * (self.out.ndim - 1)
        return (self.out / self.weight.reshape(shape)).astype(np.float32)
