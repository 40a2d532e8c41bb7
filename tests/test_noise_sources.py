"""Noise readers (MUSAN, DEMAND, NOISEX-92, any dir, babble from a speech data dir) on layout
fixtures, the disjoint split, and several sources combined into the noise dirs mix reads."""

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.audio import write_audio
from sitool.cli import main
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.mixture import load_noise_range
from sitool.noise.readers import (read_audio_dir, read_demand, read_musan, read_noisex,
                                  read_speech_babble)
from sitool.noise.sources import (SPLITS, NoiseFile, prepare_noise_dirs, read_noise_dir,
                                  split_noise_files)
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.validate import validate_data_dir

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


def test_noisex_knows_its_names_ists_and_icra(tmp_path):
    root = tmp_path / "noisex"
    for i, name in enumerate(("white.wav", "Babble.wav", "f-16.wav", "destroyer_engine.wav",
                              "noisex_volvo_22k.wav", "ISTS-V1.0_60s_24bit.wav", "icra_01.wav",
                              "ICRA_09.wav")):
        noise_file(root / name, 1.0, rate=22050, seed=i)
    files = read_noisex(root)
    assert sorted((f.recording, f.noise_type, f.category) for f in files) == [
        ("noisex-babble", "babble", "babble"),
        ("noisex-destroyerengine", "destroyerengine", "non-babble"),
        ("noisex-f16", "f16", "non-babble"),
        ("noisex-icra_01", "icra", "babble"),
        ("noisex-icra_09", "icra", "babble"),
        ("noisex-ists-v1.0_60s_24bit", "ists", "babble"),
        ("noisex-volvo", "volvo", "non-babble"),
        ("noisex-white", "white", "non-babble")]
    # --category overrides a built-in label
    relabelled = read_noisex(root, categories={"icra": "non-babble"})
    assert {f.noise_type: f.category for f in relabelled}["icra"] == "non-babble"


