"""combine-data, subset-data and fix-data (sitool.datadir_tools) on data dirs and noise dirs."""

import logging

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.datadir import DataDir
from sitool.datadir_tools import (NOISE, Selection, combine_dirs, dir_kind, fix_dir,
                                  subset_dir)
from sitool.errors import SitoolError
from sitool.mixture import COLUMNS
from sitool.noise.noisy_sets import mix_data_dir
from sitool.noise.sources import NoiseSegment, read_noise_dir, write_noise_dir
from sitool.testing.data_dirs import make_toy_data_dir, make_tv_data_dir
from sitool.validate import validate_data_dir


def wav(path, seconds=2.0, rate=16000, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))
    sf.write(str(path), data.astype(np.float32), rate)
    return str(path.resolve())


def noise_dir(path, recordings, category="non-babble", talkers=()):
    """A noise dir with two time ranges of each ``recording -> audio path``."""
    segments = [NoiseSegment(f"{rec}-{part}", rec, audio, start, start + 0.8, rec.split("-")[0],
                             category, talkers)
                for rec, audio in recordings.items()
                for part, start in (("a", 0.0), ("b", 1.0))]
    return write_noise_dir(path, segments)


@pytest.fixture
def noise_dirs(tmp_path):
    media = tmp_path / "media"
    a = noise_dir(tmp_path / "noise_a", {"fan-1": wav(media / "fan1.wav"),
                                         "hum-1": wav(media / "hum1.wav", seed=1)})
    b = noise_dir(tmp_path / "noise_b", {"babble3-x": wav(media / "b.wav", seed=2)}, "babble",
                  ("s1", "s2", "s3"))
    return a, b


def test_combine_noise_dirs(noise_dirs, tmp_path):
    a, b = noise_dirs
    assert dir_kind(a) == NOISE
    out = combine_dirs(tmp_path / "noise_train", [a, b])
    segments = read_noise_dir(out)
    assert [s.noise_id for s in segments] == [
        "babble3-x-a", "babble3-x-b", "fan-1-a", "fan-1-b", "hum-1-a", "hum-1-b"]
    assert {s.noise_type: s.category for s in segments} == {
        "babble3": "babble", "fan": "non-babble", "hum": "non-babble"}
    assert (out / "noise2talkers").read_text() == ("babble3-x-a s1,s2,s3\n"
                                                   "babble3-x-b s1,s2,s3\n")
    assert (out / "wav.scp").read_text().count("\n") == 3
    # the same entries twice (same recording, same path) are kept once
    again = combine_dirs(tmp_path / "again", [a, out])
    assert read_noise_dir(again) == segments


def test_combine_noise_clash_names_id_and_both_inputs(noise_dirs, tmp_path):
    a, _ = noise_dirs
    other = noise_dir(tmp_path / "noise_c", {"fan-1": wav(tmp_path / "media2" / "fan1.wav")})
    with pytest.raises(SitoolError, match=r"recording 'fan-1' is .*media/fan1.wav in .*noise_a "
                                          r"but .*media2/fan1.wav in .*noise_c"):
        combine_dirs(tmp_path / "out", [a, other])
    assert not (tmp_path / "out").exists()
    # same recording and path, but one noise id with another time range
    (tmp_path / "noise_d").mkdir()
    for name in ("wav.scp", "noise2type", "noise2category"):
        (tmp_path / "noise_d" / name).write_text((a / name).read_text())
    (tmp_path / "noise_d" / "segments").write_text(
        (a / "segments").read_text().replace("fan-1-a fan-1 0.000 0.800",
                                             "fan-1-a fan-1 0.000 0.700"))
    with pytest.raises(SitoolError, match=r"noise id 'fan-1-a' is in both .*noise_a and .*noise_d"):
        combine_dirs(tmp_path / "out", [a, tmp_path / "noise_d"])


