"""One synthetic utterance: phones -> gestures -> motor parameters -> audio + targets.

Pipeline (all VocalTractLab calls are in ``vtl.py``):

1. the phone segments are written as a segment-sequence file and turned into a gestural
   score and then into tract (19) and glottis (11) parameter trajectories at ~400.9 states/s,
   with the reference JD3 anatomy (``motor_trajectories``; must run before the anatomy is
   changed in the process);
2. the tract trajectory is mapped onto the speaker's anatomy (``anatomy.adapt_articulation``);
   the glottis trajectory gets the utterance's F0 contour, the speaker's lung pressure
   (with the final fall moved to 40 ms before the last phone's end, so a final vowel stays
   voiced), aspiration strength and flutter (``render``);
3. ``synth_block`` makes 44.1 kHz audio, resampled to 16 kHz and set to a fixed RMS level;
4. the targets are measured at 100 Hz on the tube of the tract state interpolated at each
   frame time (``targets.tube_targets``), plus F0 and voicing from the glottis parameters.

Target frame ``i`` is the state at ``t = i / 100`` s; there are ``samples // 160`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sitool.audio import SAMPLE_RATE, resample
from sitool.corpora.synth import vtl
from sitool.corpora.synth.anatomy import adapt_articulation, scaled_anatomy, tongue_body_blend
from sitool.corpora.synth.phones import SILENCE, Segment, segment_file_text, segment_times
from sitool.corpora.synth.prosody import f0_contour, voicing
from sitool.corpora.synth.speakers import Speaker
from sitool.corpora.synth.targets import FRAME_RATE, NAMES, tube_targets

NOMINAL_LUNG_PRESSURE_DPA = 8000.0   # what VocalTractLab's gestural scores use
TARGET_RMS = 0.05                    # output level (about -26 dBFS)
PEAK_LIMIT = 0.95
FINAL_FALL_S = 0.04                  # lung pressure starts to fall this long before the end


@dataclass
class Motor:
    """Tract ``[states, 19]`` and glottis ``[states, 11]`` trajectories (JD3 anatomy), and
    the end time (s) and name of the last phone before the final silence."""

    tract: np.ndarray
    glottis: np.ndarray
    speech_end_s: float
    last_phone: str


@dataclass
class Synthesised:
    """One utterance: 16 kHz float32 audio ``[samples]``, float32 targets ``[frames, 9]``."""

    audio: np.ndarray
    targets: np.ndarray


def motor_trajectories(segments: list[Segment]) -> Motor:
    """Gestural score and motor trajectories of ``segments`` (reference anatomy)."""
    tract, glottis = vtl.segments_to_motor(segment_file_text(segments))
    speech = [(end, phone) for _, end, phone in segment_times(segments) if phone != SILENCE]
    end, last = speech[-1] if speech else (0.0, SILENCE)
    return Motor(tract, glottis, end, last)


def sustain_final_pressure(pressure: np.ndarray, speech_end_s: float,
                           last_phone: str) -> np.ndarray:
    """Delay the utterance-final fall of the lung pressure ``[states]``.

    VocalTractLab's gestural scores let the lung pressure fall from 120 ms before the end of
    the last phone, which devoices most of a final vowel; here the fall starts
    ``FINAL_FALL_S`` before the end instead (not for a final /p t k/, where VocalTractLab
    times the fall for the release burst). The fall's shape is kept; it is shifted later.
    """
    if last_phone in ("p", "t", "k") or not pressure.size or pressure.max() <= 0:
        return pressure
    plateau = np.flatnonzero(pressure >= 0.99 * pressure.max())
    fall = int(plateau[-1]) + 1
    shift = int(round((speech_end_s - FINAL_FALL_S) * vtl.STATE_RATE)) - fall
    if shift <= 0 or fall >= len(pressure):
        return pressure
    held = np.full(shift, pressure[fall - 1])
    return np.concatenate([pressure[:fall], held, pressure[fall:len(pressure) - shift]])


def speaker_anatomy(speaker: Speaker) -> np.ndarray:
    """The speaker's 13 anatomy parameters (scaled JD3)."""
    return scaled_anatomy(vtl.REFERENCE_ANATOMY, speaker.oral_scale, speaker.pharynx_scale)


