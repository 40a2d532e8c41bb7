"""End to end on toy data: synth-noise -> prepare-noise synth -> mix (grid and draws)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sitool.audio import write_audio
from sitool.cli import main
from sitool.datadir import DataDir, PhoneSegment, write_data_dir
from sitool.errors import SitoolError
from sitool.noise.noisy_sets import mix_data_dir
from sitool.mixture import load_clean, materialise
from sitool.noise.procedural import DEFAULT_TYPES, GENERATORS
from sitool.noise.readers import read_synth
from sitool.noise.snr import measure_snr
from sitool.noise.sources import SPLITS, prepare_noise_dirs, read_noise_dir
from sitool.noise.synth import split_talkers, synth_noise
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.validate import validate_data_dir

ROOT = Path(__file__).resolve().parents[1]

RATE = 16000
SNRS = [-5.0, 0.0, 5.0, 10.0, 20.0]


def with_text_and_phones(path):
    """Add text and phones.ctm to a toy data dir (to check they are re-keyed)."""
    data = DataDir(path)
    write_data_dir(path, utt2spk=data.utt2spk, utt2dur=data.utt2dur, wav_scp=data.wav_scp,
                   tv_scp=data.tv_scp, targets=data.targets,
                   text={u: f"words of {u}" for u in data.utts},
                   phones={u: [PhoneSegment(0.0, 0.3, "a"), PhoneSegment(0.3, 0.6, "b")]
                           for u in data.utts})
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("noise_world")
    data = root / "data"
    train = make_toy_data_dir(data / "train", num_utts=4, num_speakers=2, seed=0, prefix="tr")
    test = with_text_and_phones(make_toy_data_dir(data / "test", num_utts=2, num_speakers=2,
                                                  seed=1, prefix="te"))
    talkers = make_toy_data_dir(data / "babble_talkers", num_utts=9, num_speakers=3, seed=2,
                                prefix="bb")
    noise_dir = synth_noise(root / "noise", seed=1, babble_talkers=talkers, types=tuple(GENERATORS),
                            babble_counts=(3,), seconds=6.0, babble_seconds=(6.0, 3.0, 3.0))
    noise = prepare_noise_dirs(lambda: read_synth(noise_dir), data, seed=1)
    return {"root": root, "train": train, "test": test, "talkers": talkers, "noise": noise,
            "noise_dir": noise_dir}


@pytest.fixture(scope="module")
def grid(world):
    return mix_data_dir(world["test"], world["noise"]["test"], world["root"] / "data/test_noisy",
                        seed=3, snrs=SNRS, progress=False)


def test_synth_noise_types_and_split(world):
    types = {s.noise_type for s in read_noise_dir(world["noise"]["test"])}
    assert types == set(GENERATORS) | {"babble3"}
    assert len(DEFAULT_TYPES) >= 6 and set(DEFAULT_TYPES) <= set(GENERATORS)


def test_every_type_mixes_at_the_requested_snr(grid):
    data = DataDir(grid)
    assert len(data.utts) == 2 * 8 * len(SNRS)
    assert {r.noise_type for r in data.mix.values()} == set(GENERATORS) | {"babble3"}
    for utt, row in data.mix.items():
        mixture = data.audio(utt)
        clean = load_clean(row.clean_path).astype(np.float64)
        noise = mixture / row.scale - clean
        assert measure_snr(clean, noise) == pytest.approx(row.snr_db, abs=0.1), utt
        assert np.max(np.abs(mixture)) <= 0.99 + 1e-6


def test_grid_uses_same_noise_across_snrs_and_documented_ids(grid):
    rows = DataDir(grid).mix
    row = rows["tespk0_000-impulsive-snr-05"]
    same = [r for r in rows.values() if r.clean_utt == row.clean_utt and r.noise_type == "impulsive"]
    assert sorted(r.snr_db for r in same) == SNRS
    assert {(r.noise_id, r.noise_offset_s, r.seed) for r in same} == {
        (row.noise_id, row.noise_offset_s, row.seed)}
    assert "tespk1_001-babble3-snr+20" in rows


def test_noisy_dir_is_valid_and_rekeys_tables(grid, world):
    assert validate_data_dir(grid, progress=False) == []
    data, clean = DataDir(grid), DataDir(world["test"])
    for utt in data.utts:
        row = data.mix[utt]
        assert utt.startswith(row.clean_utt + "-")
        assert data.utt2spk[utt] == clean.utt2spk[row.clean_utt]
        assert data.tv_scp[utt] == clean.tv_scp[row.clean_utt]
        assert data.text[utt] == clean.text[row.clean_utt]
        assert data.phones[utt] == clean.phones[row.clean_utt]
        assert data.condition(utt).snr_db == row.snr_db
    assert data.targets == clean.targets


def test_rerun_is_byte_identical_with_identical_audio(world, tmp_path):
    runner = CliRunner()
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(main, ["mix", str(world["train"]), str(world["noise"]["train"]),
                                      str(out), "--per-utt", "2", "--seed", "5", "--write-audio",
                                      "--audio-dir", str(tmp_path / "audio")])
        assert result.exit_code == 0, result.output
        outs.append(out)
    assert (outs[0] / "mix.tsv").read_bytes() == (outs[1] / "mix.tsv").read_bytes()
    first = DataDir(outs[0])
    audio = {u: first.audio(u).copy() for u in first.utts}
    result = runner.invoke(main, ["mix", str(world["train"]), str(world["noise"]["train"]),
                                  str(outs[0]), "--per-utt", "2", "--seed", "5", "--write-audio",
                                  "--audio-dir", str(tmp_path / "audio"), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (outs[0] / "mix.tsv").read_bytes() == (outs[1] / "mix.tsv").read_bytes()
    import soundfile as sf

    for utt, path in DataDir(outs[0]).wav_scp.items():
        written, rate = sf.read(path, dtype="float32")
        assert rate == RATE and np.array_equal(written, audio[utt])
        assert np.array_equal(materialise(first.mix[utt]), audio[utt])


def test_mix_no_progress_hides_the_progress_bar(world, tmp_path, monkeypatch):
    monkeypatch.setenv("SITOOL_PROGRESS", "1")     # bars on although stderr is no terminal
    outputs = []
    for flags in ([], ["--no-progress"]):
        result = CliRunner().invoke(main, ["mix", str(world["train"]), str(world["noise"]["train"]),
                                           str(tmp_path / f"out{len(flags)}"), "--per-utt", "1",
                                           *flags])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "mix draws" in outputs[0] and "mix draws" not in outputs[1]
    assert "wrote" in outputs[1]


def test_draws_depend_on_utterance_and_index_not_order(world, tmp_path):
    few = mix_data_dir(world["train"], world["noise"]["train"], tmp_path / "k2", seed=7,
                       per_utt=2, snr_range=(-5, 20), progress=False)
    more = mix_data_dir(world["train"], world["noise"]["train"], tmp_path / "k3", seed=7,
                        per_utt=3, snr_range=(-5, 20), num_utts=2, progress=False)
    few_rows, more_rows = DataDir(few).mix, DataDir(more).mix
    assert len(few_rows) == 8 and len(more_rows) == 6
    for utt, row in more_rows.items():
        if utt in few_rows:
            assert few_rows[utt] == row
    assert all(-5 <= r.snr_db <= 20 for r in few_rows.values())
    assert len({r.seed for r in few_rows.values()}) == len(few_rows)
    assert sorted(DataDir(more).utt2spk.values()) == ["trspk0"] * 3 + ["trspk1"] * 3


def test_noise_splits_share_no_sample_span_and_babble_talkers_are_held_out(world):
    spans = {s: [] for s in SPLITS}
    talkers = {}
    for split in SPLITS:
        for seg in read_noise_dir(world["noise"][split]):
            spans[split].append((seg.path, round(seg.start * RATE), round(seg.end * RATE)))
            talkers.setdefault(split, set()).update(seg.talkers)
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                for path, lo, hi in spans[a]:
                    for path2, lo2, hi2 in spans[b]:
                        assert path != path2 or hi <= lo2 or hi2 <= lo
    babble_speakers = set(DataDir(world["talkers"]).utt2spk.values())
    assert set().union(*talkers.values()) <= babble_speakers
    for target in ("train", "test"):
        assert not babble_speakers & set(DataDir(world[target]).utt2spk.values())


def test_babble_talker_pools_never_share_an_utterance():
    few = {f"s{i}": [f"s{i}_{j}" for j in range(5)] for i in range(4)}
    pools = split_talkers(few, seed=1)  # 4 speakers: every split hears all, utterances divided
    assert all(set(pools[s]) == set(few) for s in SPLITS)
    many = {f"s{i}": [f"s{i}_{j}" for j in range(3)] for i in range(10)}
    pools_many = split_talkers(many, seed=1)  # 10 speakers: whole speakers, >= 2 per split
    assert all(len(pools_many[s]) >= 2 for s in SPLITS)
    for talkers, pool in ((few, pools), (many, pools_many)):
        used = [u for s in SPLITS for utts in pool[s].values() for u in utts]
        assert sorted(used) == sorted(u for utts in talkers.values() for u in utts)  # disjoint
    assert not set(pools_many["train"]) & set(pools_many["test"])
    with pytest.raises(SitoolError, match="needs at least 3"):
        split_talkers({"a": ["a1", "a2"], "b": ["b1", "b2", "b3"]}, seed=1)


def test_babble_of_target_speakers_is_refused(tmp_path):
    target = make_toy_data_dir(tmp_path / "target", num_utts=6, num_speakers=2, seconds=(1, 1.2))
    noise = synth_noise(tmp_path / "bad_noise", seed=1, babble_talkers=target,
                        types=["white"], babble_counts=(2,), seconds=4.0,
                        babble_seconds=(3.0, 3.0, 3.0))
    dirs = prepare_noise_dirs(lambda: read_synth(noise), tmp_path / "d", seed=1)
    with pytest.raises(SitoolError, match="also target speakers"):
        mix_data_dir(target, dirs["train"], tmp_path / "out", seed=1, per_utt=1, progress=False)


def test_short_noise_loops_and_clipping_keeps_the_snr(world, tmp_path):
    # A 0.6 s noise for 1-1.6 s utterances, and a clean utterance at peak 0.95 so that the
    # -5 dB mixture would clip without the scale.
    rng = np.random.default_rng(0)
    write_audio(tmp_path / "short.wav", (0.5 * rng.standard_normal(int(0.6 * RATE))).astype(np.float32))
    src = DataDir(world["test"])
    loud = {}
    for utt in src.utts:
        audio = src.audio(utt)
        loud[utt] = str(tmp_path / f"{utt}.wav")
        write_audio(loud[utt], (0.95 * audio / np.max(np.abs(audio))).astype(np.float32),
                    subtype="FLOAT")
    write_data_dir(tmp_path / "loud", utt2spk=src.utt2spk, utt2dur=src.utt2dur, wav_scp=loud)
    noise_dir = tmp_path / "noise_short"
    noise_dir.mkdir()
    (noise_dir / "wav.scp").write_text(f"short {tmp_path / 'short.wav'}\n")
    (noise_dir / "noise2type").write_text("short hiss\n")
    (noise_dir / "noise2category").write_text("short non-babble\n")
    out = mix_data_dir(tmp_path / "loud", noise_dir, tmp_path / "loud_noisy", seed=1,
                       snrs=[-5.0, 20.0], progress=False)
    data = DataDir(out)
    for utt, row in data.mix.items():
        assert row.noise_offset_s == 0.0  # shorter than the utterance: looped from its start
        mixture = data.audio(utt)
        clean = load_clean(row.clean_path).astype(np.float64)
        assert measure_snr(clean, mixture / row.scale - clean) == pytest.approx(row.snr_db, abs=0.1)
        assert np.max(np.abs(mixture)) <= 0.99 + 1e-6
    assert min(r.scale for r in data.mix.values()) < 1.0  # clipping prevention was needed


def test_mix_input_errors(world, grid, tmp_path):
    with pytest.raises(SitoolError, match="already a noisy set"):
        mix_data_dir(grid, world["noise"]["test"], tmp_path / "x", seed=1, per_utt=1)
    with pytest.raises(SitoolError, match="either --snrs"):
        mix_data_dir(world["test"], world["noise"]["test"], tmp_path / "x", seed=1)
    with pytest.raises(SitoolError, match="no noise of type or category 'car'"):
        mix_data_dir(world["test"], world["noise"]["test"], tmp_path / "x", seed=1, snrs=[0],
                     types=["car"])
    result = CliRunner().invoke(main, ["mix", str(world["test"]), str(tmp_path / "none"),
                                       str(tmp_path / "x"), "--snrs", "0"])
    assert result.exit_code == 1 and "noise directory not found" in result.output
    only = mix_data_dir(world["test"], world["noise"]["test"], tmp_path / "babble_only", seed=1,
                        snrs=[0], types=["babble"], progress=False)
    assert {r.category for r in DataDir(only).mix.values()} == {"babble"}


def test_cli_synth_and_prepare(world, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["synth-noise", "--out", str(tmp_path / "n"), "--seed", "2",
                                  "--no-babble", "--types", "white,engine", "--seconds", "4"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["prepare-noise", "synth", str(tmp_path / "n"), "--out",
                                  str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert {s.noise_type for s in read_noise_dir(tmp_path / "data" / "noise_dev")} == {"white", "engine"}
    result = runner.invoke(main, ["synth-noise", "--out", str(tmp_path / "m"),
                                  "--babble-talkers", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "babble talker data dir not found" in result.output
    # the procedural noise is a pure function of the seed
    again = synth_noise(tmp_path / "n2", seed=2, babble_talkers=None, types=["white", "engine"],
                        seconds=4.0)
    for name in ("white.wav", "engine.wav"):
        assert (again / name).read_bytes() == (tmp_path / "n" / name).read_bytes()


def test_row_is_the_whole_story(grid):
    """Changing only gain or scale in a row changes the mixture as the formula says."""
    row = next(iter(DataDir(grid).mix.values()))
    base = materialise(row)
    half = materialise(dataclasses.replace(row, scale=row.scale / 2))
    np.testing.assert_allclose(half, base / 2, rtol=1e-6, atol=1e-8)


def test_plot_mix_figure(grid, tmp_path):
    from sitool.noise.figure import pick_rows

    rows = DataDir(grid).mix
    picked = pick_rows(rows, None, -5.0, None)
    assert [r.category for r in picked] == ["babble", "non-babble"]
    assert {r.snr_db for r in picked} == {-5.0} and len({r.clean_utt for r in picked}) == 1
    out = tmp_path / "mix.png"
    result = CliRunner().invoke(main, ["plot-mix", str(grid), "--snr", "-5", "--types",
                                       "babble3,impulsive", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    result = CliRunner().invoke(main, ["plot-mix", str(grid), "--snr", "-7", "--out", str(out)])
    assert result.exit_code == 1 and "no mixture" in result.output


def test_synth_noise_lists_the_talker_utterances_of_each_split(world, tmp_path):
    """The leak of issue 34: stage 3 pretrained on all of data/babble_talkers, the speech of
    the test babble included. synth-noise now lists each split's talker utterances; stage 2
    writes data/babble_talkers_train from the train list and stage 3 reads only that."""
    lists = {s: (world["noise_dir"] / f"babble_utts_{s}.list").read_text().split()
             for s in SPLITS}
    talkers = DataDir(world["talkers"])
    assert sorted(u for s in SPLITS for u in lists[s]) == sorted(talkers.utts)   # each once
    assert all(lists[s] for s in SPLITS)
    result = CliRunner().invoke(main, ["subset-data", str(world["talkers"]),
                                       str(tmp_path / "babble_talkers_train"), "--utt-list",
                                       str(world["noise_dir"] / "babble_utts_train.list")])
    assert result.exit_code == 0, result.output
    assert DataDir(tmp_path / "babble_talkers_train").utts == sorted(lists["train"])
    hook = (ROOT / "utils" / "noisy_sets.sh").read_text()
    assert '"$data/babble_talkers_train" \\\n        --utt-list "$noise_dir/babble_utts_train.list"' in hook
    stage3 = (ROOT / "run.sh").read_text()
    assert "pretrain_sets+=(data/babble_talkers_train)" in stage3
    assert "pretrain_sets+=(data/babble_talkers)" not in stage3


def test_mix_refuses_to_reuse_a_set_made_with_another_design(world, tmp_path):
    """`mix` (and so run.sh --test-snrs on a rerun of stage 2) reused an existing set made with
    another SNR grid, saying 'wrote' (battery of issue 36)."""
    out = tmp_path / "grid"
    mix_data_dir(world["test"], world["noise"]["test"], out, seed=3, snrs=[-10, -5],
                 progress=False)
    again = mix_data_dir(world["test"], world["noise"]["test"], out, seed=3, snrs=[-10, -5],
                         progress=False)                      # the same design: reused
    assert again == out
    with pytest.raises(SitoolError, match=r"exists, made with another design \(snrs "
                                          r"\[-10.0, -5.0\] -> \[0.0, 5.0\]\); rerun with "
                                          r"--overwrite"):
        mix_data_dir(world["test"], world["noise"]["test"], out, seed=3, snrs=[0, 5],
                     progress=False)
    with pytest.raises(SitoolError, match="design 'grid' -> 'draws'"):
        mix_data_dir(world["test"], world["noise"]["test"], out, seed=3, per_utt=1,
                     progress=False)
    remade = mix_data_dir(world["test"], world["noise"]["test"], out, seed=3, snrs=[0, 5],
                          overwrite=True, progress=False)
    assert {DataDir(remade).condition(u).snr_db for u in DataDir(remade).utts} == {0.0, 5.0}
