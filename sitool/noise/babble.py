"""Babble: several talkers speaking at once, each at the same active speech level.

A babble of N talkers is the sum of N *talker streams*. A stream strings together one
talker's utterances (shuffled, reused in a new order when the stream needs more) with
pauses of 50-400 ms between them, and starts at a random point of its first utterance so
that the N streams are not aligned. Every utterance is scaled to the same P.56 active level
before it enters its stream ("level-normalised per talker"), so no talker dominates.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError
from sitool.noise.snr import active_speech_level

log = logging.getLogger(__name__)

GAP_S = (0.05, 0.4)      # pause between a talker's utterances (uniform)
RAMP_S = 0.01            # raised-cosine fade at both ends of every utterance (no clicks)
TALKER_LEVEL = 0.05      # RMS of each utterance's active speech (about -26 dB)
PEAK = 0.9               # peak of the returned babble


def level_normalise(utterance: np.ndarray, level: float = TALKER_LEVEL) -> np.ndarray:
    """Scale ``utterance`` so that its active speech level (RMS over active samples) is ``level``."""
    active = active_speech_level(utterance, SAMPLE_RATE)
    return (np.asarray(utterance, dtype=np.float64) * (level / np.sqrt(active.power)))


def ramp_edges(utterance: np.ndarray, seconds: float = RAMP_S) -> np.ndarray:
    """A copy of ``utterance`` with raised-cosine fades of ``seconds`` at both ends."""
    out = np.array(utterance, dtype=np.float64)
    n = min(int(seconds * SAMPLE_RATE), out.size // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        out[:n] *= ramp
        out[-n:] *= ramp[::-1]
    return out


def talker_stream(utterances: Sequence[np.ndarray], num_samples: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``num_samples`` of one talker: its (level-normalised) utterances in random order with
    random pauses, entered at a random point of the first utterance; every utterance fades
    in and out over 10 ms. float64."""
    if not utterances:
        raise SitoolError("talker_stream: a talker needs at least one utterance")
    pieces: list[np.ndarray] = []
    total = 0
    first = True
    while total < num_samples:
        for i in rng.permutation(len(utterances)):
            utt = utterances[i]
            if first:
                utt = utt[rng.integers(0, max(1, utt.size // 2)):]
                first = False
            utt = ramp_edges(utt)
            gap = np.zeros(int(rng.uniform(*GAP_S) * SAMPLE_RATE))
            pieces.extend((utt, gap))
            total += utt.size + gap.size
            if total >= num_samples:
                break
    return np.concatenate(pieces)[:num_samples]


def make_babble(talkers: Sequence[Sequence[np.ndarray]], seconds: float,
                rng: np.random.Generator) -> np.ndarray:
    """Sum one stream per entry of ``talkers`` (each a list of that talker's utterances,
    16 kHz). Returns float32 ``[seconds * 16000]`` with peak ``PEAK``."""
    if len(talkers) < 2:
        raise SitoolError(f"make_babble: babble needs at least 2 talkers, got {len(talkers)}")
    n = int(round(seconds * SAMPLE_RATE))
    out = np.zeros(n)
    for utterances in talkers:
        normalised = [level_normalise(u) for u in utterances]
        out += talker_stream(normalised, n, rng)
    peak = np.max(np.abs(out))
    if peak == 0:
        raise SitoolError("make_babble: the talkers' audio is silent")
    return (PEAK * out / peak).astype(np.float32)


def assign_talkers(speakers: Sequence[str], num_talkers: int,
                   rng: np.random.Generator) -> list[str]:
    """Pick the speaker of each of ``num_talkers`` streams: distinct speakers when there are
    enough, otherwise every speaker once per round (in a fresh random order each round)."""
    if not speakers:
        raise SitoolError("babble: no talkers to choose from")
    chosen: list[str] = []
    while len(chosen) < num_talkers:
        round_ = [speakers[i] for i in rng.permutation(len(speakers))]
        chosen.extend(round_[:num_talkers - len(chosen)])
    if len(speakers) < num_talkers:
        log.info("babble of %d talkers from %d speakers: some speakers talk in two streams "
                 "(different utterances and timing)", num_talkers, len(speakers))
    return chosen


def babble_per_split(pools: Mapping[str, Mapping[str, Sequence[str]]],
                     audio: Callable[[str], np.ndarray], counts: Sequence[int],
                     seconds: Sequence[float],
                     rng: Callable[[int, str], np.random.Generator]
                     ) -> Iterator[tuple[str, int, np.ndarray, tuple[str, ...]]]:
    """The babble of every split and talker count, from that split's talkers only.

    ``pools``: ``split -> {talker: [utterance ids]}`` (the splits in order; a talker's order in
    its pool is the order ``assign_talkers`` draws from); ``audio(utt)`` gives an utterance
    at 16 kHz; ``seconds[i]`` is the length of the i-th split's babble; ``rng(n, split)`` the
    generator of one babble. Yields ``(split, n, babble, talkers)`` per split and count ``n``
    (``talkers``: the distinct talkers in it, sorted). The one babble loop of ``synth-noise``,
    MUSAN and ``prepare-noise babble``.
    """
    jobs = [(i, split, n) for i, split in enumerate(pools) for n in counts]
    audio_cache: dict[str, np.ndarray] = {}
    current = None
    for i, split, n in tqdm(jobs, desc="babble", leave=False):
        if split != current:         # splits share no utterance: keep one split's audio only
            audio_cache.clear()
            current = split
        pool = pools[split]
        generator = rng(n, split)
        speakers = assign_talkers(list(pool), n, generator)
        talkers = []
        for spk in speakers:
            for utt in pool[spk]:
                if utt not in audio_cache:
                    audio_cache[utt] = audio(utt)
            talkers.append([audio_cache[utt] for utt in pool[spk]])
        yield split, n, make_babble(talkers, seconds[i], generator), tuple(sorted(set(speakers)))
