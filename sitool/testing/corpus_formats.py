"""Tiny corpora in the exact on-disk formats of the real corpora (tests, demos, benchmarks).

Each ``make_<corpus>_corpus(root, ...)`` writes a few utterances laid out and encoded as the
real corpus is (see each reader's docstring and docs/corpora.md): EST Track ``.ema`` files
(MOCHA, mngu0), HPRC and USC-TIMIT struct-array ``.mat`` files, XRMB ``.txy`` text, Carstens
AG500/AG501 ``.pos`` binaries, a generic corpus, or an AG501 recording exported to MATLAB
(``make_ag501_mat_corpus``: one ``(T, 42)`` matrix per utterance, 48 kHz audio made from the
articulation). ``make_noise_collection`` writes noise as a user brings it (NOISEX-92-like
files, non-speech sounds, read speech for babble, each at its own sample rate).
The files are written byte by byte here, independently of the readers, so that tests compare
a reader against the format rather than against itself.

The articulation is a simple kinematic model in the oriented frame (x forwards, y up, mm,
origin at the upper incisors): a known palate arch (``PALATE``), a tongue tip and dorsum that
rise to touch it periodically, a tongue blade that never does, lips that close and open, a
jaw. ``fake_articulation`` returns the tracks so tests can compare parsed values and the
derived tract variables with the truth.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.audio import write_audio

AUDIO_RATE = 16000


def palate_height(x: np.ndarray) -> np.ndarray:
    """Height (mm) of the fixture palate at front-back positions ``x`` in [-55, -5] mm."""
    return 5.0 + 13.0 * np.sin(np.pi * (-np.asarray(x, dtype=np.float64) - 5.0) / 50.0)


PALATE_X = np.linspace(-5.0, -55.0, 26)
PALATE = np.stack([PALATE_X, palate_height(PALATE_X)], axis=1)


def fake_articulation(times: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Sensor tracks ``{name: [N, 2]}`` (x forwards, y up, mm) at ``times`` (s)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(times, dtype=np.float64)
    phase = rng.uniform(0, 2 * np.pi, size=6)
    aperture = 1.0 + 9.0 * (0.5 + 0.5 * np.sin(2 * np.pi * 2.1 * t + phase[0]))
    protrusion = 2.0 * np.sin(2 * np.pi * 1.3 * t + phase[1])
    upper_y = 6.0 + 0.2 * aperture
    tt_x = -12.0 + 3.0 * np.sin(2 * np.pi * 0.9 * t + phase[2])
    tt_gap = np.maximum(0.0, 7.0 * np.sin(2 * np.pi * 3.0 * t + phase[3]))
    td_x = -40.0 + 3.0 * np.sin(2 * np.pi * 1.1 * t + phase[4])
    td_gap = np.maximum(0.0, 8.0 * np.sin(2 * np.pi * 2.5 * t + phase[5]))
    tm_x = np.full_like(t, -26.0)
    tm_gap = 5.0 + 3.0 * np.sin(2 * np.pi * 1.7 * t)
    return {
        "UL": np.stack([8.0 + protrusion, upper_y], axis=1),
        "LL": np.stack([8.0 + protrusion, upper_y - aperture], axis=1),
        "JAW": np.stack([1.0 + 0.0 * t, -14.0 - 0.5 * aperture], axis=1),
        "TT": np.stack([tt_x, palate_height(tt_x) - tt_gap], axis=1),
        "TM": np.stack([tm_x, palate_height(tm_x) - tm_gap], axis=1),
        "TD": np.stack([td_x, palate_height(td_x) - td_gap], axis=1),
    }


def fake_audio(seconds: float, seed: int = 0, rate: int = AUDIO_RATE) -> np.ndarray:
    """A voiced-then-noisy toy signal of ``seconds`` s (F0 110-150 Hz, then a noise burst)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    f0 = 110.0 + 40.0 * t / max(seconds, 1e-3)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.25
    envelope = np.where(t < 0.7 * seconds, 1.0, 0.0)
    noise = rng.normal(0.0, 0.08, n) * (1.0 - envelope)
    return (voiced * envelope + noise).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# EST Track (MOCHA-TIMIT, mngu0)

