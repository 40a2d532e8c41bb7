"""An animated mid-sagittal schematic driven by tract variables, with the audio's time cursor.

``animate_tracks`` draws, per animation frame, a schematic vocal tract (palate, pharynx wall,
incisors, lips, tongue, velum) whose moving parts follow the TVs, above the spectrogram with
a cursor at the current time; written as a GIF with matplotlib's Pillow writer.

It is a schematic, not a vocal-tract model: each TV is mapped onto the drawing after scaling
over the utterance, so that any corpus's units work. Degrees (LA, TTCD, TBCD, VEL: 0 at
closure) are divided by their 95th percentile over the utterance (0 stays a closure);
locations and protrusion (TTCL, TBCL, LP) are mapped from their utterance range onto a range
of positions. A target the model lacks stays at a neutral position.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.io import atomic_path

DEGREES = ("LA", "TTCD", "TBCD", "VEL")
POSITIONS = ("LP", "TTCL", "TBCL")
NEUTRAL = 0.5


def normalise_tracks(tracks: Mapping[str, np.ndarray], n_frames: int) -> dict[str, np.ndarray]:
    """Each drawn TV in [0, 1] (see the module doc); missing ones at the neutral position."""
    out = {}
    upper = {name.upper(): np.asarray(v, dtype=np.float64) for name, v in tracks.items()}
    for name in DEGREES + POSITIONS:
        track = upper.get(name)
        if track is None or not len(track):
            out[name] = np.full(n_frames, NEUTRAL)
            continue
        if name in DEGREES:
            scale = max(float(np.percentile(np.abs(track), 95)), 1e-9)
            value = np.clip(track / scale, 0.0, 1.0)
        else:
            low, high = float(np.min(track)), float(np.max(track))
            value = (track - low) / (high - low) if high > low else np.full(len(track), NEUTRAL)
        out[name] = value[:n_frames] if len(value) >= n_frames else \
            np.pad(value, (0, n_frames - len(value)), mode="edge")
    return out


def _palate(s: np.ndarray) -> np.ndarray:
    """Points ``[len(s), 2]`` along the palate, s = 0 at the alveolar ridge, 1 at the velum."""
    s = np.asarray(s, dtype=np.float64)
    return np.stack([2.0 - 3.5 * s, 1.0 + 0.35 * np.sin(np.pi * np.minimum(s, 1.0))], axis=-1)


def tract_shape(v: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The moving outlines for one frame of normalised TVs ``v`` (see normalise_tracks)."""
    from scipy.interpolate import CubicSpline

    tip_s, body_s = 0.05 + 0.15 * v["TTCL"], 0.45 + 0.45 * v["TBCL"]
    tip = _palate(tip_s) - np.array([-0.25, 0.05 + 0.8 * v["TTCD"]])
    body = _palate(body_s) - np.array([0.0, 0.08 + 1.0 * v["TBCD"]])
    blade = (tip + body) / 2 - np.array([0.0, 0.15])
    root = np.array([-2.2, -1.6])
    points = np.stack([root, body, blade, tip])
    u = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    spline = CubicSpline(u, points, bc_type="natural")
    tongue = spline(np.linspace(0, u[-1], 60))
    underside = np.array([[tip[0] - 0.25, tip[1] - 0.3], [0.6, -1.0], [-1.2, -1.7],
                          [root[0], -1.9]])
    tongue = np.vstack([tongue, underside])
    protrude = 0.5 * v["LP"]
    gap = 0.9 * v["LA"]
    upper_lip = np.array([[2.3, 0.95], [2.7 + protrude, 0.8], [2.75 + protrude, 0.45 + gap / 2],
                          [2.35, 0.5 + gap / 2]])
    lower_lip = np.array([[2.35, 0.4 - gap / 2], [2.75 + protrude, 0.35 - gap / 2],
                          [2.7 + protrude, -0.1 - gap / 2], [2.3, -0.2 - gap / 2]])
    velum_tip = np.array([-2.42 + 0.55 * v["VEL"], 0.7 - 0.3 * v["VEL"]])   # closed: on the wall
    velum = np.stack([_palate(np.array(1.0)), (_palate(np.array(1.0)) + velum_tip) / 2
                      + np.array([-0.1, -0.05]), velum_tip])
    return {"tongue": tongue, "upper_lip": upper_lip, "lower_lip": lower_lip, "velum": velum}


