"""The VocalTractLab calls of the synthetic corpus: the one module that imports it.

``vocaltractlab-cython`` is GPL-3.0 (VocalTractLab by Peter Birkholz, with the JD3 speaker).
Only ``sitool.corpora.synth`` uses it, through this module, and only in synthesis worker
processes (see ``worker.py``); importing it initialises the API with the JD3 speaker.

Known traps of version 0.0.17 (measured): after an anatomy change the gestural-score to
motor conversion returns frozen tract parameters, so every motor trajectory is made with the
reference (JD3) anatomy *before* the anatomy is changed (``segments_to_motor`` refuses
otherwise) and synthesised with ``synth_block``; and a process that changed the anatomy
segfaults at exit, so workers leave with ``os._exit``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import vocaltractlab_cython as vtl

_CONSTANTS = vtl.get_constants()
AUDIO_RATE: int = _CONSTANTS["sr_audio"]                  # 44100 Hz
STATE_SAMPLES: int = _CONSTANTS["n_samples_per_state"]    # 110 audio samples per state
STATE_RATE: float = AUDIO_RATE / STATE_SAMPLES            # ~400.9 states per second
N_TRACT: int = _CONSTANTS["n_tract_params"]
N_GLOTTIS: int = _CONSTANTS["n_glottis_params"]
GLOTTIS_PARAMS: list[str] = [p["name"] for p in vtl.get_param_info("glottis")]
_TRACT_INFO = vtl.get_param_info("tract")
TRACT_MIN = np.array([p["min"] for p in _TRACT_INFO])
TRACT_MAX = np.array([p["max"] for p in _TRACT_INFO])
REFERENCE_ANATOMY: np.ndarray = np.array(vtl.get_anatomy_params(), dtype=np.float64)

_anatomy_changed = False


def version() -> str:
    return str(vtl.get_version())


def parse_motor_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a VocalTractLab tract-sequence ("motor") file.

    Returns (tract ``[states, 19]``, glottis ``[states, 11]``), one state every
    ``STATE_SAMPLES`` audio samples.
    """
    lines = [line for line in Path(path).read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    if len(lines) < 2:
        raise ValueError(f"{path}: not a VocalTractLab tract sequence file")
    count = int(lines[1])
    rows = lines[2:]
    if len(rows) != 2 * count:
        raise ValueError(f"{path}: header says {count} states but has {len(rows)} lines")
    glottis = np.array([[float(v) for v in rows[2 * i].split()] for i in range(count)])
    tract = np.array([[float(v) for v in rows[2 * i + 1].split()] for i in range(count)])
    if tract.shape[1:] != (N_TRACT,) or glottis.shape[1:] != (N_GLOTTIS,):
        raise ValueError(f"{path}: unexpected parameter counts {tract.shape}, {glottis.shape}")
    return tract, glottis


def segments_to_motor(segment_text: str) -> tuple[np.ndarray, np.ndarray]:
    """Segment-sequence file text -> gestural score -> motor trajectories (JD3 anatomy).

    Returns (tract ``[states, 19]``, glottis ``[states, 11]``).
    """
    if _anatomy_changed:
        raise RuntimeError("segments_to_motor after an anatomy change gives frozen tract "
                           "parameters; convert every utterance before set_anatomy")
    with tempfile.TemporaryDirectory(prefix="sitool_vtl_") as tmp:
        seg, ges, motor = (os.path.join(tmp, name) for name in ("u.seg", "u.ges", "u.tract"))
        Path(seg).write_text(segment_text)
        vtl.phoneme_file_to_gesture_file(seg, ges)
        vtl.gesture_file_to_motor_file(ges, motor)
        return parse_motor_file(motor)


def set_anatomy(params: np.ndarray) -> np.ndarray:
    """Set the 13 anatomy parameters; returns the values VocalTractLab actually applied
    (it clamps each to its range)."""
    global _anatomy_changed
    vtl.set_anatomy_params(np.asarray(params, dtype=np.float64))
    _anatomy_changed = True
    return np.array(vtl.get_anatomy_params(), dtype=np.float64)


def clip_tract(tract: np.ndarray) -> np.ndarray:
    """Clamp tract parameters to their ranges."""
    return np.clip(tract, TRACT_MIN, TRACT_MAX)


def synthesize(tract: np.ndarray, glottis: np.ndarray, state_step: int = 1) -> np.ndarray:
    """Audio at ``AUDIO_RATE`` (float64) of the states ``[states, params]``.

    ``synth_block`` recomputes the tube geometry at every state it is given and interpolates
    between them; with ``state_step`` k it is given every k-th state (``STATE_SAMPLES * k``
    samples apart), which cuts its cost (k = 2: 5 ms states, ~40 % less CPU in ``synth_block``).
    """
    return np.asarray(vtl.synth_block(np.ascontiguousarray(tract[::state_step], dtype=np.float64),
                                      np.ascontiguousarray(glottis[::state_step], dtype=np.float64),
                                      STATE_SAMPLES * state_step), dtype=np.float64)


def tube(state: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The 40-section tube of one tract state (fast calculation, as the acoustics use).

    Returns (lengths cm, areas cm^2, articulator labels, incisor position cm, velum cm^2).
    """
    t = vtl.tract_state_to_tube_state(np.ascontiguousarray(state, dtype=np.float64),
                                      fast_calculation=True)
    return (t["tube_length"], t["tube_area"], t["tube_articulator"],
            float(t["incisor_position"]), float(t["velum_opening"]))