def write_est_track(path: str | os.PathLike, times: np.ndarray, channels: Sequence[str],
                    values: np.ndarray, byte_order: str = "10", data_type: str = "binary",
                    num_frames: int | None = None, present: np.ndarray | None = None) -> Path:
    """Write an EST Track file: header lines, then frames of time, break flag, channels.

    ``byte_order`` "10" = big-endian, "01" = little-endian. ``num_frames`` overrides the
    header's NumFrames (to write a deliberately truncated file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(times)
    present = np.ones(n) if present is None else np.asarray(present, dtype=np.float64)
    lines = ["EST_File Track", f"DataType {data_type}",
             f"NumFrames {n if num_frames is None else num_frames}"]
    if data_type == "binary":
        lines.append(f"ByteOrder {byte_order}")
    lines += [f"NumChannels {len(channels)}", "EqualSpace 1", "BreaksPresent true",
              "CommentChar ;", ""]
    lines += [f"Channel_{i} {name}" for i, name in enumerate(channels)]
    lines.append("EST_Header_End")
    frames = np.column_stack([times, present, values]).astype(np.float64)
    with open(path, "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("ascii"))
        if data_type == "binary":
            dtype = ">f4" if byte_order == "10" else "<f4"
            f.write(frames.astype(dtype).tobytes())
        else:
            f.write("".join(" ".join(f"{v:.6f}" for v in row) + "\n"
                            for row in frames).encode("ascii"))
    return path


# MOCHA's channel order (coils ui li ul ll tt, then tb td v, two '*' placeholders, bn).
MOCHA_CHANNELS = ["ui_x", "li_x", "ul_x", "ll_x", "tt_x", "ui_y", "li_y", "ul_y", "ll_y", "tt_y",
                  "tb_x", "td_x", "v_x", "*", "bn_x", "tb_y", "td_y", "v_y", "*", "bn_y"]
MOCHA_COILS = {"ul": "UL", "ll": "LL", "li": "JAW", "tt": "TT", "tb": "TM", "td": "TD"}


def mocha_frame(sensors: dict[str, np.ndarray]) -> np.ndarray:
    """MOCHA channel values ``[N, 20]`` in 1/100 mm from oriented tracks (x mirrored:
    in these files x grows backwards, to exercise the orientation step)."""
    n = len(next(iter(sensors.values())))
    coils = {coil: sensors[name] for coil, name in MOCHA_COILS.items()}
    coils["ui"] = np.zeros((n, 2))
    coils["v"] = np.column_stack([np.full(n, -60.0), np.full(n, 5.0)])
    coils["bn"] = np.column_stack([np.full(n, 20.0), np.full(n, 60.0)])
    columns = []
    for name in MOCHA_CHANNELS:
        if name == "*":
            columns.append(np.zeros(n))
            continue
        coil, axis = name.split("_")
        value = coils[coil][:, 0] * -1.0 if axis == "x" else coils[coil][:, 1]
        columns.append(value * 100.0)
    return np.column_stack(columns)


def write_headerless_ema(path: str | os.PathLike, times: np.ndarray, values: np.ndarray) -> Path:
    """The headerless ASCII ``.ema`` variant: per line time, flag 1, then the channels."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.column_stack([times, np.ones(len(times)), values])
    path.write_text("".join(" ".join(f"{v:.4f}" for v in row) + "\n" for row in frames))
    return path


def make_mocha_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("fsew0", "msak0"),
                      utts_per_speaker: int = 3, seconds: float = 1.2, seed: int = 0,
                      ema_format: str = "est") -> Path:
    """MOCHA-TIMIT files; ``ema_format`` "est" (EST Track, big-endian binary) or "ascii"
    (the headerless ASCII variant)."""
    root = Path(root)
    for s, spk in enumerate(speakers):
        folder = root / f"{spk}_v1.1"
        for i in range(1, utts_per_speaker + 1):
            stem = f"{spk}_{i:03d}"
            rate = 500.0
            times = np.arange(int(seconds * rate)) / rate
            sensors = fake_articulation(times, seed + 100 * s + i)
            if ema_format == "ascii":
                write_headerless_ema(folder / f"{stem}.ema", times, mocha_frame(sensors))
            else:
                write_est_track(folder / f"{stem}.ema", times, MOCHA_CHANNELS,
                                mocha_frame(sensors))
            write_audio(folder / f"{stem}.wav", fake_audio(seconds, seed + i))
            (folder / f"{stem}.lab").write_text(
                f"0.000 0.200 sil\n0.200 0.500 dh\n0.500 0.800 ax\n0.800 {seconds:.3f} breath\n")
    return root


MNGU0_SENSORS = {"T1": "TT", "T2": "TM", "T3": "TD", "jaw": "JAW", "upperlip": "UL",
                 "lowerlip": "LL", "ref": None}
MNGU0_SUFFIXES = ("px", "py", "pz", "ox", "oy", "oz")


def make_mngu0_corpus(root: str | os.PathLike, utts: int = 5, seconds: float = 1.2,
                      seed: int = 0, byte_order: str = "01") -> Path:
    root = Path(root)
    channels = [f"{sensor}_{suffix}" for sensor in MNGU0_SENSORS for suffix in MNGU0_SUFFIXES]
    for i in range(1, utts + 1):
        stem = f"mngu0_s1_{i:04d}"
        rate = 200.0
        times = np.arange(int(seconds * rate)) / rate
        sensors = fake_articulation(times, seed + i)
        n = len(times)
        columns = []
        for sensor, name in MNGU0_SENSORS.items():
            xy = sensors[name] if name else np.zeros((n, 2))
            values = {"px": np.full(n, 0.5), "py": xy[:, 0], "pz": xy[:, 1],
                      "ox": np.zeros(n), "oy": np.zeros(n), "oz": np.ones(n)}
            columns += [values[suffix] for suffix in MNGU0_SUFFIXES]
        write_est_track(root / "ema_basic_data" / f"{stem}.ema", times, channels,
                        np.column_stack(columns), byte_order=byte_order)
        write_audio(root / "wav_16kHz" / f"{stem}.wav", fake_audio(seconds, seed + i))
        labels = root / "phone_labels" / f"{stem}.lab"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("signal mngu0\ntype 0\ncolor 121\nend head\n#\n"
                          "\t0.25 26 #\n\t0.55 26 s\n\t0.90 26 i\n"
                          f"\t{seconds:.2f} 26 #\n")
    return root


# ---------------------------------------------------------------------------------------------
# HPRC (.mat struct arrays)

HPRC_ELEMENTS = ("AUDIO", "TR", "TB", "TT", "UL", "LL", "ML", "JAW", "JAWL")
HPRC_SENSORS = {"TR": "TD", "TB": "TM", "TT": "TT", "UL": "UL", "LL": "LL", "JAW": "JAW"}
HPRC_FIELDS = ("NAME", "SRATE", "SIGNAL", "SOURCE", "SENTENCE", "WORDS", "PHONES", "LABELS")


