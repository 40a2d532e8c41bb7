"""Phone inventory of the synthetic corpus and random syllable sequences.

Phones are named by the SAMPA symbols VocalTractLab's JD3 speaker understands (its segment
files use them, and its gestural-score generator maps each one to tract and glottal
gestures). The same symbols appear in ``phones.ctm``; silence is ``sil``.

An utterance is a sequence of ``Segment(phone, duration_s)``: a leading silence, syllables
(onset, vowel, coda) until the drawn utterance length is reached, and a trailing silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILENCE = "sil"


@dataclass(frozen=True)
class Phone:
    """One phone: SAMPA symbol, manner (``kind``), place, voicing and (vowels) rounding."""

    symbol: str
    kind: str       # vowel | stop | nasal | fricative | lateral | approximant
    place: str      # vowels: front | central | back; consonants: place of articulation
    voiced: bool
    rounded: bool = False


PHONES: dict[str, Phone] = {p.symbol: p for p in [
    # Vowels: spread (i I e E a @) and rounded (y Y 2 9 u U o O).
    Phone("i", "vowel", "front", True), Phone("I", "vowel", "front", True),
    Phone("e", "vowel", "front", True), Phone("E", "vowel", "front", True),
    Phone("a", "vowel", "central", True), Phone("@", "vowel", "central", True),
    Phone("y", "vowel", "front", True, True), Phone("Y", "vowel", "front", True, True),
    Phone("2", "vowel", "front", True, True), Phone("9", "vowel", "front", True, True),
    Phone("u", "vowel", "back", True, True), Phone("U", "vowel", "back", True, True),
    Phone("o", "vowel", "back", True, True), Phone("O", "vowel", "back", True, True),
    # Stops at three places.
    Phone("p", "stop", "bilabial", False), Phone("b", "stop", "bilabial", True),
    Phone("t", "stop", "alveolar", False), Phone("d", "stop", "alveolar", True),
    Phone("k", "stop", "velar", False), Phone("g", "stop", "velar", True),
    # Nasals.
    Phone("m", "nasal", "bilabial", True), Phone("n", "nasal", "alveolar", True),
    Phone("N", "nasal", "velar", True),
    # Fricatives.
    Phone("f", "fricative", "labiodental", False), Phone("v", "fricative", "labiodental", True),
    Phone("s", "fricative", "alveolar", False), Phone("z", "fricative", "alveolar", True),
    Phone("S", "fricative", "postalveolar", False), Phone("Z", "fricative", "postalveolar", True),
    Phone("C", "fricative", "palatal", False), Phone("x", "fricative", "uvular", False),
    Phone("h", "fricative", "glottal", False),
    # Lateral and approximant.
    Phone("l", "lateral", "alveolar", True), Phone("j", "approximant", "palatal", True),
]}

VOWELS = [p.symbol for p in PHONES.values() if p.kind == "vowel"]
ROUNDED_VOWELS = [v for v in VOWELS if PHONES[v].rounded]
SPREAD_VOWELS = [v for v in VOWELS if not PHONES[v].rounded and v != "@"]

# Syllable structure: onsets and codas (space-separated clusters), German-like phonotactics.
ONSETS = "p b t d k g m n f v s z S Z h l j".split()
ONSET_CLUSTERS = ["p l", "b l", "k l", "g l", "f l", "S l", "S t", "S p", "S m", "S n", "k n"]
CODAS = "p t k m n N f s S C x l".split()
CODA_CLUSTERS = ["n t", "n s", "l t", "s t", "f t", "C t", "x t", "m p", "N k", "l k"]
P_NO_ONSET, P_ONSET_CLUSTER = 0.15, 0.15
P_NO_CODA, P_CODA_CLUSTER = 0.45, 0.10
P_STRESSED = 0.4          # chance that a syllable is stressed (its vowel is lengthened)
STRESS_FACTOR = 1.35

# Duration ranges in seconds at tempo 1 (uniform draws).
DURATIONS_S = {
    "vowel": (0.07, 0.14),
    "stop_voiceless": (0.08, 0.12),   # closure + burst + aspiration (VTL's plosive segment)
    "stop_voiced": (0.06, 0.09),
    "nasal": (0.06, 0.09),
    "fricative": (0.08, 0.13),
    "lateral": (0.05, 0.08),
    "approximant": (0.05, 0.08),
    SILENCE: (0.08, 0.15),
}


@dataclass(frozen=True)
class Segment:
    """One phone (or ``sil``) with its duration in seconds."""

    phone: str
    duration: float


def duration_range(phone: str) -> tuple[float, float]:
    """The (min, max) duration in seconds of ``phone`` at tempo 1."""
    if phone == SILENCE:
        return DURATIONS_S[SILENCE]
    info = PHONES[phone]
    if info.kind == "stop":
        return DURATIONS_S["stop_voiced" if info.voiced else "stop_voiceless"]
    return DURATIONS_S[info.kind]


def random_syllable(rng: np.random.Generator) -> tuple[list[str], bool]:
    """Phones of one random syllable, and whether it is stressed."""
    phones: list[str] = []
    u = rng.random()
    if u >= P_NO_ONSET:
        if u < P_NO_ONSET + P_ONSET_CLUSTER:
            phones += str(rng.choice(ONSET_CLUSTERS)).split()
        else:
            phones.append(str(rng.choice(ONSETS)))
    phones.append(str(rng.choice(VOWELS)))
    u = rng.random()
    if u >= P_NO_CODA:
        if u < P_NO_CODA + P_CODA_CLUSTER:
            phones += str(rng.choice(CODA_CLUSTERS)).split()
        else:
            phones.append(str(rng.choice(CODAS)))
    return phones, bool(rng.random() < P_STRESSED)


def syllable_segments(rng: np.random.Generator, tempo: float) -> list[Segment]:
    """A random syllable with random durations (seconds, divided by ``tempo``)."""
    phones, stressed = random_syllable(rng)
    segments = []
    for phone in phones:
        low, high = duration_range(phone)
        duration = rng.uniform(low, high) / tempo
        if stressed and PHONES[phone].kind == "vowel":
            duration *= STRESS_FACTOR
        segments.append(Segment(phone, round(float(duration), 4)))
    return segments


def random_utterance(rng: np.random.Generator, seconds: tuple[float, float] = (1.0, 3.0),
                     tempo: float = 1.0) -> list[Segment]:
    """A random utterance: silence, syllables, silence; total length within ``seconds``.

    The target length is drawn uniformly from ``seconds``; syllables are added until it is
    reached, and the last one is dropped again if it pushed the total past the maximum.
    """
    target = rng.uniform(*seconds)
    low, high = DURATIONS_S[SILENCE]
    lead = Segment(SILENCE, round(float(rng.uniform(low, high)), 4))
    tail = Segment(SILENCE, round(float(rng.uniform(low, high)), 4))
    body: list[list[Segment]] = []

    def total() -> float:
        return lead.duration + tail.duration + sum(s.duration for syl in body for s in syl)

    while not body or total() < target:
        body.append(syllable_segments(rng, tempo))
    if len(body) > 1 and total() > seconds[1]:
        body.pop()
    return [lead] + [s for syl in body for s in syl] + [tail]


def segment_file_text(segments: list[Segment]) -> str:
    """The segments as a VocalTractLab segment-sequence file (silence has an empty name)."""
    lines = []
    for seg in segments:
        name = "" if seg.phone == SILENCE else seg.phone
        lines.append(f"name = {name}; duration_s = {seg.duration:.6f};\n")
    return "".join(lines)


def segment_times(segments: list[Segment]) -> list[tuple[float, float, str]]:
    """(start_s, end_s, phone) of every segment, back to back from t = 0."""
    out, t = [], 0.0
    for seg in segments:
        out.append((t, t + seg.duration, seg.phone))
        t += seg.duration
    return out