def animate_tracks(signal: np.ndarray, tracks: Mapping[str, np.ndarray], frame_rate: float,
                   out: str | os.PathLike, title: str = "", fps: float = 15.0,
                   labels: Sequence[tuple[float, float, str]] = (), dpi: int = 50) -> Path:
    """Write a GIF: the schematic driven by ``tracks`` ({TV name: 1-D array at
    ``frame_rate``}) above ``signal``'s spectrogram (16 kHz) with a moving time cursor;
    ``labels`` (start, end, phone) are written under the tract."""
    from matplotlib.animation import PillowWriter

    from sitool.plotting import draw_spectrogram, use_agg

    plt = use_agg()
    duration = len(signal) / SAMPLE_RATE
    n_frames = int(round(duration * frame_rate))
    norm = normalise_tracks(tracks, n_frames)
    times = np.arange(0.0, duration, 1.0 / fps)
    fig, (ax, spec_ax) = plt.subplots(2, 1, figsize=(4.8, 4.6),
                                      gridspec_kw={"height_ratios": [3, 1]})
    palate = _palate(np.linspace(-0.05, 1.0, 40))
    ax.plot(palate[:, 0], palate[:, 1], color="0.3", lw=3)
    ax.plot([-2.5, -2.5], [1.35, -2.0], color="0.3", lw=3)                 # pharynx wall
    ax.fill([2.05, 2.35, 2.3, 2.1], [1.0, 0.95, 0.55, 0.65], color="0.95", ec="0.5")  # incisor
    ax.set_xlim(-2.8, 3.6)
    ax.set_ylim(-2.0, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=8)
    shape = tract_shape({k: NEUTRAL for k in norm})
    tongue = ax.fill(*shape["tongue"].T, color="#d9777a", ec="#9c3d40", lw=1.5)[0]
    upper = ax.fill(*shape["upper_lip"].T, color="#e6a0a0", ec="#9c3d40")[0]
    lower = ax.fill(*shape["lower_lip"].T, color="#e6a0a0", ec="#9c3d40")[0]
    (velum,) = ax.plot(*shape["velum"].T, color="#9c3d40", lw=4, solid_capstyle="round")
    phone_text = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=10)
    draw_spectrogram(spec_ax, signal, SAMPLE_RATE)
    spec_ax.set_xlabel("time [s]", fontsize=7)
    spec_ax.tick_params(labelsize=6)
    cursor = spec_ax.axvline(0.0, color="cyan", lw=1.5)
    fig.tight_layout()

    def draw(k: int):
        t = times[k]
        i = min(int(round(t * frame_rate)), n_frames - 1)
        shape = tract_shape({name: float(values[i]) for name, values in norm.items()})
        tongue.set_xy(shape["tongue"])
        upper.set_xy(shape["upper_lip"])
        lower.set_xy(shape["lower_lip"])
        velum.set_data(*shape["velum"].T)
        cursor.set_xdata([t, t])
        phone_text.set_text(next((p for a, b, p in labels if a <= t < b), ""))
        return tongue, upper, lower, velum, cursor, phone_text

    out = Path(out)
    with atomic_path(out) as tmp:
        gif = tmp.with_name("out.gif")             # Pillow picks the format by suffix
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, str(gif), dpi):
            for k in range(len(times)):
                draw(k)
                writer.grab_frame()
        os.replace(gif, tmp)
    plt.close(fig)
    return out


def animate_utterance(data_dir: str | os.PathLike, utt: str, out: str | os.PathLike) -> Path:
    """``sitool plot-utt --animate``: an utterance's reference TVs as an animation."""
    from sitool.datadir import DataDir
    from sitool.errors import SitoolError

    data = DataDir(data_dir)
    if utt not in data.utt2spk:
        raise SitoolError(f"{data.path / 'utt2spk'}: no utterance {utt!r}")
    info = data.targets
    if info is None or utt not in data.tv_scp:
        raise SitoolError(f"{data.path}: no targets for {utt!r} (needs tv.scp and targets)")
    array = data.target_array(utt)
    return animate_tracks(data.audio(utt), {n: array[:, i] for i, n in enumerate(info.names)},
                          info.frame_rate, out, title=f"{data.name}/{utt} (reference)",
                          labels=[(s.start, s.end, s.phone) for s in data.phones.get(utt, ())])
