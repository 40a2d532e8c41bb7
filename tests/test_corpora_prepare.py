"""``sitool prepare <real corpus>``: data dirs, targets, splits, skips, idempotency, CLI."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sitool.articulation.geometry import TV_NAMES, tract_variables
from sitool.articulation.palate import Palate
from sitool.cli import main
from sitool.corpora import generic, hprc, mngu0, mocha, usctimit, xrmb
from sitool.corpora.build import PrepareOptions, prepare_corpus
from sitool.corpora.splits import SplitRule, assign_sets, evenly_spaced_speakers
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.testing import corpus_formats
from sitool.validate import validate_data_dir

SOURCE = ["F0", "periodicity", "aperiodicity"]


def assert_valid(out, sets):
    for name in sets:
        assert validate_data_dir(out / name, progress=False) == [], name


def test_hprc_tract_variables_match_the_true_geometry(tmp_path):
    root = corpus_formats.make_hprc_corpus(tmp_path / "raw", speakers=("F01", "F02", "M01"),
                                           utts_per_speaker=1)
    report = prepare_corpus(hprc.READER, root, tmp_path / "data")
    assert report.sets == {"train": 1, "dev": 1, "test": 1} and report.num_skipped == 0
    assert report.palates["F01"] == "corpus palate trace"
    assert report.palates["M01"].startswith("estimated")
    assert_valid(tmp_path / "data", report.sets)
    data = DataDir(tmp_path / "data" / "dev")          # rule: F02 is the 3 speakers' dev
    (utt,) = data.utts
    assert data.targets.names == list(TV_NAMES) + SOURCE
    assert data.targets.units[:6] == ["mm", "mm", "deg", "mm", "deg", "mm"]
    assert data.targets.frame_rate == 100.0
    assert data.text[utt] == "the birch canoe slid"
    assert [s.phone for s in data.phones[utt]] == ["sil", "DH", "AH0"]
    assert DataDir(tmp_path / "data" / "test").utts == ["F01_B01_S01_R01_N"]
    # F01 has the corpus palate: its TVs equal the geometry of the true tracks
    f01 = DataDir(tmp_path / "data" / "test")
    targets = f01.target_array(f01.utts[0])
    truth = corpus_formats.fake_articulation(np.arange(len(targets)) / 100.0, seed=1)
    expected = tract_variables(truth, Palate(corpus_formats.PALATE, "truth"))
    np.testing.assert_allclose(targets[:, 0], expected[:, 0], atol=1e-3)            # LA
    np.testing.assert_allclose(targets[:, [2, 4]], expected[:, [2, 4]], atol=1e-2)   # CL
    np.testing.assert_allclose(targets[:, [3, 5]], expected[:, [3, 5]], atol=1e-3)   # CD
    assert np.min(np.abs(targets[:, 3])) < 0.3          # the tongue tip reaches the palate
    assert np.all(targets[:, 6] > 50)                   # F0 in Hz, interpolated when unvoiced


def test_usctimit_is_oriented_gaps_filled_and_lips_exact(tmp_path):
    root = corpus_formats.make_usctimit_corpus(tmp_path / "raw", speakers=("F1", "F5", "M1"),
                                               utts_per_speaker=1)
    report = prepare_corpus(usctimit.READER, root, tmp_path / "data")
    assert report.sets == {"train": 1, "dev": 1, "test": 1} and report.num_skipped == 0
    assert_valid(tmp_path / "data", report.sets)
    data = DataDir(tmp_path / "data" / "train")
    (utt,) = data.utts
    assert [s.phone for s in data.phones[utt]] == ["sil", "dh", "ah"]
    targets = data.target_array(utt)
    assert np.isfinite(targets).all()                     # the 30 ms TT dropout is interpolated
    seed = {"F1": 1, "F5": 11, "M1": 21}[data.utt2spk[utt]]
    truth = corpus_formats.fake_articulation(np.arange(len(targets)) / 100.0, seed=seed)
    expected = tract_variables(truth, Palate(corpus_formats.PALATE, "truth"))
    # the file's x axis points backwards: once oriented, LA and LP equal the true lips
    np.testing.assert_allclose(targets[:, :2], expected[:, :2], atol=1e-3)


def test_mocha_500hz_is_resampled_and_oriented(tmp_path):
    root = corpus_formats.make_mocha_corpus(tmp_path / "raw", utts_per_speaker=10)
    options = PrepareOptions(targets="ema", source_features=False)
    report = prepare_corpus(mocha.READER, root, tmp_path / "data", options=options)
    # two speakers: utterance split within each (2 test, 2 dev, 16 train)
    assert report.sets == {"train": 16, "dev": 2, "test": 2}
    assert_valid(tmp_path / "data", report.sets)
    data = DataDir(tmp_path / "data" / "train")
    assert data.targets.names[:2] == ["UL_x", "UL_y"] and len(data.targets.names) == 12
    utt = "fsew0_002"
    targets = data.target_array(utt)
    assert targets.shape == (120, 12)                   # 1.2 s at 100 Hz
    truth = corpus_formats.fake_articulation(np.arange(120) / 100.0, seed=2)
    # files have x mirrored, in 1/100 mm: the targets are forwards-positive mm again
    np.testing.assert_allclose(targets[5:-5, 0], truth["UL"][5:-5, 0], atol=0.05)
    # (the dorsum track has kinks where it meets the palate; the 40 Hz low-pass rounds them)
    np.testing.assert_allclose(targets[5:-5, 11], truth["TD"][5:-5, 1], atol=0.15)


def test_single_speaker_mngu0_gets_an_utterance_split_and_labels(tmp_path):
    root = corpus_formats.make_mngu0_corpus(tmp_path / "raw", utts=10)
    report = prepare_corpus(mngu0.READER, root, tmp_path / "data")
    assert report.sets == {"train": 8, "dev": 1, "test": 1}
    assert_valid(tmp_path / "data", report.sets)
    test = DataDir(tmp_path / "data" / "test")
    assert test.utts == ["mngu0_s1_0001"] and test.text["mngu0_s1_0001"] == "s i"


def test_xrmb_gaps_short_interpolated_long_and_all_missing_skipped(tmp_path):
    short = {"T1": slice(10, 14)}                          # 4 frames = 27 ms
    root = corpus_formats.make_xrmb_corpus(tmp_path / "raw", utts_per_speaker=2, missing=short)
    jw12 = root / "jw12" / "jw12_tp002.txy"               # long gap in the dorsum pellet
    times = np.arange(145) / 145.6
    jw12.write_text(corpus_formats.xrmb_rows(times, corpus_formats.fake_articulation(times),
                                             {"T3": slice(20, 60)}))
    jw13 = root / "jw13" / "jw13_tp001.txy"               # upper lip never tracked
    jw13.write_text(corpus_formats.xrmb_rows(times, corpus_formats.fake_articulation(times),
                                             {"UL": slice(None)}))
    report = prepare_corpus(xrmb.READER, root, tmp_path / "data")
    assert {r: sorted(u) for r, u in report.skipped.items()} == {
        "long gap": ["jw12_tp002", "jw13_tp001"]}
    assert sum(report.sets.values()) == 4
    assert_valid(tmp_path / "data", report.sets)
    assert "long gap" in (tmp_path / "data" / "xrmb_media" / "prepare_report.yaml").read_text()
    # a tighter threshold (10 ms) drops the utterances with the 27 ms gaps too: nothing left
    tight = PrepareOptions(max_gap_s=0.01, overwrite=True)
    with pytest.raises(SitoolError, match=r"no usable utterance out of 6 \(long gap: 6\)"):
        prepare_corpus(xrmb.READER, root, tmp_path / "tight", options=tight)
    assert not (tmp_path / "tight" / "train").exists()


def test_length_mismatch_and_unreadable_files_are_counted_skips(tmp_path):
    root = corpus_formats.make_xrmb_corpus(tmp_path / "raw", utts_per_speaker=2)
    write_audio, fake_audio = corpus_formats.write_audio, corpus_formats.fake_audio
    write_audio(root / "jw11" / "jw11_tp001.wav", fake_audio(0.3))   # 0.7 s short
    write_audio(root / "jw11" / "jw11_tp002.wav", fake_audio(0.97))  # 3 ms short
    (root / "jw12" / "jw12_tp001.txy").write_text("garbage\n")
    report = prepare_corpus(xrmb.READER, root, tmp_path / "data")
    assert report.skipped == {"length mismatch": ["jw11_tp001"], "unreadable": ["jw12_tp001"]}
    assert sum(report.sets.values()) == 4
    assert_valid(tmp_path / "data", report.sets)
    with pytest.raises(SitoolError, match=r"jw12_tp001\.txy:1"):
        prepare_corpus(xrmb.READER, root, tmp_path / "strict",
                       options=PrepareOptions(strict=True))
    assert not (tmp_path / "strict" / "train").exists()


def test_phone_alignments_are_trimmed_with_the_audio_and_validated(tmp_path):
    # issue 13 item 17: audio trimmed to the articulatory data, phones.ctm kept running past it
    root = corpus_formats.make_mocha_corpus(tmp_path / "raw", speakers=("fsew0",),
                                            utts_per_speaker=1)
    folder = root / "fsew0_v1.1"
    audio = corpus_formats.fake_audio(1.5)                               # EMA: 1.2 s
    corpus_formats.write_audio(folder / "fsew0_001.wav", audio)
    (folder / "fsew0_001.lab").write_text("0.000 0.200 sil\n0.200 0.900 dh\n0.900 1.300 ax\n"
                                          "1.300 1.500 breath\n")
    split = SplitRule(split_file=tmp_path / "split")
    (tmp_path / "split").write_text("fsew0_001 train\n")
    prepare_corpus(mocha.READER, root, tmp_path / "data", split,
                   PrepareOptions(targets="ema", source_features=False))
    data = DataDir(tmp_path / "data" / "train")
    assert data.utt2dur["fsew0_001"] == pytest.approx(1.2, abs=0.01)      # audio trimmed
    phones = data.phones["fsew0_001"]
    assert [s.phone for s in phones] == ["sil", "dh", "ax"]                 # 'breath' after the end
    assert phones[-1].end == pytest.approx(data.utt2dur["fsew0_001"], abs=1e-3)
    assert validate_data_dir(data.path, progress=False) == []
    # validation flags alignments that run past the audio
    (data.path / "phones.ctm").write_text("fsew0_001 1 0.0000 0.9000 sil\n"
                                          "fsew0_001 1 0.9000 0.6000 ax\n")
    (problem,) = validate_data_dir(data.path, progress=False)
    assert "phones.ctm: fsew0_001: alignment ends at 1.500 s" in problem
    assert "audio lasts 1.200 s" in problem


def test_nothing_is_written_when_no_utterance_is_usable(tmp_path):
    from scipy.io import savemat

    folder = tmp_path / "raw" / "F01" / "data"
    folder.mkdir(parents=True)
    times = np.arange(50) / 100.0
    struct = corpus_formats.hprc_struct(corpus_formats.fake_articulation(times), np.zeros(10),
                                        44100, "x", elements=corpus_formats.HPRC_ELEMENTS[1:])
    savemat(folder / "F01_B01_S01_R01_N.mat", {"F01_B01_S01_R01_N": struct})
    with pytest.raises(SitoolError, match="no usable utterance.*no AUDIO element"):
        prepare_corpus(hprc.READER, tmp_path / "raw", tmp_path / "data")
    assert not any((tmp_path / "data" / s).exists() for s in ("train", "dev", "test"))


def test_finished_output_is_reused_and_overwrite_redoes_it(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "raw", utts_per_speaker=1)
    reader = generic.make_reader(root)
    options = PrepareOptions(targets="columns", source_features=False)
    first = prepare_corpus(reader, root, tmp_path / "data", options=options)
    stamp = (tmp_path / "data" / "train" / "utt2spk").stat().st_mtime_ns
    again = prepare_corpus(reader, root, tmp_path / "data", options=options)
    assert again.reused and not first.reused
    assert (tmp_path / "data" / "train" / "utt2spk").stat().st_mtime_ns == stamp
    options.overwrite = True
    redo = prepare_corpus(reader, root, tmp_path / "data", options=options)
    assert not redo.reused and redo.sets == first.sets


def test_generic_tv_targets_from_named_sensor_columns(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "raw", utts_per_speaker=1,
                                              with_sensors=True)
    rows = "x_mm,y_mm\n" + "".join(f"{x},{y}\n" for x, y in corpus_formats.PALATE)
    (root / "palate.csv").write_text(rows)
    with open(root / "generic.yaml", "a") as f:
        f.write("palate: palate.csv\n")
    report = prepare_corpus(generic.make_reader(root), root, tmp_path / "data",
                            options=PrepareOptions(targets="tv", source_features=False))
    assert set(report.palates.values()) == {"corpus palate trace"}
    data = DataDir(tmp_path / "data" / "train")
    utt = data.utts[0]
    targets = data.target_array(utt)
    seed = {"s1": 1, "s2": 11, "s3": 21, "s4": 31}[data.utt2spk[utt]]
    truth = corpus_formats.fake_articulation(np.arange(len(targets)) / 100.0, seed=seed)
    expected = tract_variables(truth, Palate(corpus_formats.PALATE, "truth"))
    # 200 Hz -> 100 Hz: the 40 Hz anti-alias low-pass rounds the contact kinks slightly
    np.testing.assert_allclose(targets[3:-3], expected[3:-3], atol=0.2)


def test_babble_speakers_are_held_out_in_their_own_set(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "raw",
                                              speakers=("s1", "s2", "s3", "s4", "s5"),
                                              utts_per_speaker=1, seconds=0.6)
    split = SplitRule(babble_speakers=["s5"], test_speakers=["s1"], dev_speakers=["s2"])
    report = prepare_corpus(generic.make_reader(root), root, tmp_path / "data", split,
                            PrepareOptions(targets="columns", source_features=False))
    assert report.sets == {"train": 2, "dev": 1, "test": 1, "babble_talkers": 1}
    assert_valid(tmp_path / "data", report.sets)
    assert DataDir(tmp_path / "data" / "babble_talkers").utts == ["s5_u01"]


def test_split_rules():
    utt2spk = {f"{s}_{i}": s for s in ("a", "b", "c", "d", "e") for i in range(2)}
    sets = assign_sets(utt2spk, SplitRule())
    assert evenly_spaced_speakers(["a", "b", "c", "d", "e"]) == (["d"], ["b"])
    assert {u for u, s in sets.items() if s == "test"} == {"b_0", "b_1"}
    explicit = assign_sets(utt2spk, SplitRule(dev_speakers=["a"], test_speakers=["e"],
                                              babble_speakers=["c"]))
    assert explicit["a_0"] == "dev" and explicit["e_1"] == "test"
    assert explicit["c_0"] == "babble_talkers" and explicit["b_0"] == "train"
    defaults = assign_sets(utt2spk, SplitRule(default_test_speakers=["d"]))
    assert defaults["d_0"] == "test" and "dev" not in defaults.values()
    with pytest.raises(SitoolError, match="--test-speakers: unknown speaker"):
        assign_sets(utt2spk, SplitRule(test_speakers=["zz"]))
    with pytest.raises(SitoolError, match="disjoint"):
        assign_sets(utt2spk, SplitRule(dev_speakers=["a"], test_speakers=["a"]))


def test_split_file_overrides(tmp_path):
    table = tmp_path / "split"
    table.write_text("a_0 test\na_1 train\n")
    assert assign_sets({"a_0": "a", "a_1": "a", "a_2": "a"},
                       SplitRule(split_file=table)) == {"a_0": "test", "a_1": "train"}
    table.write_text("a_0 testing\n")
    with pytest.raises(SitoolError, match="unknown set name"):
        assign_sets({"a_0": "a"}, SplitRule(split_file=table))


def test_cli_prepare_xrmb_and_errors(tmp_path):
    root = corpus_formats.make_xrmb_corpus(tmp_path / "raw",
                                           speakers=("jw11", "jw12", "jw13", "jw14"),
                                           utts_per_speaker=1)
    runner = CliRunner()
    result = runner.invoke(main, ["prepare", "xrmb", "--root", str(root), "--out",
                                  str(tmp_path / "data"), "--test-speakers", "jw14",
                                  "--dev-speakers", "jw13", "--no-source-features"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "skipped 0" in result.output
    assert DataDir(tmp_path / "data" / "test").utts == ["jw14_tp001"]
    assert DataDir(tmp_path / "data" / "train").targets.names == list(TV_NAMES)
    again = runner.invoke(main, ["prepare", "xrmb", "--root", str(root), "--out",
                                 str(tmp_path / "data")])
    assert again.exit_code == 0 and "reused" in again.output
    bad = runner.invoke(main, ["prepare", "mocha", "--root", str(root), "--out",
                               str(tmp_path / "m")])
    assert bad.exit_code == 1 and "error: " in bad.output and "no .ema files" in bad.output


@pytest.mark.parametrize("layout", ["ag501", "ag500"])
def test_cli_prepare_carstens_both_layouts(tmp_path, layout):
    # issue 13 item 15: `sitool prepare carstens` for AG500/AG501 .pos files
    root = corpus_formats.make_carstens_corpus(tmp_path / "raw", layout=layout, utts_per_speaker=1,
                                               seconds=0.8)
    result = CliRunner().invoke(main, ["prepare", "carstens", "--root", str(root), "--out",
                                       str(tmp_path / "data"), "--targets", "ema",
                                       "--no-source-features", "--test-speakers", "S03",
                                       "--dev-speakers", "S02"])
    assert result.exit_code == 0, result.output
    assert "skipped 0" in result.output
    assert_valid(tmp_path / "data", ["train", "dev", "test"])
    data = DataDir(tmp_path / "data" / "train")
    assert data.utts == ["S01_0001"] and len(data.targets.names) == 12
    targets = data.target_array("S01_0001")
    assert targets.shape == (80, 12)                       # 0.8 s at 100 Hz
    truth = corpus_formats.fake_articulation(np.arange(80) / 100.0, seed=1)
    # the files' x points backwards: once oriented, x is forwards again (mm)
    np.testing.assert_allclose(targets[5:-5, 0], truth["UL"][5:-5, 0], atol=0.05)
    np.testing.assert_allclose(targets[5:-5, 11], truth["TD"][5:-5, 1], atol=0.2)
    tv = CliRunner().invoke(main, ["prepare", "carstens", "--root", str(root), "--out",
                                   str(tmp_path / "tv"), "--no-source-features",
                                   "--test-speakers", "S03", "--dev-speakers", "S02"])
    assert tv.exit_code == 0, tv.output
    la = DataDir(tmp_path / "tv" / "train").target_array("S01_0001")[:, 0]
    np.testing.assert_allclose(la[5:-5], (truth["UL"][:, 1] - truth["LL"][:, 1])[5:-5], atol=0.05)


def _docs_ag501_yaml() -> str:
    """The generic.yaml of docs/new_corpus.md's AG501 worked example, verbatim."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "new_corpus.md").read_text()
    block = docs.split("<!-- file: ~/data/ag501/generic.yaml -->\n", 1)[1]
    return block.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_cli_prepare_generic_ag501_mat_export_with_the_docs_yaml(tmp_path):
    # issue 34 item 7: a (T, 42) AG501 .mat export read by generic.yaml alone
    from scipy.io import loadmat

    from sitool.articulation.resample import resample_track

    text = _docs_ag501_yaml()
    assert text == corpus_formats.AG501_GENERIC_YAML           # docs and fixture agree
    root = corpus_formats.make_ag501_mat_corpus(tmp_path / "ag501", utts_per_speaker=2,
                                                seconds=1.0)
    (root / "generic.yaml").write_text(text)
    runner = CliRunner()
    result = runner.invoke(main, ["prepare", "generic", "--root", str(root), "--out",
                                  str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "skipped 0" in result.output
    sets = {"train": 2, "dev": 2, "test": 2}
    assert_valid(tmp_path / "data", sets)
    names = ["UL_x", "UL_z", "LL_x", "LL_z", "JAW_x", "JAW_z",
             "TT_x", "TT_z", "TM_x", "TM_z", "TD_x", "TD_z"]
    indices = [24, 26, 30, 32, 36, 38, 6, 8, 12, 14, 18, 20]
    speakers = set()
    for name in sets:
        data = DataDir(tmp_path / "data" / name)
        assert data.targets.names == names + SOURCE and data.targets.frame_rate == 100.0
        speakers |= {tuple(sorted(set(data.utt2spk.values())))}
        for utt in data.utts:
            targets = data.target_array(utt)
            assert len(targets) == 100                # 250 samples at 250 Hz: t = 0 .. 0.99 s
            matrix = loadmat(str(root / "mat" / f"{utt}.mat"))["data"]
            times = np.arange(len(matrix)) / 250.0
            expected = resample_track(matrix[:, indices], times, 100.0, len(targets))
            np.testing.assert_allclose(targets[:, :12], expected, atol=1e-4)
            # and against the fixture's truth (independent of the resampler), away from ends
            s = int(data.utt2spk[utt][1]) - 1
            truth = corpus_formats.fake_articulation(np.arange(len(targets)) / 100.0,
                                                     seed=10 * s + int(utt[-1]))
            origin = corpus_formats.ag501_origin(s)
            np.testing.assert_allclose(targets[5:-5, 0], origin[0] + truth["UL"][5:-5, 0],
                                       atol=0.05)
            np.testing.assert_allclose(targets[5:-5, 3], origin[2] + truth["LL"][5:-5, 1],
                                       atol=0.05)
    assert speakers == {("s1",), ("s2",), ("s3",)}               # one speaker per set
    # --targets tv: the (x, z) sensor pairs give tract variables; LA is the lip aperture
    tv = runner.invoke(main, ["prepare", "generic", "--root", str(root), "--out",
                              str(tmp_path / "tv"), "--targets", "tv", "--no-source-features"])
    assert tv.exit_code == 0, tv.output
    data = DataDir(tmp_path / "tv" / "test")
    assert data.targets.names == list(TV_NAMES)
    utt = data.utts[0]
    s = int(data.utt2spk[utt][1]) - 1
    la = data.target_array(utt)[:, 0]
    truth = corpus_formats.fake_articulation(np.arange(len(la)) / 100.0, seed=10 * s + 1)
    np.testing.assert_allclose(la[5:-5], (truth["UL"] - truth["LL"])[5:-5, 1], atol=0.05)
