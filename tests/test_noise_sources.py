"""Noise readers (MUSAN, DEMAND, NOISEX-92, any dir) on layout fixtures, and the disjoint split."""

import numpy as np
import pytest
import soundfile as sf

from sitool.audio import write_audio
from sitool.errors import SitoolError
from sitool.mixture import load_noise_range
from sitool.noise.readers import read_audio_dir, read_demand, read_musan, read_noisex
from sitool.noise.sources import (SPLITS, NoiseFile, prepare_noise_dirs, read_noise_dir,
                                  split_noise_files)

RATE = 16000


def noise_file(path, seconds=4.0, rate=RATE, seed=0, channels=1):
    rng = np.random.default_rng(seed)
    data = 0.1 * rng.standard_normal((int(seconds * rate), channels)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data if channels > 1 else data[:, 0], rate)
    return path


def speech_like(path, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = rng.uniform(100, 220)
    env = (np.sin(2 * np.pi * rng.uniform(2, 5) * t) > -0.3).astype(np.float32)
    write_audio(path, (0.2 * env * np.sin(2 * np.pi * f0 * t)).astype(np.float32))
    return path


def spans(segments):
    """(file, first sample, last sample) of every entry, at 16 kHz."""
    return [(s.path, round(s.start * RATE), round(s.end * RATE)) for s in segments]


def assert_disjoint(split):
    seen = []
    for name in SPLITS:
        for path, lo, hi in spans(split[name]):
            for other_name, (p2, lo2, hi2) in seen:
                if p2 == path and other_name != name:
                    assert hi <= lo2 or hi2 <= lo, f"{path}: {name} overlaps {other_name}"
        seen += [(name, s) for s in spans(split[name])]


def test_musan_layout(tmp_path):
    root = tmp_path / "musan"
    for i in range(4):
        noise_file(root / "noise" / "free-sound" / f"noise-free-sound-{i:04d}.wav", 2.0, seed=i)
    noise_file(root / "noise" / "sound-bible" / "noise-sound-bible-0000.wav", 4.0, seed=9)
    (root / "noise" / "free-sound" / "ANNOTATIONS").write_text("ignored\n")
    for i in range(6):
        speech_like(root / "speech" / "librivox" / f"speech-librivox-{i:04d}.wav", seed=i)
    noise_file(root / "music" / "fma" / "music-fma-0000.wav", 4.0, seed=20)
    files = read_musan(root, tmp_path / "babble_audio", seed=1, babble_counts=(3,), music=False)
    types = {f.noise_type for f in files}
    assert types == {"freesound", "soundbible", "babble3"}
    babble = [f for f in files if f.category == "babble"]
    assert sorted(f.split for f in babble) == ["dev", "test", "train"]
    # babble talkers (speech files) of different splits never overlap
    talkers = {f.split: set(f.talkers) for f in babble}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not talkers[a] & talkers[b]
    assert all(sf.info(f.path).samplerate == RATE for f in babble)
    split = split_noise_files(files, seed=1, progress=False)
    assert_disjoint(split)
    # 4 free-sound files: whole files per split; 1 sound-bible file: three time ranges
    free = {name: [s for s in split[name] if s.noise_type == "freesound"] for name in SPLITS}
    assert sorted(len(v) for v in free.values()) == [1, 1, 2]
    assert all(s.start == 0 for v in free.values() for s in v)
    bible = [s for name in SPLITS for s in split[name] if s.noise_type == "soundbible"]
    assert [(s.start, s.end) for s in bible] == [(0.0, 2.4), (2.4, 3.2), (3.2, 4.0)]
    with_music = read_musan(root, tmp_path / "b2", seed=1, babble_counts=(), music=True)
    assert {f.noise_type for f in with_music} == {"freesound", "soundbible", "music_fma"}


def test_demand_layout_uses_one_channel(tmp_path):
    root = tmp_path / "DEMAND"
    for env in ("DKITCHEN", "PCAFETER_16k"):
        for ch in (1, 2):
            noise_file(root / env / f"ch{ch:02d}.wav", 5.0, seed=ch)
    files = read_demand(root, channel=2, babble_types=("pcafeter",))
    assert sorted((f.noise_type, f.category) for f in files) == [
        ("dkitchen", "non-babble"), ("pcafeter", "babble")]
    assert all(f.path.endswith("ch02.wav") for f in files)
    with pytest.raises(SitoolError, match="ch07.wav"):
        read_demand(root, channel=7)


def test_noisex_layout_and_resampling(tmp_path):
    root = tmp_path / "noisex"
    noise_file(root / "white.wav", 4.0, rate=19980)  # NOISEX-92's own rate
    noise_file(root / "babble.wav", 4.0, rate=19980, seed=1)
    noise_file(root / "f16.wav", 4.0, rate=8000, seed=2, channels=2)  # stereo is downmixed
    files = read_noisex(root)
    assert {(f.noise_type, f.category) for f in files} == {
        ("white", "non-babble"), ("babble", "babble"), ("f16", "non-babble")}
    split = split_noise_files(files, seed=0, progress=False)
    assert_disjoint(split)
    test_white = next(s for s in split["test"] if s.noise_type == "white")
    audio = load_noise_range(test_white.noise_path)  # resampled to 16 kHz on load
    assert audio.size == round(test_white.duration * RATE)


def test_bad_inputs_are_skipped_with_a_count_or_clear_errors(tmp_path, caplog):
    root = tmp_path / "mine"
    for i in range(3):
        noise_file(root / f"ok{i}.wav", 3.0, seed=i)
    write_audio(root / "silent.wav", np.zeros(2 * RATE, dtype=np.float32))
    (root / "broken.wav").write_bytes(b"RIFF not really a wave file")
    noise_file(root / "tiny.wav", 0.3)
    files = read_audio_dir(root, "fan", "non-babble")
    assert len(files) == 6
    split = split_noise_files(files, seed=0, progress=False)
    assert sum(len(split[s]) for s in SPLITS) == 3
    assert "1 silent" in caplog.text and "1 unreadable" in caplog.text and "1 too short" in caplog.text
    # 3 files of which one is silent: the 2 usable ones are cut in time instead
    two = split_noise_files([f for f in files if f.recording in ("fan-ok0", "fan-ok1", "fan-silent")],
                            seed=0, progress=False)
    assert [len(two[s]) for s in SPLITS] == [2, 2, 2]
    assert_disjoint(two)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SitoolError, match="no audio files"):
        read_audio_dir(empty, "fan", "non-babble")
    with pytest.raises(SitoolError, match="no MUSAN audio"):
        read_musan(empty, tmp_path / "x", seed=0)
    with pytest.raises(SitoolError, match="no usable noise"):
        split_noise_files([NoiseFile("s", str(root / "silent.wav"), "fan", "non-babble")],
                          progress=False)


def test_noise_dirs_round_trip_and_reuse(tmp_path):
    root = tmp_path / "noisex"
    noise_file(root / "pink.wav", 6.0)
    calls = []

    def read():
        calls.append(1)
        return read_noisex(root)

    paths = prepare_noise_dirs(read, tmp_path / "data", fractions=(0.5, 0.25, 0.25))
    segments = {s: read_noise_dir(p) for s, p in paths.items()}
    assert [(x.start, x.end) for s in SPLITS for x in segments[s]] == [
        (0.0, 3.0), (3.0, 4.5), (4.5, 6.0)]
    assert (paths["test"] / "segments").read_text() == "noisex-pink-test noisex-pink 4.500 6.000\n"
    prepare_noise_dirs(read, tmp_path / "data")  # reused, the reader is not called again
    assert len(calls) == 1
    (paths["dev"] / "noise2type").unlink()
    with pytest.raises(SitoolError, match="noise2type: missing"):
        read_noise_dir(paths["dev"])
    with pytest.raises(SitoolError, match="noise directory not found"):
        read_noise_dir(tmp_path / "nowhere")