def hprc_struct(sensors: dict[str, np.ndarray], audio: np.ndarray, audio_rate: int,
                sentence: str, elements: Sequence[str] = HPRC_ELEMENTS) -> np.ndarray:
    """The HPRC struct array (one element per channel) for ``scipy.io.savemat``."""
    dtype = [(name, object) for name in HPRC_FIELDS]
    array = np.zeros((1, len(elements)), dtype=dtype)
    n = len(next(iter(sensors.values())))
    phones = np.zeros((1, 3), dtype=[("LABEL", object), ("OFFS", object)])
    for k, (label, start, end) in enumerate([("sil", 0.0, 0.2), ("DH", 0.2, 0.45),
                                             ("AH0", 0.45, 0.8)]):
        phones[0, k] = (label, np.array([start, end]))
    for j, name in enumerate(elements):
        if name == "AUDIO":
            signal, rate = audio.astype(np.float64)[:, None], float(audio_rate)
        else:
            canonical = HPRC_SENSORS.get(name)
            xz = sensors[canonical] if canonical else np.column_stack([np.full(n, 5.0),
                                                                       np.full(n, -3.0)])
            signal = np.column_stack([xz[:, 0], np.full(n, 1.5), xz[:, 1],
                                      np.zeros((n, 3))])
            rate = 100.0
        array[0, j] = (name, rate, signal, "fixture", sentence if name == "AUDIO" else "",
                       np.zeros((0, 0)), phones if name == "AUDIO" else np.zeros((0, 0)),
                       np.zeros((0, 0)))
    return array


def make_hprc_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("F01", "F02", "M01"),
                     utts_per_speaker: int = 2, seconds: float = 1.0, seed: int = 0,
                     palate_for: Sequence[str] = ("F01",)) -> Path:
    from scipy.io import savemat

    root = Path(root)
    for s, spk in enumerate(speakers):
        folder = root / spk / "data"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, utts_per_speaker + 1):
            stem = f"{spk}_B01_S{i:02d}_R01_N"
            times = np.arange(int(seconds * 100)) / 100.0
            sensors = fake_articulation(times, seed + 10 * s + i)
            audio = fake_audio(seconds, seed + i, rate=44100)
            struct = hprc_struct(sensors, audio, 44100, "the birch canoe slid")
            savemat(folder / f"{stem}.mat", {stem: struct})
        if spk in palate_for:
            xz = np.column_stack([PALATE[:, 0], np.zeros(len(PALATE)), PALATE[:, 1]])
            savemat(folder / f"{spk}_palate.mat", {"palate": xz})
    return root


# ---------------------------------------------------------------------------------------------
# XRMB (.txy text)

XRMB_PELLETS = ("UL", "LL", "T1", "T2", "T3", "T4", "MNI", "MNM")
XRMB_SENSORS = {"UL": "UL", "LL": "LL", "T1": "TT", "T2": "TM", "T3": "TD", "MNI": "JAW"}
XRMB_MISSING = 1000000


def xrmb_rows(times: np.ndarray, sensors: dict[str, np.ndarray],
              missing: dict[str, slice] | None = None) -> str:
    """``.txy`` text: time (us) then x y (um) per pellet; ``missing`` frames get 1000000."""
    n = len(times)
    columns = [np.round(times * 1e6)]
    for pellet in XRMB_PELLETS:
        name = XRMB_SENSORS.get(pellet)
        xy = sensors[name] if name else np.column_stack([np.full(n, -50.0), np.full(n, -5.0)])
        xy = np.round(xy * 1000.0)
        if missing and pellet in missing:
            xy = xy.copy()
            xy[missing[pellet]] = XRMB_MISSING
        columns += [xy[:, 0], xy[:, 1]]
    table = np.column_stack(columns).astype(np.int64)
    return "".join(" ".join(str(v) for v in row) + "\n" for row in table)


def make_xrmb_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("jw11", "jw12", "jw13"),
                     utts_per_speaker: int = 2, seconds: float = 1.0, seed: int = 0,
                     palate_for: Sequence[str] = ("jw11",),
                     missing: dict[str, slice] | None = None,
                     palate_name: str = "PAL.DAT") -> Path:
    """XRMB ``.txy`` + ``.wav`` per task; speakers in ``palate_for`` get a palate trace named
    ``palate_name`` (``{spk}`` is the speaker, e.g. ``"{spk}_pal.dat"``) and a pharynx trace
    (``PHA.DAT`` or ``{spk}_pha.dat`` alike, which the reader must not take for the palate)."""
    root = Path(root)
    rate = 145.6
    for s, spk in enumerate(speakers):
        folder = root / spk
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, utts_per_speaker + 1):
            stem = f"{spk}_tp{i:03d}"
            times = np.arange(int(seconds * rate)) / rate
            sensors = fake_articulation(times, seed + 10 * s + i)
            (folder / f"{stem}.txy").write_text(xrmb_rows(times, sensors, missing))
            write_audio(folder / f"{stem}.wav", fake_audio(seconds, seed + i))
        if spk in palate_for:
            rows = "".join(f"{int(round(x * 1000))} {int(round(y * 1000))}\n" for x, y in PALATE)
            (folder / palate_name.format(spk=spk)).write_text("palate trace\n" + rows)
            pharynx = palate_name.format(spk=spk).replace("PAL", "PHA").replace("pal", "pha")
            (folder / pharynx).write_text("pharynx trace\n-60000 -20000\n-62000 -40000\n")
    return root


