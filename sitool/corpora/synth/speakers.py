"""The synthetic speakers and the utterance plan.

Every speaker is the JD3 VocalTractLab speaker with its anatomy scaled (``oral_scale`` for
the lips, mandible and palate; ``pharynx_scale`` for the pharynx, larynx and vocal folds;
see ``anatomy.py``) and its own voice: mean F0, size of pitch accents, speaking tempo, lung
pressure, aspiration strength and F0 flutter. ``sex`` is a nominal label (shorter tract and
higher F0 = ``f``). The scales stay within the range in which the JD3 articulation, adapted
to the new anatomy, still makes complete closures for every stop and nasal (checked by
``tests/test_synth_corpus.py`` on the two extreme speakers).

Splits: train, dev and test speakers are disjoint; babble talkers are used only to make
babble noise and are never target speakers.

The default corpus uses the fixed table ``SPEAKERS`` (8 train, 1 dev, 2 test, 4 babble
talkers). :func:`make_speakers` makes any other number per split, with the anatomy scales
spread over a given range (``sitool synth-corpus --speakers --oral-scale --pharynx-scale``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import numpy as np

from sitool.errors import SitoolError

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test", "babble_talkers")


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker (anatomy scales are relative to JD3; F0 in Hz)."""

    id: str
    split: str
    sex: str
    oral_scale: float       # lips, mandible height, palate height/depth/length
    pharynx_scale: float    # pharynx length, larynx length/width, vocal-fold length
    f0_hz: float            # speaker's mean F0
    accent_st: float        # largest pitch-accent excursion, semitones
    tempo: float            # speaking rate factor (segment durations are divided by it)
    lung_pressure_dpa: float
    aspiration_db: float    # VTL glottis "AS" parameter
    flutter_percent: float  # VTL glottis "FL" parameter (slow random F0 fluctuation)

    def row(self) -> dict:
        return asdict(self)


SPEAKERS: list[Speaker] = [
    Speaker("spk01", "train", "m", 1.00, 1.00, 115, 4.0, 1.00, 8000, -10, 25),
    Speaker("spk02", "train", "f", 0.93, 0.86, 205, 5.0, 1.05, 7500, -8, 20),
    Speaker("spk03", "train", "m", 1.04, 1.08, 98, 3.0, 0.92, 8500, -12, 30),
    Speaker("spk04", "train", "f", 0.95, 0.89, 190, 6.0, 0.95, 7800, -9, 25),
    Speaker("spk05", "train", "m", 0.98, 0.96, 128, 4.0, 1.10, 8200, -14, 20),
    Speaker("spk06", "train", "f", 0.92, 0.85, 225, 5.0, 1.00, 7200, -7, 30),
    Speaker("spk07", "train", "m", 1.05, 1.10, 105, 3.5, 1.05, 9000, -11, 25),
    Speaker("spk08", "train", "f", 0.96, 0.91, 175, 4.5, 0.90, 8000, -10, 15),
    Speaker("spk09", "dev", "f", 0.94, 0.88, 198, 5.0, 1.00, 7600, -9, 25),
    Speaker("spk10", "test", "m", 1.01, 1.02, 110, 4.0, 0.97, 8300, -12, 25),
    Speaker("spk11", "test", "f", 0.94, 0.87, 212, 5.0, 1.03, 7400, -8, 20),
    Speaker("spk12", "babble_talkers", "m", 1.03, 1.06, 102, 4.0, 1.00, 8400, -11, 25),
    Speaker("spk13", "babble_talkers", "f", 0.93, 0.87, 215, 5.5, 1.05, 7500, -8, 20),
    Speaker("spk14", "babble_talkers", "m", 0.99, 0.98, 122, 3.5, 0.95, 8100, -13, 30),
    Speaker("spk15", "babble_talkers", "f", 0.95, 0.90, 185, 4.5, 1.00, 7700, -9, 25),
]


DEFAULT_COUNTS = {"train": 8, "dev": 1, "test": 2, "babble_talkers": 4}
# The anatomy range of the table (its extreme speakers are the ones the closure tests check).
DEFAULT_ORAL_SCALE = (0.92, 1.05)
DEFAULT_PHARYNX_SCALE = (0.85, 1.10)
GOLDEN = (np.sqrt(5.0) - 1) / 2