def test_combine_data_dirs_and_refusals(tmp_path):
    a = make_toy_data_dir(tmp_path / "a", num_utts=3, prefix="a", seed=0)
    b = make_toy_data_dir(tmp_path / "b", num_utts=2, prefix="b", seed=1)
    out = combine_dirs(tmp_path / "ab", [a, b])
    assert validate_data_dir(out, progress=False) == []
    data = DataDir(out)
    assert data.utts == sorted(DataDir(a).utts + DataDir(b).utts)
    assert set(data.spk2utt) == {"aspk0", "aspk1", "bspk0", "bspk1"}
    assert data.targets.names == ["LA", "LP", "TTCD"]
    # other targets
    tv = make_tv_data_dir(tmp_path / "tv", num_utts=2)
    with pytest.raises(SitoolError, match=r"tv/targets: names .* differ from .*a/targets"):
        combine_dirs(tmp_path / "x", [a, tv])
    # the same utterance id, other audio
    a2 = make_toy_data_dir(tmp_path / "a2", num_utts=2, prefix="a", seed=5)
    with pytest.raises(SitoolError, match=r"utterance 'aspk0_000' is in both .*/a and .*/a2"):
        combine_dirs(tmp_path / "x", [a, a2])
    # a noise dir with a data dir
    noise = noise_dir(tmp_path / "noise", {"fan-1": wav(tmp_path / "m" / "f.wav")})
    with pytest.raises(SitoolError, match="is a noise dir but .* is a data dir"):
        combine_dirs(tmp_path / "x", [a, noise])
    # a noisy set with a clean one
    (tmp_path / "noisy").mkdir()
    for name in ("utt2spk", "utt2dur"):
        (tmp_path / "noisy" / name).write_text("")
    (tmp_path / "noisy" / "mix.tsv").write_text("\t".join(COLUMNS) + "\n")
    with pytest.raises(SitoolError, match="is a noisy set .* but .*/a is clean"):
        combine_dirs(tmp_path / "x", [a, tmp_path / "noisy"])
    assert not (tmp_path / "x").exists()