def test_noisex_unknown_files_need_a_category(tmp_path, caplog):
    root = tmp_path / "noisex"
    noise_file(root / "white.wav", 3.0, rate=22050)
    noise_file(root / "Track01.wav", 3.0, rate=22050, seed=1)
    noise_file(root / "cafe.wav", 3.0, rate=22050, seed=2)
    with pytest.raises(SitoolError, match=r"noisex: 2 file\(s\) are not NOISEX-92, ISTS or ICRA "
                                          r"\(Track01.wav, cafe.wav\).*--unknown-category "
                                          r"babble\|non-babble.*--category TYPE="):
        read_noisex(root)
    files = read_noisex(root, unknown_category="non-babble")
    assert {f.noise_type: f.category for f in files} == {
        "white": "non-babble", "track01": "non-babble", "cafe": "non-babble"}
    assert "2 file(s) that are not NOISEX-92, ISTS or ICRA labelled non-babble" in caplog.text
    files = read_noisex(root, categories={"track01": "babble", "cafe": "non-babble"})
    assert {f.noise_type: f.category for f in files}["track01"] == "babble"
    with pytest.raises(SitoolError, match="--category track1: no file of that type"):
        read_noisex(root, categories={"track1": "babble"}, unknown_category="babble")
    # one recording under two names is not guessed at
    noise_file(root / "white_16k.wav", 1.0)
    with pytest.raises(SitoolError, match=r"white.wav, white_16k.wav are all NOISEX-92 white"):
        read_noisex(root, unknown_category="babble")
    # the CLI: the error line, then the options
    (root / "white_16k.wav").unlink()
    runner = CliRunner()
    args = ["prepare-noise", "noisex", str(root), "--out", str(tmp_path / "data"),
            "--name", "nx"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "2 file(s) are not NOISEX-92" in result.output
    result = runner.invoke(main, args + ["--category", "track01=babble", "--category",
                                         "cafe=non-babble"])
    assert result.exit_code == 0, result.output
    categories = {s.noise_type: s.category for s in read_noise_dir(tmp_path / "data" / "nx_test")}
    assert categories == {"white": "non-babble", "track01": "babble", "cafe": "non-babble"}
    result = runner.invoke(main, args + ["--category", "cafe:babble"])
    assert result.exit_code == 1 and "expected TYPE=babble or TYPE=non-babble" in result.output


def speech_dir(path, num_speakers=8, utts_per_speaker=2, prefix="bab"):
    return make_toy_data_dir(path, num_utts=num_speakers * utts_per_speaker,
                             num_speakers=num_speakers, prefix=prefix, seconds=(1.0, 1.5))


def test_babble_from_a_speech_data_dir_has_disjoint_talkers(tmp_path):
    speech = speech_dir(tmp_path / "babble_speech")
    files = read_speech_babble(speech, tmp_path / "audio", seed=1, counts=(2, 3),
                               seconds=(3.0, 2.0, 2.0))
    assert sorted((f.recording, f.noise_type, f.split) for f in files) == [
        (f"babble_speech-babble{n}_{s}", f"babble{n}", s) for n in (2, 3)
        for s in ("dev", "test", "train")]
    talkers = {s: set() for s in SPLITS}
    for f in files:
        pool = {"train": 4, "dev": 2, "test": 2}[f.split]    # 8 speakers split 0.6/0.2/0.2
        assert f.category == "babble" and len(f.talkers) == min(int(f.noise_type[-1]), pool)
        talkers[f.split] |= set(f.talkers)
        assert sf.info(f.path).samplerate == RATE
        assert sf.info(f.path).duration == pytest.approx(3.0 if f.split == "train" else 2.0)
    assert all(talkers[s] for s in SPLITS)
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not talkers[a] & talkers[b]
    assert set().union(*talkers.values()) <= {f"babspk{i}" for i in range(8)}
    # the same seed gives the same babble
    again = read_speech_babble(speech, tmp_path / "audio2", seed=1, counts=(2,),
                               seconds=(3.0, 2.0, 2.0))
    first = {f.recording: f.path for f in files}
    for f in again:
        assert sf.read(f.path)[0].tolist() == sf.read(first[f.recording])[0].tolist()
    few = speech_dir(tmp_path / "few", num_speakers=5, utts_per_speaker=3)
    with pytest.raises(SitoolError, match=r"5 speaker\(s\) give train/dev/test 3/1/1 .*at least "
                                          r"2 per split"):
        read_speech_babble(few, tmp_path / "audio3", seed=1)


def test_babble_from_a_folder_of_speech_files(tmp_path):
    """A user's speech sample is a folder of wavs (any rate), not a data dir: speakers come
    from the file names (issue 34)."""
    folder = tmp_path / "speech"
    for spk in range(8):
        for n in range(2):
            noise_file(folder / f"t{spk:02d}_{n}.wav", 1.0, rate=22050, seed=10 * spk + n)
    files = read_speech_babble(folder, tmp_path / "audio", seed=1, counts=(2,),
                               seconds=(2.0, 1.0, 1.0))
    talkers = {f.split: set(f.talkers) for f in files}
    assert set().union(*talkers.values()) <= {f"t{spk:02d}" for spk in range(8)}
    assert not talkers["train"] & talkers["test"] and all(talkers.values())
    assert all(sf.info(f.path).samplerate == RATE for f in files)
    (folder / "noname.wav").write_bytes((folder / "t00_0.wav").read_bytes())
    with pytest.raises(SitoolError, match=r"noname.wav: --speaker-pattern .* finds no speaker"):
        read_speech_babble(folder, tmp_path / "audio2", seed=1, counts=(2,))
    (folder / "noname.wav").unlink()
    result = CliRunner().invoke(main, ["prepare-noise", "babble", str(folder), "--out",
                                       str(tmp_path / "data"), "--name", "noise_babble",
                                       "--babble-counts", "2", "--speaker-pattern", r"^(t\d+)_"])
    assert result.exit_code == 0, result.output
    assert read_noise_dir(tmp_path / "data" / "noise_babble_test")[0].talkers


def test_user_flow_three_sources_combined_then_mixed(tmp_path):
    """prepare-noise noisex + dir + babble, combine-data per split, mix: the issue's flow."""
    noisex, sounds, data = (tmp_path / "noise" / "noisex", tmp_path / "noise" / "sounds",
                            tmp_path / "data")
    for i, name in enumerate(("white.wav", "babble.wav", "ISTS-V1.0_60s.wav", "icra_01.wav")):
        noise_file(noisex / name, 3.0, rate=22050, seed=i)
    for i in range(3):
        noise_file(sounds / f"sound{i}.wav", 1.5, rate=20000, seed=10 + i)
    speech_dir(data / "babble_speech")
    train = make_toy_data_dir(data / "train", num_utts=4, num_speakers=2, prefix="tr")
    runner = CliRunner()
    for args in (["noisex", str(noisex), "--name", "noise_noisex"],
                 ["dir", str(sounds), "--type", "sounds", "--category", "non-babble",
                  "--name", "noise_sounds"],
                 ["babble", str(data / "babble_speech"), "--name", "noise_babble",
                  "--babble-counts", "2,3", "--babble-seconds", "3,2,2"]):
        result = runner.invoke(main, ["prepare-noise", *args, "--out", str(data)])
        assert result.exit_code == 0, result.output
    for split in SPLITS:
        result = runner.invoke(main, ["combine-data", str(data / f"noise_{split}"),
                                      *(str(data / f"noise_{n}_{split}")
                                        for n in ("noisex", "sounds", "babble"))])
        assert result.exit_code == 0, result.output
    test_noise = read_noise_dir(data / "noise_test")
    assert {(s.noise_type, s.category) for s in test_noise} == {
        ("white", "non-babble"), ("babble", "babble"), ("ists", "babble"), ("icra", "babble"),
        ("sounds", "non-babble"), ("babble2", "babble"), ("babble3", "babble")}
    assert all(s.talkers for s in test_noise if s.noise_type in ("babble2", "babble3"))
    result = runner.invoke(main, ["mix", str(train), str(data / "noise_train"),
                                  str(data / "train_multi"), "--per-utt", "1", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert validate_data_dir(data / "train_multi", progress=False) == []
    assert len(DataDir(data / "train_multi").mix) == 4
