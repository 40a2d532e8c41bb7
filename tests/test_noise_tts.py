"""Optional TTS babble talkers (espeak-ng). .ci/run installs espeak-ng, so these run in CI; on a
machine without it only the missing-program error is tested."""

import shutil

import numpy as np
import pytest
import soundfile as sf

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError
from sitool.noise import tts
from sitool.noise.snr import active_speech_level
from sitool.noise.synth import read_synth_manifest, synth_noise
from sitool.testing.data_dirs import make_toy_data_dir

needs_espeak = pytest.mark.skipif(shutil.which(tts.ESPEAK) is None,
                                  reason="espeak-ng not installed (apt-get install espeak-ng)")


def test_voices_are_distinct_seeded_and_bounded():
    voices = tts.tts_voices(8, seed=1)
    assert voices == tts.tts_voices(8, seed=1)
    assert voices != tts.tts_voices(8, seed=2)
    assert len({(v.accent, v.variant) for v in voices}) == 8
    assert all(tts.PITCH_RANGE[0] <= v.pitch <= tts.PITCH_RANGE[1] for v in voices)
    assert all(tts.SPEED_RANGE[0] <= v.speed <= tts.SPEED_RANGE[1] for v in voices)
    with pytest.raises(SitoolError, match="choose 0..60"):
        tts.tts_voices(61, seed=1)
    sentence = tts.random_sentence(np.random.default_rng(0)).split()
    assert tts.SENTENCE_WORDS[0] <= len(sentence) <= tts.SENTENCE_WORDS[1]
    assert set(sentence) <= set(tts.WORDS)


def test_missing_espeak_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SitoolError, match="espeak-ng not found on PATH: install it"):
        tts.tts_talkers(2, 1, seed=1)
    assert tts.tts_talkers(0, 1, seed=1) == {}     # no TTS asked for: espeak-ng not needed


@needs_espeak
def test_speech_is_16khz_speech_like_and_deterministic(tmp_path):
    voice = tts.tts_voices(1, seed=3)[0]
    text = "the children found a small boat near the river"
    audio = tts.speak(voice, text, tmp_path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    seconds = audio.size / SAMPLE_RATE
    assert 1.0 < seconds < 6.0                    # 9 words at 140-190 words per minute
    level = active_speech_level(audio, SAMPLE_RATE)
    assert 0.3 < level.activity <= 1.0            # speech with pauses, not silence
    np.testing.assert_array_equal(audio, tts.speak(voice, text, tmp_path))
    slower = tts.TtsVoice(voice.accent, voice.variant, voice.pitch, speed=100)
    assert tts.speak(slower, text, tmp_path).size > audio.size


@needs_espeak
def test_tts_talkers_join_the_babble_pool(tmp_path):
    talkers = make_toy_data_dir(tmp_path / "babble_talkers", num_utts=6, num_speakers=2, seed=2,
                                prefix="bb")
    kwargs = dict(seed=1, babble_talkers=talkers, types=["white"], babble_counts=(3,),
                  seconds=4.0, babble_seconds=(6.0, 3.0, 3.0), tts_talkers=4, tts_utts=3)
    out = synth_noise(tmp_path / "noise", **kwargs)
    babble = [f for f in read_synth_manifest(out) if f.category == "babble"]
    heard = {split: set() for split in ("train", "dev", "test")}
    for f in babble:
        heard[f.split].update(f.talkers)
    everyone = set().union(*heard.values())
    assert {t for t in everyone if t.startswith("tts-")}      # TTS voices are used
    assert {t for t in everyone if t.startswith("bb")}        # next to the synthetic talkers
    again = synth_noise(tmp_path / "noise2", **kwargs)        # same seed: same audio
    for f in babble:
        a, _ = sf.read(out / f.path.split("/")[-1])
        b, _ = sf.read(again / f.path.split("/")[-1])
        np.testing.assert_array_equal(a, b)
    tts_only = synth_noise(tmp_path / "noise3", seed=1, babble_talkers=None, types=["white"],
                           babble_counts=(2,), seconds=4.0, babble_seconds=(3.0, 3.0, 3.0),
                           tts_talkers=3, tts_utts=3)
    names = {t for f in read_synth_manifest(tts_only) for t in f.talkers}
    assert names and all(t.startswith("tts-") for t in names)