def parse_counts(text: str) -> dict[str, int]:
    """``"8,1,2,4"`` → speakers per split (train, dev, test, babble talkers)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != len(SPLITS):
        raise SitoolError(f"--speakers {text!r}: give four counts TRAIN,DEV,TEST,BABBLE "
                          "(e.g. 8,1,2,4)")
    return dict(zip(SPLITS, values))


def parse_range(text: str, what: str) -> tuple[float, float]:
    """``"0.92,1.05"`` → (0.92, 1.05)."""
    try:
        lo, hi = (float(p) for p in str(text).split(","))
    except ValueError:
        raise SitoolError(f"{what} {text!r}: give MIN,MAX (e.g. 0.92,1.05)") from None
    return lo, hi


def make_speakers(counts: dict[str, int] | None = None,
                  oral_scale: tuple[float, float] = DEFAULT_ORAL_SCALE,
                  pharynx_scale: tuple[float, float] = DEFAULT_PHARYNX_SCALE) -> list[Speaker]:
    """Speakers per split (``counts``, default ``DEFAULT_COUNTS``) with anatomy scales in the
    given ranges. The defaults return the fixed table ``SPEAKERS``.

    Otherwise every split alternates m/f; each speaker gets a size ``s`` in [0, 1] (f in the
    lower half, m in the upper half, spread by a golden-ratio sequence so every split gets
    small and large tracts) and ``oral_scale``/``pharynx_scale`` at ``s`` along their ranges;
    F0 falls with size (f 225-175 Hz, m 130-98 Hz); accent, tempo, lung pressure, aspiration
    and flutter are drawn from fixed per-speaker seeds. Speakers do not depend on the corpus
    seed; ids ``spk01``... follow the split order.
    """
    counts = dict(DEFAULT_COUNTS if counts is None else counts)
    unknown = sorted(set(counts) - set(SPLITS))
    if unknown:
        raise SitoolError(f"speaker counts: unknown split(s) {unknown}; splits are {SPLITS}")
    counts = {split: int(counts.get(split, 0)) for split in SPLITS}
    for split in ("train", "dev", "test"):
        if counts[split] < 1:
            raise SitoolError(f"speaker counts: {split} needs at least one speaker "
                              f"(got {counts[split]})")
    if counts["babble_talkers"] < 0:
        raise SitoolError("speaker counts: babble talkers must be >= 0")
    for name, (lo, hi), tested in [("oral_scale", oral_scale, DEFAULT_ORAL_SCALE),
                                   ("pharynx_scale", pharynx_scale, DEFAULT_PHARYNX_SCALE)]:
        if not 0 < lo <= hi:
            raise SitoolError(f"{name} range ({lo}, {hi}): needs 0 < min <= max")
        if lo < tested[0] or hi > tested[1]:
            log.warning("%s range (%g, %g) leaves the tested range (%g, %g): closures of "
                        "stops and nasals are checked only inside it", name, lo, hi, *tested)
    if (counts == DEFAULT_COUNTS and tuple(oral_scale) == DEFAULT_ORAL_SCALE
            and tuple(pharynx_scale) == DEFAULT_PHARYNX_SCALE):
        return list(SPEAKERS)
    total = sum(counts.values())
    width = max(2, len(str(total)))
    speakers, seen = [], {"m": 0, "f": 0}
    for split in SPLITS:
        for k in range(counts[split]):
            sex = "m" if k % 2 == 0 else "f"
            u = (0.5 + seen[sex] * GOLDEN) % 1.0
            seen[sex] += 1
            size = 0.5 * u if sex == "f" else 0.5 + 0.5 * u
            index = len(speakers) + 1
            rng = np.random.default_rng([7919, index])
            f0 = 225 - 100 * size if sex == "f" else 130 - 64 * (size - 0.5)
            speakers.append(Speaker(
                id=f"spk{index:0{width}d}", split=split, sex=sex,
                oral_scale=float(round(oral_scale[0] + size * (oral_scale[1] - oral_scale[0]), 3)),
                pharynx_scale=float(round(pharynx_scale[0]
                                          + size * (pharynx_scale[1] - pharynx_scale[0]), 3)),
                f0_hz=float(round(f0, 1)),
                accent_st=round(float(rng.uniform(3.0, 6.0)), 1),
                tempo=round(float(rng.uniform(0.9, 1.1)), 2),
                lung_pressure_dpa=int(round(float(rng.uniform(7200, 9000)), -2)),
                aspiration_db=round(float(rng.uniform(-14, -7))),
                flutter_percent=5 * round(float(rng.uniform(15, 30)) / 5)))
    return speakers


def speaker_from_row(row: dict) -> Speaker:
    """Rebuild a Speaker from a ``speakers.tsv`` row (all values as strings)."""
    kwargs = {}
    for f in fields(Speaker):
        if f.name not in row:
            raise SitoolError(f"speakers.tsv: missing column {f.name!r}")
        kwargs[f.name] = float(row[f.name]) if f.type in ("float", float) else str(row[f.name])
    return Speaker(**kwargs)


def format_speakers_tsv(speakers: list[Speaker]) -> str:
    names = [f.name for f in fields(Speaker)]
    lines = ["\t".join(names)]
    for spk in speakers:
        lines.append("\t".join(str(getattr(spk, n)) for n in names))
    return "\n".join(lines) + "\n"


def parse_speakers_tsv(text: str, path: str = "speakers.tsv") -> list[Speaker]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SitoolError(f"{path}: empty")
    header = lines[0].split("\t")
    speakers = []
    for lineno, line in enumerate(lines[1:], 2):
        values = line.split("\t")
        if len(values) != len(header):
            raise SitoolError(f"{path}:{lineno}: {len(values)} columns, header has {len(header)}")
        try:
            speakers.append(speaker_from_row(dict(zip(header, values))))
        except (SitoolError, ValueError) as e:
            raise SitoolError(f"{path}:{lineno}: {e}") from None
    return speakers


@dataclass(frozen=True)
class PlannedUtt:
    """One planned utterance: id, speaker, and its index within the speaker (for its seed)."""

    utt: str
    speaker: str
    index: int


def plan_utterances(num_utts: int, speakers: list[Speaker]) -> list[PlannedUtt]:
    """Spread ``num_utts`` utterances evenly over ``speakers`` (remainder to the first ones).

    Utterance ids are ``<speaker>_<index:04d>``, so they sort by speaker (Kaldi convention).
    """
    if num_utts < len(speakers):
        raise SitoolError(f"--num-utts {num_utts} is smaller than the number of speakers "
                          f"({len(speakers)}); every speaker needs at least one utterance")
    per_speaker, extra = divmod(num_utts, len(speakers))
    plan = []
    for i, spk in enumerate(speakers):
        for j in range(per_speaker + (1 if i < extra else 0)):
            plan.append(PlannedUtt(f"{spk.id}_{j:04d}", spk.id, j))
    return plan