# ---------------------------------------------------------------------------------------------
# USC-TIMIT EMA (.mat struct arrays, N x 3 sensors, separate wav/ and trans/)

USCTIMIT_ELEMENTS = ("AUDIO", "UL", "LL", "JW", "TD", "TB", "TT")
USCTIMIT_SENSORS = {"UL": "UL", "LL": "LL", "JW": "JAW", "JAW": "JAW", "TD": "TD", "TB": "TM",
                    "TT": "TT"}
USCTIMIT_PHONES = (("sil", 0.0, 0.2), ("dh", 0.2, 0.45), ("ah", 0.45, 0.8))


def usctimit_struct(sensors: dict[str, np.ndarray], audio: np.ndarray | None, audio_rate: int,
                    elements: Sequence[str] = USCTIMIT_ELEMENTS,
                    dropout: slice | None = None) -> np.ndarray:
    """The USC-TIMIT struct array: sensor SIGNAL = (x backwards, y up, lateral) in mm, i.e.
    front-back axis pointing to the back (sitool must flip it); ``audio=None`` leaves out the
    AUDIO element; ``dropout`` frames of TT are NaN."""
    names = [e for e in elements if audio is not None or e != "AUDIO"]
    array = np.zeros((1, len(names)), dtype=[("NAME", object), ("SRATE", object),
                                             ("SIGNAL", object)])
    for j, name in enumerate(names):
        if name == "AUDIO":
            array[0, j] = (name, float(audio_rate), audio.astype(np.float64)[:, None])
            continue
        xy = sensors[USCTIMIT_SENSORS[name]]
        signal = np.column_stack([-xy[:, 0], xy[:, 1], np.full(len(xy), 0.7)])
        if dropout is not None and name == "TT":
            signal[dropout] = np.nan
        array[0, j] = (name, 100.0, signal)
    return array


def make_usctimit_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("F1", "F5", "M1"),
                         utts_per_speaker: int = 2, seconds: float = 1.0, seed: int = 0,
                         jaw_name: str = "JW", dropout: slice | None = slice(40, 43)) -> Path:
    """Per speaker ``<SPK>/mat/*.mat`` (audio inside, 20 kHz), ``<SPK>/wav/*.wav`` (16 kHz)
    and ``<SPK>/trans/*.trans``."""
    from scipy.io import savemat

    root = Path(root)
    elements = tuple(jaw_name if e == "JW" else e for e in USCTIMIT_ELEMENTS)
    for s, spk in enumerate(speakers):
        for sub in ("mat", "wav", "trans"):
            (root / spk / sub).mkdir(parents=True, exist_ok=True)
        for i in range(1, utts_per_speaker + 1):
            stem = f"usctimit_ema_{spk.lower()}_{5 * i - 4:03d}_{5 * i:03d}"
            times = np.arange(int(seconds * 100)) / 100.0
            sensors = fake_articulation(times, seed + 10 * s + i)
            struct = usctimit_struct(sensors, fake_audio(seconds, seed + i, rate=20000), 20000,
                                     elements, dropout)
            savemat(root / spk / "mat" / f"{stem}.mat", {stem: struct})
            write_audio(root / spk / "wav" / f"{stem}.wav", fake_audio(seconds, seed + i))
            (root / spk / "trans" / f"{stem}.trans").write_text("".join(
                f"{start:.3f},{end:.3f},{phone},the,the birch canoe,{i}\n"
                for phone, start, end in USCTIMIT_PHONES))
    return root


# ---------------------------------------------------------------------------------------------
# Generic

def make_generic_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("s1", "s2", "s3", "s4"),
                        utts_per_speaker: int = 3, seconds: float = 1.5, frame_rate: float = 200.0,
                        seed: int = 0, with_sensors: bool = False) -> Path:
    """A generic corpus: audio + per-utterance CSV with its own column names at ``frame_rate``.

    Columns: ``jaw_open`` (mm), ``lip_gap`` (mm), ``tip_height`` and ``dorsum_height`` (mm), and
    with ``with_sensors`` also the x/y of every sensor (``ul_x``...) for ``--targets tv``.
    """
    root = Path(root)
    (root / "targets").mkdir(parents=True, exist_ok=True)
    texts = []
    for s, spk in enumerate(speakers):
        for i in range(1, utts_per_speaker + 1):
            utt = f"{spk}_u{i:02d}"
            times = np.arange(int(seconds * frame_rate)) / frame_rate
            sensors = fake_articulation(times, seed + 10 * s + i)
            columns = {
                "jaw_open": -sensors["JAW"][:, 1],
                "lip_gap": sensors["UL"][:, 1] - sensors["LL"][:, 1],
                "tip_height": sensors["TT"][:, 1],
                "dorsum_height": sensors["TD"][:, 1],
            }
            if with_sensors:
                for name, xy in sensors.items():
                    columns[f"{name.lower()}_x"] = xy[:, 0]
                    columns[f"{name.lower()}_y"] = xy[:, 1]
            names = list(columns)
            rows = [",".join(names)]
            rows += [",".join(f"{columns[c][k]:.4f}" for c in names) for k in range(len(times))]
            (root / "targets" / f"{utt}.csv").write_text("\n".join(rows) + "\n")
            write_audio(root / "wav" / f"{utt}.wav", fake_audio(seconds, seed + 10 * s + i))
            texts.append(f"{utt} the birch canoe slid on the smooth planks\n")
    (root / "text").write_text("".join(sorted(texts)))
    yaml_lines = [f"frame_rate: {frame_rate:g}", "units: mm", "speaker_pattern: '^([^_]+)_'"]
    if with_sensors:
        yaml_lines.append("sensors:")
        for name in ("UL", "LL", "JAW", "TT", "TM", "TD"):
            yaml_lines.append(f"  {name}: [{name.lower()}_x, {name.lower()}_y]")
    (root / "generic.yaml").write_text("\n".join(yaml_lines) + "\n")
    return root


