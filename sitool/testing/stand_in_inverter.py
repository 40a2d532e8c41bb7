"""A stand-in for a trained model's inverter whose outputs are a known function of the audio it
receives, and a stand-in ``sitool.inference`` module that loads it for any model dir.

With it the tests of ``sitool invert`` check the files written, the per-phone tables and what
audio reached the model without training anything (a trained tiny model is exercised in
tests/test_invert_model.py)::

    inverter = StandInInverter(hop_levels, enhance=lambda audio: 0.5 * audio)
    monkeypatch.setitem(sys.modules, "sitool.inference", stand_in_inference(inverter))
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from sitool.datadir import TargetInfo
from sitool.testing.data_dirs import TOY_TARGETS

HOP = 160                          # samples per target frame: 100 frames/s at 16 kHz


@dataclass
class StandInResult:
    """What ``Inverter.invert`` returns: ``targets [frames, n]``, ``enhanced`` audio or None."""

    targets: np.ndarray
    enhanced: np.ndarray | None = None


def hop_levels(audio: np.ndarray) -> np.ndarray:
    """Target k of frame i = (k + 1) * mean |audio| over that 10 ms hop (3 targets)."""
    frames = len(audio) // HOP
    level = np.abs(audio[:frames * HOP]).reshape(frames, HOP).mean(axis=1)
    return np.stack([level * (k + 1) for k in range(3)], axis=1)


def frame_ramp(audio: np.ndarray) -> np.ndarray:
    """Target k of frame i = (k + 1) * i (3 targets): per-phone statistics in closed form."""
    ramp = np.arange(len(audio) // HOP, dtype=np.float32)
    return np.stack([ramp * (k + 1) for k in range(3)], axis=1)


class StandInInverter:
    """The interface ``sitool invert`` uses of ``sitool.inference.Inverter``: 100 frames/s
    ``targets(audio)`` of ``target_info``, and ``enhance(audio)`` when given (the model then
    has an SE stage). Every audio it inverts is appended to ``calls``."""

    window = 20 * 16000           # chunk window (samples) and batch size of sitool.inference
    batch_seconds = 60.0

    def __init__(self, targets: Callable[[np.ndarray], np.ndarray],
                 enhance: Callable[[np.ndarray], np.ndarray] | None = None,
                 target_info: TargetInfo = TOY_TARGETS):
        self.targets, self.enhance, self.target_info = targets, enhance, target_info
        self.has_se = enhance is not None
        self.calls: list[np.ndarray] = []

    def invert(self, audio: np.ndarray) -> StandInResult:
        assert audio.dtype == np.float32 and audio.ndim == 1
        self.calls.append(audio)
        return StandInResult(self.targets(audio),
                             self.enhance(audio) if self.enhance is not None else None)

    def invert_batch(self, audios: Sequence[np.ndarray], names=None) -> list[StandInResult]:
        return [self.invert(a) for a in audios]


def stand_in_inference(inverter: StandInInverter) -> types.ModuleType:
    """A module to put in ``sys.modules["sitool.inference"]``: its ``load_inverter`` returns
    ``inverter`` for any model dir (checkpoint ``best`` or ``last``), with the chunking
    defaults of ``sitool.inference``."""
    module = types.ModuleType("sitool.inference")

    def load_inverter(exp_dir, checkpoint="best", device="cpu", **chunking_and_precision):
        assert checkpoint in ("best", "last")
        return inverter

    module.load_inverter = load_inverter
    module.DEFAULT_CHUNK_SECONDS, module.DEFAULT_OVERLAP_SECONDS = 20.0, 4.0
    return module