def test_combine_cli_error_is_one_line(noise_dirs, tmp_path):
    a, _ = noise_dirs
    other = noise_dir(tmp_path / "noise_c", {"fan-1": wav(tmp_path / "media2" / "fan1.wav")})
    result = CliRunner().invoke(main, ["combine-data", str(tmp_path / "o"), str(a), str(other)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: combine: noise recording 'fan-1'")
    result = CliRunner().invoke(main, ["combine-data", str(tmp_path / "o"), str(a)])
    assert result.exit_code == 0, result.output
    assert len(read_noise_dir(tmp_path / "o")) == 4


def test_subset_data(tmp_path):
    src = make_toy_data_dir(tmp_path / "src", num_utts=6, num_speakers=3, prefix="t")
    (tmp_path / "spk.list").write_text("tspk1\ntspk2\nnobody\n")
    out = subset_dir(src, tmp_path / "by_spk", Selection(spk_list=str(tmp_path / "spk.list")))
    assert validate_data_dir(out, progress=False) == []
    assert DataDir(out).utts == ["tspk1_001", "tspk1_004", "tspk2_002", "tspk2_005"]
    assert (out / "spk2utt").read_text() == "tspk1 tspk1_001 tspk1_004\ntspk2 tspk2_002 tspk2_005\n"
    (tmp_path / "utt.list").write_text("tspk0_003 whatever\ntspk2_005\n")
    out = subset_dir(src, tmp_path / "by_utt", Selection(utt_list=str(tmp_path / "utt.list")))
    assert DataDir(out).utts == ["tspk0_003", "tspk2_005"]
    assert DataDir(subset_dir(src, tmp_path / "first", Selection(first=2))).utts == [
        "tspk0_000", "tspk0_003"]
    drawn = [DataDir(subset_dir(src, tmp_path / f"r{i}", Selection(random=3, seed=seed))).utts
             for i, seed in enumerate((1, 1, 2))]
    assert drawn[0] == drawn[1] != drawn[2] and len(drawn[2]) == 3
    with pytest.raises(SitoolError, match="exactly one of"):
        Selection(first=2, random=2)
    (tmp_path / "none.list").write_text("x\n")
    with pytest.raises(SitoolError, match="none of its 1 id"):
        subset_dir(src, tmp_path / "none", Selection(utt_list=str(tmp_path / "none.list")))


def test_subset_noise_dir(noise_dirs, tmp_path):
    a, _ = noise_dirs
    out = subset_dir(a, tmp_path / "sub", Selection(first=3))
    assert [s.noise_id for s in read_noise_dir(out)] == ["fan-1-a", "fan-1-b", "hum-1-a"]
    with pytest.raises(SitoolError, match="is a noise dir .no speakers"):
        subset_dir(a, tmp_path / "sub2", Selection(spk_list=str(a / "noise2type")))


def test_fix_data_dir(tmp_path, caplog):
    src = make_toy_data_dir(tmp_path / "d", num_utts=5, num_speakers=2, prefix="f")
    utt2dur = (src / "utt2dur").read_text().splitlines()
    (src / "utt2dur").write_text("".join(f"{line}\n" for line in utt2dur
                                         if not line.startswith("fspk0_002 ")))
    lines = (src / "utt2spk").read_text().splitlines()
    (src / "utt2spk").write_text("\n".join(reversed(lines)) + "\n")              # unsorted
    (src / "notes.txt").write_text("kept\n")
    problems = validate_data_dir(src, check_audio=False, progress=False)
    assert any("utt2dur: 1 utterance(s) of utt2spk missing" in p for p in problems)
    assert any("keys not sorted" in p for p in problems)
    with caplog.at_level(logging.WARNING):
        report = fix_dir(src)
    assert report.kept == 4 and sum(report.dropped.values()) == 1
    assert report.dropped == {"not in utt2dur": 1}
    assert "dropped 1 (1 not in utt2dur)" in caplog.text
    assert validate_data_dir(src, progress=False) == []
    assert "fspk0_002" not in (src / "wav.scp").read_text()
    assert "fspk0_002" not in (src / "spk2utt").read_text()
    assert (src / "notes.txt").read_text() == "kept\n"
    # combine and subset refuse what fix-data would change
    broken = make_toy_data_dir(tmp_path / "broken", num_utts=2, prefix="g")
    (broken / "wav.scp").write_text((broken / "wav.scp").read_text().splitlines()[0] + "\n")
    with pytest.raises(SitoolError, match=r"broken/wav.scp: its utterances differ from utt2spk's; "
                                          r"run sitool fix-data .*broken first"):
        combine_dirs(tmp_path / "x", [src, broken])
    # a fixed dir is left as it is
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    assert sum(fix_dir(src).dropped.values()) == 0
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_fix_noise_dir_and_cli(noise_dirs, tmp_path):
    a, _ = noise_dirs
    (a / "noise2category").write_text(    # unsorted, and hum-1-b missing
        "fan-1-b non-babble\nfan-1-a non-babble\nhum-1-a non-babble\n")
    with pytest.raises(SitoolError, match="no entry for noise 'hum-1-b'"):
        read_noise_dir(a)
    result = CliRunner().invoke(main, ["fix-data", str(a)])
    assert result.exit_code == 0, result.output
    assert "noise dir: kept 3, dropped 1 (1 not in noise2category)" in result.output
    assert [s.noise_id for s in read_noise_dir(a)] == ["fan-1-a", "fan-1-b", "hum-1-a"]
    assert (a / "noise2category").read_text().startswith("fan-1-a non-babble\n")


def test_combine_noisy_sets(noise_dirs, tmp_path):
    a, _ = noise_dirs
    sets = []
    for prefix in ("p", "q"):
        clean = make_toy_data_dir(tmp_path / prefix, num_utts=2, prefix=prefix, seed=len(sets))
        sets.append(mix_data_dir(clean, a, tmp_path / f"{prefix}_multi", seed=1, per_utt=2,
                                 progress=False))
    out = combine_dirs(tmp_path / "pq_multi", sets)
    assert validate_data_dir(out, progress=False) == []
    rows = DataDir(out).mix
    assert len(rows) == 8
    for noisy in sets:    # the rows are carried exactly: the same mixtures
        for utt, row in DataDir(noisy).mix.items():
            assert rows[utt] == row


def test_an_existing_out_is_replaced_only_with_overwrite(tmp_path):
    """combine-data / subset-data onto an existing dir silently replaced it, notes and all, and
    combine-data could rewrite one of its own inputs (battery of issue 36)."""
    a = make_toy_data_dir(tmp_path / "a", num_utts=4, num_speakers=2, prefix="a")
    b = make_toy_data_dir(tmp_path / "b", num_utts=2, num_speakers=1, prefix="b", seed=1)
    precious = make_toy_data_dir(tmp_path / "precious", num_utts=2, num_speakers=1, prefix="p")
    (precious / "NOTES.txt").write_text("mine\n")
    for call in (lambda: combine_dirs(precious, [a, b]),
                 lambda: subset_dir(a, precious, Selection(first=1))):
        with pytest.raises(SitoolError, match="exists; pass --overwrite to replace it"):
            call()
        assert (precious / "NOTES.txt").read_text() == "mine\n"
    with pytest.raises(SitoolError, match="is one of the inputs"):
        combine_dirs(a, [a, b], overwrite=True)
    assert DataDir(combine_dirs(precious, [a, b], overwrite=True)).utts == sorted(
        DataDir(a).utts + DataDir(b).utts)
    assert not (precious / "NOTES.txt").exists()
