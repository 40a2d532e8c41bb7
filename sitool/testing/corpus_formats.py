"""Tiny corpora in the exact on-disk formats of the real corpora (tests, demos, benchmarks).

Each ``make_<corpus>_corpus(root, ...)`` writes a few utterances laid out and encoded as the
real corpus is (see each reader's docstring and docs/corpora.md): EST Track ``.ema`` files
(MOCHA, mngu0), HPRC and USC-TIMIT struct-array ``.mat`` files, XRMB ``.txy`` text, Carstens
AG500/AG501 ``.pos`` binaries, or a generic corpus.
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
