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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sitool.errors import SitoolError

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
