"""Extra babble talkers from text-to-speech (optional; ``sitool synth-noise --tts-talkers N``).

The embedded babble uses the held-out synthetic VocalTractLab speakers. Where Debian's
``espeak-ng`` is installed, TTS voices can be added to that talker pool: other voice
qualities, English accents and real (if robotic) English word sequences. The default recipe
does not need them.

A TTS talker is one espeak-ng voice (an English accent + a formant variant such as ``m3`` or
``f2``) at a fixed pitch and speed, saying random sentences made from a built-in word list.
Voices, sentences and therefore the audio are a function of the seed (espeak-ng itself is
deterministic), resampled from espeak-ng's 22.05 kHz to 16 kHz.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sitool.audio import SAMPLE_RATE, read_audio_file, resample
from sitool.errors import SitoolError
from sitool.noise.seeds import rng_for

ESPEAK = "espeak-ng"
# eSpeak NG's own English voices (no MBROLA data needed) and its formant variants.
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan")
VARIANTS = tuple(f"m{i}" for i in range(1, 8)) + tuple(f"f{i}" for i in range(1, 6))
PITCH_RANGE = (25, 75)       # espeak-ng -p, 0-99 (50 = the voice's default)
SPEED_RANGE = (140, 190)     # espeak-ng -s, words per minute
SENTENCE_WORDS = (5, 12)
WORDS = tuple("""
a about after again all also always an and animal answer any are around as ask at away back
be because been before began best between big black blue boat book both boy bread bring brown
but by call came can car carry change children city close cold come could country cut day did
different do does dog door down draw each early earth eat end enough even every eye face far
farm father feet few find fire first fish five food for form found four friend from full game
gave get girl give go good got great green grow had half hand hard has have he head hear heavy
help her here high him his hold home horse hot house how idea if in into is it just keep kind
king know land large last late learn leave left let letter life light like line list little
live long look made make man many map may me mean men might mile mind money month more morning
most mother mountain move much music must my name near need never new next night no north not
now number of off often old on once one only open or other our out over own page paper part
people picture place plant play point put question quick rain read red river road rock room
round run said same saw say school sea second see seem sentence set she ship short should show
side simple since sing sister small snow so some something song soon sound south stand start
state stay still stop story street strong study such summer sun table take talk tell than that
the their them then there these they thing think this those thought three through time to
together too took top town tree try turn two under until up us use very voice walk want warm
was watch water way we week well went were what when where which while white who why will wind
window winter with without woman word work world would write year yes you young your
""".split())


@dataclass(frozen=True)
class TtsVoice:
    """One TTS talker: espeak-ng voice ``accent+variant`` at ``pitch`` and ``speed``."""

    accent: str
    variant: str
    pitch: int
    speed: int

    @property
    def name(self) -> str:
        return f"tts-{self.accent}-{self.variant}-p{self.pitch}-s{self.speed}"

    def command(self, text: str, wav: Path) -> list[str]:
        return [ESPEAK, "-v", f"{self.accent}+{self.variant}", "-p", str(self.pitch),
                "-s", str(self.speed), "-w", str(wav), text]


def find_espeak() -> str:
    """Path of espeak-ng, or one clear error saying how to get it."""
    path = shutil.which(ESPEAK)
    if path is None:
        raise SitoolError(f"{ESPEAK} not found on PATH: install it (Debian/Ubuntu: apt-get "
                          "install espeak-ng) or make babble without TTS talkers "
                          "(--tts-talkers 0)")
    return path


def tts_voices(count: int, seed: int) -> list[TtsVoice]:
    """``count`` distinct voices (accent and variant pairs), drawn with ``seed``."""
    pairs = list(itertools.product(ACCENTS, VARIANTS))
    if not 0 <= count <= len(pairs):
        raise SitoolError(f"--tts-talkers {count}: choose 0..{len(pairs)} (distinct espeak-ng "
                          "accent/variant pairs)")
    rng = rng_for(seed, "tts-voices")
    chosen = rng.choice(len(pairs), size=count, replace=False)
    return [TtsVoice(*pairs[i], pitch=int(rng.integers(*PITCH_RANGE, endpoint=True)),
                     speed=int(rng.integers(*SPEED_RANGE, endpoint=True)))
            for i in chosen]


def random_sentence(rng: np.random.Generator) -> str:
    """A random word sequence of ``SENTENCE_WORDS`` words from ``WORDS``."""
    n = int(rng.integers(*SENTENCE_WORDS, endpoint=True))
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), size=n))


def speak(voice: TtsVoice, text: str, workdir: Path) -> np.ndarray:
    """``text`` said by ``voice``: float32 mono at 16 kHz."""
    wav = workdir / "tts.wav"
    result = subprocess.run(voice.command(text, wav), capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 or not wav.is_file():
        raise SitoolError(f"{ESPEAK} failed for voice {voice.accent}+{voice.variant} "
                          f"(exit {result.returncode}): {result.stderr.strip()[:200]}")
    audio, rate = read_audio_file(wav)
    wav.unlink()
    return resample(audio[:, 0], rate, SAMPLE_RATE)


def tts_talkers(count: int, utts_per_talker: int, seed: int) -> dict[str, list[np.ndarray]]:
    """``{talker name: [utterances]}`` for ``count`` TTS talkers, each saying
    ``utts_per_talker`` random sentences (16 kHz float32)."""
    if count == 0:
        return {}
    find_espeak()
    if utts_per_talker < 1:
        raise SitoolError(f"--tts-utts {utts_per_talker}: each TTS talker needs at least 1 "
                          "utterance")
    talkers = {}
    with tempfile.TemporaryDirectory(prefix="sitool-tts-") as tmp:
        for voice in tts_voices(count, seed):
            rng = rng_for(seed, "tts-text", voice.name)
            talkers[voice.name] = [speak(voice, random_sentence(rng), Path(tmp))
                                   for _ in range(utts_per_talker)]
    return talkers