def drive_glottis(motor: Motor, speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """The glottis trajectory with this utterance's F0 contour and the speaker's voice."""
    out = motor.glottis.copy()
    column = {name: i for i, name in enumerate(vtl.GLOTTIS_PARAMS)}
    times = np.arange(len(out)) / vtl.STATE_RATE
    out[:, column["F0"]] = f0_contour(rng, times, speaker.f0_hz, speaker.accent_st)
    pressure = sustain_final_pressure(out[:, column["PR"]], motor.speech_end_s, motor.last_phone)
    out[:, column["PR"]] = pressure * speaker.lung_pressure_dpa / NOMINAL_LUNG_PRESSURE_DPA
    out[:, column["AS"]] = speaker.aspiration_db
    out[:, column["FL"]] = speaker.flutter_percent
    return out


def interpolate_states(states: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of state rows ``[states, params]`` at ``times`` (seconds)."""
    position = np.clip(times * vtl.STATE_RATE, 0, len(states) - 1)
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, len(states) - 1)
    frac = (position - lo)[:, None]
    return states[lo] * (1.0 - frac) + states[hi] * frac


def set_level(audio: np.ndarray) -> np.ndarray:
    """Scale to ``TARGET_RMS`` without letting the peak exceed ``PEAK_LIMIT``."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    peak = float(np.max(np.abs(audio)))
    if not rms > 0:
        raise ValueError("VocalTractLab produced silence")
    gain = min(TARGET_RMS / rms, PEAK_LIMIT / peak)
    return (audio * gain).astype(np.float32)


def measure_targets(tract: np.ndarray, glottis: np.ndarray, frames: int) -> np.ndarray:
    """Targets ``[frames, 9]`` (float32) at ``t = i / FRAME_RATE`` from the driven states."""
    times = np.arange(frames) / FRAME_RATE
    states = interpolate_states(tract, times)
    column = {name: i for i, name in enumerate(vtl.GLOTTIS_PARAMS)}
    source = interpolate_states(glottis[:, [column["F0"], column["RA"], column["PR"]]], times)
    geometry = np.stack([tube_targets(*vtl.tube(state)) for state in states]) if frames else \
        np.zeros((0, 7))
    voiced = voicing(source[:, 1], source[:, 2])
    targets = np.column_stack([geometry, source[:, 0], voiced]).astype(np.float32)
    assert targets.shape[1] == len(NAMES)
    if not np.all(np.isfinite(targets)):
        raise ValueError("non-finite target values")
    return targets


def render(motor: Motor, speaker: Speaker, anatomy: np.ndarray,
           rng: np.random.Generator, state_step: int = 1) -> Synthesised:
    """Audio and targets of one utterance for ``speaker`` whose ``anatomy`` is already set.

    ``anatomy`` is what ``vtl.set_anatomy`` returned (the applied parameter values); the
    audio is synthesised from every ``state_step``-th state (``vtl.synthesize``), the targets
    are measured on all of them.
    """
    tract = adapt_articulation(motor.tract, vtl.REFERENCE_ANATOMY, anatomy,
                               tongue_body_blend(speaker.pharynx_scale))
    tract = vtl.clip_tract(tract)
    glottis = drive_glottis(motor, speaker, rng)
    audio = vtl.synthesize(tract, glottis, state_step)
    if not np.all(np.isfinite(audio)):
        raise ValueError("VocalTractLab produced non-finite audio")
    audio16 = set_level(resample(audio.astype(np.float32), vtl.AUDIO_RATE, SAMPLE_RATE))
    frames = len(audio16) * int(FRAME_RATE) // SAMPLE_RATE
    return Synthesised(audio16, measure_targets(tract, glottis, frames))