# ---------------------------------------------------------------------------------------------
# Carstens AG500 / AG501 (.pos binary)

CARSTENS_CHANNELS = {"TT": 1, "TM": 2, "TD": 3, "UL": 5, "LL": 6, "JAW": 7, "UI": 8}
CARSTENS_LAYOUTS = {"ag501": (16, 250.0), "ag500": (12, 200.0)}


def carstens_samples(sensors: dict[str, np.ndarray], channels: int) -> np.ndarray:
    """``[N, channels, 7]`` float32 values: x (mm, pointing backwards: the reader must flip
    it), y (lateral), z (up), phi, theta, rms, extra; unmapped channels hold a fixed point."""
    n = len(next(iter(sensors.values())))
    out = np.zeros((n, channels, 7), dtype=np.float32)
    out[:, :, 0], out[:, :, 2] = 30.0, -30.0                 # unused sockets
    tracks = dict(sensors, UI=np.zeros((n, 2)))
    for name, channel in CARSTENS_CHANNELS.items():
        xz = tracks[name]
        out[:, channel - 1, 0] = -xz[:, 0]
        out[:, channel - 1, 1] = 0.8
        out[:, channel - 1, 2] = xz[:, 1]
        out[:, channel - 1, 3:6] = (10.0, -5.0, 1.5)
    return out


