"""validate-data catches each contract violation with one line naming the file."""

import subprocess
import sys

import numpy as np
import pytest

from sitool.validate import validate_data_dir


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sitool", *args], capture_output=True,
                          text=True, timeout=120)


def scp(data, name="wav.scp"):
    return dict(line.split(maxsplit=1) for line in (data / name).read_text().splitlines())


def test_valid_toy_dir_passes(toy_data):
    assert validate_data_dir(toy_data) == []
    result = run_cli("validate-data", str(toy_data))
    assert result.returncode == 0
    assert "OK" in result.stderr


def test_missing_wav(toy_data):
    wav = scp(toy_data)["toyspk1_001"]
    (toy_data.parent / "toy_media" / "toyspk1_001.wav").unlink()
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1
    assert "toyspk1_001" in problems[0] and wav in problems[0] and "not found" in problems[0]
    result = run_cli("validate-data", str(toy_data))
    assert result.returncode == 1 and "not found" in result.stdout


def test_unreadable_wav(toy_data):
    wav = scp(toy_data)["toyspk0_000"]
    with open(wav, "wb") as f:
        f.write(b"RIFF\x00\x00garbage that is not audio")
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "unreadable audio" in problems[0] and wav in problems[0]


def test_nan_in_targets(toy_data):
    npy = scp(toy_data, "tv.scp")["toyspk0_002"]
    array = np.load(npy)
    array[5, 1] = np.nan
    np.save(npy, array)
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1
    assert "non-finite" in problems[0] and "LP" in problems[0] and "frame 5" in problems[0]


def test_wrong_number_of_target_columns(toy_data):
    npy = scp(toy_data, "tv.scp")["toyspk1_003"]
    np.save(npy, np.zeros((120, 2), np.float32))
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "2 target columns" in problems[0] and "LA, LP, TTCD" in problems[0]


def test_length_mismatch_between_audio_and_targets(toy_data):
    npy = scp(toy_data, "tv.scp")["toyspk0_000"]
    array = np.load(npy)
    np.save(npy, array[:-20])  # 200 ms short
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "frames at 100 Hz" in problems[0] and "tolerance" in problems[0]


def test_small_length_difference_is_tolerated(toy_data):
    npy = scp(toy_data, "tv.scp")["toyspk0_000"]
    np.save(npy, np.load(npy)[:-3])  # 30 ms: within the 50 ms tolerance
    assert validate_data_dir(toy_data) == []


def test_unsorted_keys(toy_data):
    path = toy_data / "utt2dur"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[1], lines[0]] + lines[2:]) + "\n")
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "not sorted" in problems[0] and "utt2dur" in problems[0]


def test_key_mismatch_between_tables(toy_data):
    path = toy_data / "tv.scp"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "missing" in problems[0] and "toyspk1_003" in problems[0]


def test_stereo_audio_is_reported(toy_data):
    import soundfile as sf

    wav = scp(toy_data)["toyspk1_001"]
    audio, rate = sf.read(wav)
    sf.write(wav, np.stack([audio, audio], axis=1), rate)
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1 and "2 channels" in problems[0]


def test_missing_data_dir(tmp_path):
    assert validate_data_dir(tmp_path / "nope") == [f"{tmp_path / 'nope'}: data directory not found"]


@pytest.mark.parametrize("filename", ["utt2spk", "utt2dur"])
def test_missing_required_file(toy_data, filename):
    (toy_data / filename).unlink()
    problems = validate_data_dir(toy_data)
    assert problems == [f"{toy_data / filename}: missing (required by the data-dir contract)"]
