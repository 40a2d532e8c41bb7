"""validate-data catches each contract violation with one line naming the file."""

import re
import subprocess
import sys

import numpy as np
import pytest

from sitool.datadir import DataDir
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


def test_speaker_offsets_that_dominate_the_variance_are_warned(tmp_path, toy_data):
    """Speakers whose coordinates have different origins (UL_x means 132 / 64 / 34 mm with a
    few mm of movement): valid data, one warning line naming the columns and the fix."""
    from sitool.testing.data_dirs import make_offset_speaker_data_dir

    data = make_offset_speaker_data_dir(
        tmp_path / "data" / "ema", {"s1": [132, 10, 0], "s2": [64, -20, 0], "s3": [34, 5, 0]})
    warnings = []
    assert validate_data_dir(data, warnings=warnings) == []
    assert len(warnings) == 1
    line = warnings[0]
    assert line.startswith(f"{data / 'tv.scp'}: speaker means explain more than 0.5")
    assert "2 target(s) over 3 speakers" in line and "data.normalise: speaker" in line
    shares = dict(re.findall(r"(\w+) (\d\.\d\d)", line))
    assert set(shares) == {"UL_x", "UL_y"}                  # TT_y has no offsets
    assert float(shares["UL_x"]) > 0.99 and float(shares["UL_y"]) > 0.9
    result = run_cli("validate-data", "--no-audio", str(data))
    assert result.returncode == 0                          # a warning, not a problem
    assert "warning: " + line in result.stderr and "OK, 1 warning(s)" in result.stderr
    # one speaker, or speakers without offsets: no warning
    single = make_offset_speaker_data_dir(tmp_path / "data" / "one", {"s1": [132, 10, 0]})
    for quiet in (single, toy_data):
        warnings = []
        assert validate_data_dir(quiet, warnings=warnings) == [] and warnings == []


def test_speaker_offsets_across_sets_of_one_speaker_each_are_warned(tmp_path):
    """Three speakers split one per set (the usual split of a 3-speaker corpus): no set alone
    has two speakers, so the warning comes over the sets given together (issue 34)."""
    from sitool.testing.data_dirs import make_offset_speaker_data_dir

    sets = [make_offset_speaker_data_dir(tmp_path / name, {spk: offset}, seed=i)
            for i, (name, spk, offset) in enumerate((("train", "s1", [132, 10, 0]),
                                                      ("dev", "s2", [64, -20, 0]),
                                                      ("test", "s3", [34, 5, 0])))]
    result = run_cli("validate-data", "--no-audio", *map(str, sets))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"warning: {sets[0]}, {sets[1]}, {sets[2]}: speaker means explain")
    assert "over 3 speakers (UL_x 1.00, UL_y" in lines[0]
    alone = run_cli("validate-data", "--no-audio", str(sets[0]))
    assert "warning" not in alone.stderr


def test_headline_naming_no_target_is_an_error_naming_the_file(toy_data):
    text = (toy_data / "targets").read_text()
    (toy_data / "targets").write_text(text + "headline: [LA, UL_y]\n")
    problems = validate_data_dir(toy_data)
    assert len(problems) == 1
    assert problems[0].startswith(f"{toy_data / 'targets'}: targets: headline has names ['UL_y']")
    assert "LA, LP, TTCD" in problems[0]
    (toy_data / "targets").write_text(text + "headline: [LP]\n")
    assert validate_data_dir(toy_data) == []
    assert DataDir(toy_data).targets.headline == ["LP"]