def write_pos(path: str | os.PathLike, samples: np.ndarray, layout: str = "ag501",
              rate: float | None = None, header_bytes: int = 4096) -> Path:
    """A ``.pos`` file: AG501 = text header (``AG50xDATA_V003``, its length, key=value lines,
    padded to ``header_bytes``) + little-endian float32; AG500 = the float32 alone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    if layout == "ag500":
        path.write_bytes(body)
        return path
    rate = CARSTENS_LAYOUTS["ag501"][1] if rate is None else rate
    text = (f"AG50xDATA_V003\n{header_bytes:08d}\nNumberOfChannels={samples.shape[1]}\n"
            f"SamplingFrequencyHz={rate:g}\nCalfile=fixture.cal\nCmpfile=fixture.cmp\n")
    header = text.encode("ascii")
    path.write_bytes(header + b" " * (header_bytes - len(header) - 1) + b"\n" + body)
    return path


def make_carstens_corpus(root: str | os.PathLike, layout: str = "ag501",
                         speakers: Sequence[str] = ("S01", "S02", "S03"),
                         utts_per_speaker: int = 2, seconds: float = 1.0, seed: int = 0) -> Path:
    """``<root>/<spk>/pos/NNNN.pos`` + ``<root>/<spk>/wav/NNNN.wav`` + ``carstens.yaml``."""
    root = Path(root)
    channels, rate = CARSTENS_LAYOUTS[layout]
    for s, spk in enumerate(speakers):
        for i in range(1, utts_per_speaker + 1):
            times = np.arange(int(seconds * rate)) / rate
            sensors = fake_articulation(times, seed + 10 * s + i)
            write_pos(root / spk / "pos" / f"{i:04d}.pos", carstens_samples(sensors, channels),
                      layout, rate)
            write_audio(root / spk / "wav" / f"{i:04d}.wav", fake_audio(seconds, seed + i))
    lines = ["sensors:"] + [f"  {name}: {ch}" for name, ch in CARSTENS_CHANNELS.items()
                            if name != "UI"]
    lines += [f"reference: {{UI: {CARSTENS_CHANNELS['UI']}}}", "front_back: x", "vertical: z"]
    (root / "carstens.yaml").write_text("\n".join(lines) + "\n")
    return root


# ---------------------------------------------------------------------------------------------
# Speech-like audio driven by the articulation (so a model can learn something from it)

def articulated_audio(sensors: dict[str, np.ndarray], times: np.ndarray, seconds: float,
                      rate: int, seed: int = 0, f0_hz: float = 120.0) -> np.ndarray:
    """A voiced, formant-filtered signal of ``seconds`` s at ``rate`` Hz made from the
    oriented ``sensors`` tracks (``fake_articulation``) sampled at ``times``.

    Loudness follows the lip aperture (closed lips: near silence), F1 the lip aperture, F2 the
    tongue dorsum's front-back position, F3 the tongue tip's; the tongue tip near the palate
    adds frication noise. Peak 0.5, float32.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate

    def track(name: str, axis: int) -> np.ndarray:
        return np.interp(t, times, sensors[name][:, axis])

    aperture = track("UL", 1) - track("LL", 1)
    tt_x, tt_y, td_x = track("TT", 0), track("TT", 1), track("TD", 0)
    formants = [(250.0 + 60.0 * aperture, 80.0, 1.0),
                (1500.0 + 120.0 * (td_x + 40.0), 100.0, 0.6),
                (2500.0 + 80.0 * (tt_x + 12.0), 150.0, 0.3)]
    f0 = f0_hz * (1.0 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = np.zeros(n)
    for h in range(1, int(min(5000.0, 0.45 * rate) / (0.85 * f0_hz)) + 1):
        gain = sum(g / (1.0 + ((h * f0 - centre) / width) ** 2)
                   for centre, width, g in formants)
        voiced += gain * np.sin(h * phase) / np.sqrt(h)
    loudness = np.clip((aperture - 1.0) / 6.0, 0.03, 1.0)
    contact = np.exp(-np.maximum(palate_height(tt_x) - tt_y, 0.0) / 1.0)
    hiss = np.diff(rng.normal(0.0, 1.0, n + 1))             # high-pass white noise
    audio = loudness * voiced / max(np.max(np.abs(voiced)), 1e-9) + 0.25 * contact * hiss
    return (0.5 * audio / np.max(np.abs(audio))).astype(np.float32)


def speech_like(seconds: float, rate: int, seed: int = 0, f0_hz: float = 120.0) -> np.ndarray:
    """``articulated_audio`` of a fresh ``fake_articulation`` draw (a talker's utterance)."""
    times = np.arange(int(seconds * 100) + 2) / 100.0
    return articulated_audio(fake_articulation(times, seed), times, seconds, rate, seed, f0_hz)


# ---------------------------------------------------------------------------------------------
# A Carstens AG501 corpus exported to MATLAB: one (T, 42) matrix per utterance

AG501_SENSORS = ("REF", "TT", "TM", "TD", "UL", "LL", "JAW")   # column blocks, in file order
AG501_AXES = ("x", "y", "z", "phi", "theta", "rms")              # per sensor, in file order
AG501_RATE = 250.0
AG501_AUDIO_RATE = 48000
AG501_MAT_VARIABLE = "data"
# Per speaker (cycled): where the head-corrected coordinate system puts the articulators (mm,
# x front-back, y lateral, z up); UL_x means about 132, 64 and 34 mm.
AG501_ORIGINS = ((124.0, -3.0, 10.0), (56.0, 4.0, -22.0), (26.0, 1.0, 48.0))
AG501_F0 = (115.0, 210.0, 150.0)
AG501_GENERIC_YAML = """\
frame_rate: 250              # AG501 sampling rate (Hz)
units: mm
targets_dir: mat             # mat/<utt>.mat beside wav/<utt>.wav
layout:                      # the (T, 42) matrix: 7 sensors x 6 values, sensor-major
  sensors: [REF, TT, TM, TD, UL, LL, JAW]
  axes: [x, y, z, phi, theta, rms]
columns: [UL_x, UL_z, LL_x, LL_z, JAW_x, JAW_z, TT_x, TT_z, TM_x, TM_z, TD_x, TD_z]
sensors:                     # for --targets tv: midsagittal = (x front-back, z up)
  {UL: [UL_x, UL_z], LL: [LL_x, LL_z], JAW: [JAW_x, JAW_z],
   TT: [TT_x, TT_z], TM: [TM_x, TM_z], TD: [TD_x, TD_z]}
speaker_pattern: '^([^_]+)_'
dev_speakers: [s2]           # the split (else a fixed rule picks)
test_speakers: [s3]
"""


def ag501_origin(speaker_index: int) -> np.ndarray:
    """The (x, y, z) shift (mm) of the ``speaker_index``-th speaker's sensor coordinates."""
    base = np.array(AG501_ORIGINS[speaker_index % len(AG501_ORIGINS)])
    return base + 10.0 * (speaker_index // len(AG501_ORIGINS))


def ag501_matrix(sensors: dict[str, np.ndarray], origin: np.ndarray, seed: int = 0) -> np.ndarray:
    """The ``[T, 42]`` float64 export of oriented ``sensors`` tracks: per ``AG501_SENSORS``
    block x = origin_x + front-back, y = origin_y + a small lateral wobble, z = origin_z +
    height, phi/theta (deg), rms (calibration error); REF stays still."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(sensors.values())))
    t = np.arange(n) / AG501_RATE
    blocks = []
    for k, name in enumerate(AG501_SENSORS):
        xz = sensors[name] if name != "REF" else np.tile([-95.0, 20.0], (n, 1))
        wobble = 0.3 * np.sin(2 * np.pi * (0.4 + 0.1 * k) * t + k) if name != "REF" else 0.0
        blocks.append(np.column_stack([
            origin[0] + xz[:, 0], origin[1] + wobble + rng.normal(0, 0.02, n),
            origin[2] + xz[:, 1],
            20.0 + 4.0 * k + 5.0 * np.sin(2 * np.pi * 0.5 * t + k),
            -10.0 + 3.0 * np.cos(2 * np.pi * 0.3 * t + k),
            0.6 + 0.2 * np.abs(rng.normal(0, 1, n))]))
    return np.column_stack(blocks)


def make_ag501_mat_corpus(root: str | os.PathLike, speakers: Sequence[str] = ("s1", "s2", "s3"),
                          utts_per_speaker: int = 4, seconds: float = 2.0, seed: int = 0,
                          write_config: bool = False) -> Path:
    """A corpus shaped like a Carstens AG501 recording exported to MATLAB::

        <root>/mat/<spk>_<nnn>.mat   one variable 'data': float64 [T, 42] at 250 Hz, columns
                                     AG501_SENSORS (REF TT TM TD UL LL JAW) x AG501_AXES
                                     (x y z phi theta rms), sensor-major (0-5: REF x..rms)
        <root>/wav/<spk>_<nnn>.wav   48 kHz 16-bit mono, made from the same articulation
                                     (``articulated_audio``)
        <root>/generic.yaml          only with ``write_config``: AG501_GENERIC_YAML

    x is front-back (forwards), y lateral, z up, in mm, shifted per speaker by
    ``ag501_origin`` (different sensor origins); no palate trace, no phone labels, no text.
    Utterance ``i`` (from 1) of the ``s``-th speaker has the tracks
    ``fake_articulation(times, seed + 10 * s + i)``.
    """
    from scipy.io import savemat

    root = Path(root)
    (root / "mat").mkdir(parents=True, exist_ok=True)
    for s, spk in enumerate(speakers):
        for i in range(1, utts_per_speaker + 1):
            stem = f"{spk}_{i:03d}"
            times = np.arange(int(round(seconds * AG501_RATE))) / AG501_RATE
            sensors = fake_articulation(times, seed + 10 * s + i)
            matrix = ag501_matrix(sensors, ag501_origin(s), seed + 10 * s + i)
            savemat(root / "mat" / f"{stem}.mat", {AG501_MAT_VARIABLE: matrix})
            audio = articulated_audio(sensors, times, seconds, AG501_AUDIO_RATE,
                                      seed + 10 * s + i, AG501_F0[s % len(AG501_F0)])
            write_audio(root / "wav" / f"{stem}.wav", audio, AG501_AUDIO_RATE)
    if write_config:
        (root / "generic.yaml").write_text(AG501_GENERIC_YAML)
    return root


# ---------------------------------------------------------------------------------------------
# Noise a user brings: NOISEX-92-like files, non-speech sounds, read speech for babble

NOISEX_RATE = 22050
NOISEX_TYPES = ("white", "pink", "babble", "f16", "factory1", "volvo")
ISTS_NAME = "ISTS-V1.0_60s_24bit.wav"
ISTS_RATE = 44100
SOUNDS_RATE = 20000
SOUND_NAMES = ("door_knock", "phone_ring", "siren", "water_tap", "keyboard", "bird_chirp")
SPEECH_RATE = 16000


def _peak(x: np.ndarray, peak: float = 0.7) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    return (peak * x / max(np.max(np.abs(x)), 1e-12)).astype(np.float32)


def _coloured(rng: np.random.Generator, n: int, rate: int, exponent: float,
              low_hz: float = 20.0, high_hz: float | None = None) -> np.ndarray:
    """Gaussian noise with power ~ 1/f**exponent between ``low_hz`` and ``high_hz``."""
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    gain = np.where(f >= low_hz, 1.0 / np.maximum(f, low_hz) ** (exponent / 2), 0.0)
    if high_hz is not None:
        gain = gain * (f <= high_hz)
    return np.fft.irfft(spectrum * gain, n)


def _decaying_tones(rng: np.random.Generator, n: int, rate: int, onsets: np.ndarray,
                    freq_hz: tuple[float, float], decay_s: float) -> np.ndarray:
    """Resonant clicks: a decaying sinusoid (random frequency in ``freq_hz``) at each onset."""
    out = np.zeros(n)
    length = int(5 * decay_s * rate)
    k = np.arange(length) / rate
    for onset in (onsets * rate).astype(int):
        burst = np.exp(-k / decay_s) * np.sin(2 * np.pi * rng.uniform(*freq_hz) * k)
        end = min(n, onset + length)
        out[onset:end] += burst[:end - onset]
    return out


def noisex_like(noise_type: str, seconds: float, rate: int, seed: int) -> np.ndarray:
    """A few seconds of synthetic noise in the spirit of the NOISEX-92 file ``noise_type``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    if noise_type == "white":
        x = rng.normal(0.0, 1.0, n)
    elif noise_type == "pink":
        x = _coloured(rng, n, rate, 1.0)
    elif noise_type == "babble":                 # six talkers at once, staggered
        x = np.zeros(n)
        for k in range(6):
            voice = speech_like(seconds + 1.0, rate, seed + 101 * k, 100.0 + 25.0 * k)
            start = int(rng.uniform(0, 1.0) * rate)
            x += voice[start:start + n] / np.sqrt(np.mean(voice ** 2))
    elif noise_type == "f16":                    # cockpit: broadband roar + engine tones
        x = _coloured(rng, n, rate, 0.7) / 30.0
        x = x / np.std(x) + sum(0.3 * np.sin(2 * np.pi * f * t) for f in (160.0, 2500.0, 4100.0))
    elif noise_type == "factory1":               # machines: hum, rumble, hammer blows
        rumble = _coloured(rng, n, rate, 1.5)
        onsets = np.sort(rng.uniform(0, seconds - 0.3, 3 * int(seconds)))
        hits = _decaying_tones(rng, n, rate, onsets, (700.0, 3000.0), 0.03)
        x = rumble / np.std(rumble) + 0.4 * np.sin(2 * np.pi * 50.0 * t) + 4.0 * hits
    elif noise_type == "volvo":                  # car interior: low rumble, engine harmonics
        x = _coloured(rng, n, rate, 2.0, high_hz=400.0)
        engine = np.sin(2 * np.pi * 33.0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
        x = x / np.std(x) + 0.5 * engine
    else:
        raise ValueError(f"unknown NOISEX-like type {noise_type!r}; use {', '.join(NOISEX_TYPES)}")
    return _peak(x)


def ists_like(seconds: float, rate: int, seed: int) -> np.ndarray:
    """An ISTS-like test signal: one stream of short speech segments from six voices, with
    pauses, each segment at the same level."""
    rng = np.random.default_rng(seed)
    pieces = []
    while sum(len(p) for p in pieces) < seconds * rate:
        voice = int(rng.integers(6))
        segment = speech_like(float(rng.uniform(0.3, 0.6)), rate, int(rng.integers(1 << 30)),
                              (100.0, 120.0, 140.0, 190.0, 220.0, 250.0)[voice])
        pieces += [segment / np.sqrt(np.mean(segment ** 2)),
                   np.zeros(int(rng.uniform(0.05, 0.25) * rate))]
    return _peak(np.concatenate(pieces)[:int(round(seconds * rate))])


def non_speech_sound(name: str, seconds: float, rate: int, seed: int) -> np.ndarray:
    """A short everyday non-speech sound (``SOUND_NAMES``)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    if name == "door_knock":
        onsets = np.array([0.1, 0.35, 0.6]) * seconds
        x = _decaying_tones(rng, n, rate, onsets, (150.0, 400.0), 0.04)
    elif name == "phone_ring":
        x = (np.sin(2 * np.pi * 440.0 * t) + np.sin(2 * np.pi * 480.0 * t)) * ((t % 0.5) < 0.3)
    elif name == "siren":
        x = np.sin(2 * np.pi * np.cumsum(900.0 + 300.0 * np.sin(2 * np.pi * 1.5 * t)) / rate)
    elif name == "water_tap":
        gurgle = 1 + 0.5 * rng.normal(0, 1, n).cumsum() / np.sqrt(n)
        x = _coloured(rng, n, rate, 0.0, 800.0, 6000.0) * gurgle
    elif name == "keyboard":
        x = _decaying_tones(rng, n, rate, np.sort(rng.uniform(0, seconds - 0.05, int(8 * seconds))),
                            (2000.0, 6000.0), 0.005)
    elif name == "bird_chirp":
        x = np.zeros(n)
        for start in np.arange(0.05, seconds - 0.1, 0.25):
            k = (t >= start) & (t < start + 0.08)
            tau = t[k] - start
            sweep = np.sin(2 * np.pi * (2500.0 * tau + 0.5 * 20000.0 * tau ** 2))
            x[k] += sweep * np.hanning(k.sum())
    else:
        raise ValueError(f"unknown sound {name!r}; use {', '.join(SOUND_NAMES)}")
    return _peak(x + rng.normal(0.0, 1e-3, n))


def make_noise_collection(root: str | os.PathLike, seed: int = 0, seconds: float = 5.0,
                          num_talkers: int = 6, utts_per_talker: int = 3,
                          talker_seconds: float = 1.5) -> dict[str, Path]:
    """Noise as a user brings it, each folder at its own rate::

        <root>/noisex/{white,pink,babble,f16,factory1,volvo}.wav   22.05 kHz, ``seconds`` each
        <root>/noisex/ISTS-V1.0_60s_24bit.wav   ISTS-like speech, 44.1 kHz 24-bit (shortened
                                                to ``seconds``)
        <root>/sounds/<name>.wav                the six SOUND_NAMES, 20 kHz, ~1 s each
        <root>/speech/t<NN>_<n>.wav             ``num_talkers`` read-speech talkers (t01, ...)
                                                x ``utts_per_talker`` utterances, 16 kHz

    Returns ``{"noisex": dir, "sounds": dir, "speech": dir}``. ``make_speech_data_dir`` turns
    ``speech/`` into a data dir (e.g. babble talkers).
    """
    root = Path(root)
    dirs = {name: root / name for name in ("noisex", "sounds", "speech")}
    for k, noise_type in enumerate(NOISEX_TYPES):
        write_audio(dirs["noisex"] / f"{noise_type}.wav",
                    noisex_like(noise_type, seconds, NOISEX_RATE, seed + k), NOISEX_RATE)
    write_audio(dirs["noisex"] / ISTS_NAME, ists_like(seconds, ISTS_RATE, seed + 50), ISTS_RATE,
                subtype="PCM_24")
    for k, name in enumerate(SOUND_NAMES):
        write_audio(dirs["sounds"] / f"{name}.wav",
                    non_speech_sound(name, 1.0, SOUNDS_RATE, seed + 200 + k), SOUNDS_RATE)
    rng = np.random.default_rng(seed + 300)
    for talker in range(1, num_talkers + 1):
        f0 = float(rng.uniform(95.0, 130.0) if talker % 2 else rng.uniform(170.0, 240.0))
        for i in range(1, utts_per_talker + 1):
            audio = speech_like(talker_seconds * float(rng.uniform(0.8, 1.2)), SPEECH_RATE,
                                seed + 1000 * talker + i, f0)
            write_audio(dirs["speech"] / f"t{talker:02d}_{i}.wav", audio, SPEECH_RATE)
    return dirs


def make_speech_data_dir(speech_dir: str | os.PathLike, out: str | os.PathLike) -> Path:
    """A data dir (``wav.scp``, ``utt2spk``, ``spk2utt``, ``utt2dur``; no targets) of the
    ``<speaker>_<n>.wav`` files in ``speech_dir`` (``make_noise_collection``'s ``speech/``)."""
    from sitool.audio import audio_duration
    from sitool.datadir import write_data_dir

    files = sorted(Path(speech_dir).glob("*.wav"))
    utt2spk = {p.stem: p.stem.split("_")[0] for p in files}
    return write_data_dir(out, utt2spk=utt2spk,
                          utt2dur={p.stem: audio_duration(p) for p in files},
                          wav_scp={p.stem: str(p.resolve()) for p in files})
