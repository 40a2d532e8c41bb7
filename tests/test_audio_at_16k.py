"""Real-data speed: audio at other rates is converted once, when data dirs are prepared
(``sitool prepare`` and ``sitool prepare-noise`` write 16 kHz mono copies), never on every read."""

import numpy as np
import soundfile as sf

from sitool import mixture
from sitool.audio import RESAMPLE_LOG, load_audio, resample
from sitool.corpora import generic
from sitool.corpora.build import PrepareOptions, prepare_corpus
from sitool.datadir import DataDir
from sitool.noise.noisy_sets import mix_data_dir
from sitool.noise.sources import (NoiseFile, prepare_noise_dirs, read_noise_dir,
                                  split_noise_files)
from sitool.testing import corpus_formats


def _noise(path, rate, seconds=3.0, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    data = 0.1 * rng.standard_normal((int(seconds * rate), channels)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data if channels > 1 else data[:, 0], rate)
    return str(path)


def _noise_files(root):
    """Three 22.05 kHz files (whole-file split), one 16 kHz stereo file and one 16 kHz mono
    file (each cut in time)."""
    files = [NoiseFile(f"fan{i}", _noise(root / f"fan{i}.wav", 22050, seed=i), "fan",
                       "non-babble") for i in range(3)]
    files.append(NoiseFile("car", _noise(root / "car.wav", 16000, channels=2, seed=5), "car",
                           "non-babble"))
    files.append(NoiseFile("hum", _noise(root / "hum.wav", 16000, seed=6), "hum", "non-babble"))
    return files


def test_prepare_noise_points_at_16k_mono_copies(tmp_path, toy_data):
    files = _noise_files(tmp_path / "raw")
    originals = {f.recording: f.path for f in files}
    dirs = prepare_noise_dirs(lambda: files, tmp_path / "data", seed=0)
    copies = tmp_path / "data" / "noise_audio" / "noise"
    old_split = split_noise_files(files, seed=0, progress=False)   # the old dirs' entries
    for split, path in dirs.items():
        entries = read_noise_dir(path)
        old = {s.noise_id: s for s in old_split[split]}
        assert {s.noise_id: (s.start, s.end) for s in entries} == {
            i: (round(s.start, 3), round(s.end, 3)) for i, s in old.items()}
        for s in entries:
            info = sf.info(s.path)
            if s.recording == "hum":                      # already 16 kHz mono: kept
                assert s.path == originals["hum"]
            else:
                assert s.path == str((copies / f"{s.recording}.wav").resolve())
                assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "FLOAT")
            # the copy holds exactly what loading the original gave
            mixture.AUDIO_CACHE.clear()
            np.testing.assert_array_equal(
                mixture.load_noise_range(s.noise_path),
                mixture.load_noise_range(old[s.noise_id].noise_path))
    # mixing from the new dirs never resamples
    mixture.AUDIO_CACHE.clear()
    RESAMPLE_LOG.reset()
    noisy = mix_data_dir(toy_data, dirs["train"], tmp_path / "data" / "toy_noisy", seed=1,
                         snrs=[0.0], progress=False)
    data = DataDir(noisy)
    for utt in data.utts:
        data.audio(utt)
    assert not RESAMPLE_LOG.counts
    # reused as they are; --overwrite rewrites the copies
    stamp = (copies / "fan0.wav").stat().st_mtime_ns
    prepare_noise_dirs(lambda: files, tmp_path / "data", seed=0)
    assert (copies / "fan0.wav").stat().st_mtime_ns == stamp
    prepare_noise_dirs(lambda: files, tmp_path / "data", seed=0, overwrite=True)
    assert (copies / "fan0.wav").stat().st_mtime_ns != stamp


def test_prepare_writes_16k_copies_of_48k_audio(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "raw", utts_per_speaker=2)
    for wav in sorted((root / "wav").glob("*.wav")):    # the corpus as recorded: 48 kHz
        audio, rate = sf.read(wav, dtype="float32")
        sf.write(wav, resample(audio, rate, 48000), 48000, subtype="PCM_24")
    options = PrepareOptions(targets="columns", source_features=False)
    prepare_corpus(generic.make_reader(root), root, tmp_path / "data", options=options)
    media = (tmp_path / "data" / "generic_media" / "wav").resolve()
    RESAMPLE_LOG.reset()
    n = 0
    for name in ("train", "dev", "test"):
        data = DataDir(tmp_path / "data" / name)
        for utt in data.utts:
            path = data.wav_scp[utt]
            assert path == str(media / f"{utt}.wav")
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "FLOAT")
            original = root / "wav" / f"{utt}.wav"
            expected = load_audio(original, 16000)
            np.testing.assert_array_equal(data.audio(utt), expected)
            assert abs(data.utt2dur[utt] - expected.size / 16000) < 1e-6
            n += 1
    assert n == 8 and RESAMPLE_LOG.counts == {(48000, 16000): n}   # the originals above only
    RESAMPLE_LOG.reset()
