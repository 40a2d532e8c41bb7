"""``sitool score`` on constructed decode dirs: scores.tsv rows, caching and shards, filters,
relative improvement, seeds, SE metrics, RESULTS.md numbers, plots, the CLI."""

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sitool.cli import main
from sitool.datadir import DataDir, TargetInfo
from sitool.errors import SitoolError
from sitool.io import atomic_save_npy
from sitool.mixture import materialise_components
from sitool.scoring import aggregate, utt_scores
from sitool.scoring.aggregate import Filters
from sitool.scoring.decodes import DecodeDir, model_names, split_seed
from sitool.scoring.score import (build_paired, build_summary, load_si_scores, resolve_decodes,
                                  score_all, score_experiments)
from sitool.testing.data_dirs import make_tv_data_dir, toy_utterance, write_media_data_dir
from sitool.testing.decode_dirs import with_correlation, write_decode_dir
from sitool.testing.noisy_dirs import make_noise_file, make_noisy_data_dir

INF = math.inf
# PPMC each experiment's predictions have, per (category, SNR): every target, every utterance.
RHO = {
    "si_clean": {("clean", INF): 0.90, ("babble", 0): 0.60, ("babble", -5): 0.40,
                 ("non-babble", 0): 0.70, ("non-babble", -5): 0.50},
    "si_multi": {("clean", INF): 0.88, ("babble", 0): 0.70, ("babble", -5): 0.50,
                 ("non-babble", 0): 0.75, ("non-babble", -5): 0.60},
    "joint": {("clean", INF): 0.91, ("babble", 0): 0.80, ("babble", -5): 0.60,
              ("non-babble", 0): 0.80, ("non-babble", -5): 0.70},
    "joint_seed2": {("clean", INF): 0.93, ("babble", 0): 0.80, ("babble", -5): 0.62,
                    ("non-babble", 0): 0.80, ("non-babble", -5): 0.70},
}
TYPES = {"si_clean": "si", "si_multi": "si", "joint": "joint", "joint_seed2": "joint"}


def _predictor(rhos, data: DataDir):
    def predict(utt, ref):
        cond = data.condition(utt)
        rho = rhos[(cond.category, cond.snr_db)]
        rng = np.random.default_rng(sum(map(ord, utt)))
        cols = [ref[:, j] if np.ptp(ref[:, j]) == 0 else with_correlation(ref[:, j], rho, rng)
                for j in range(ref.shape[1])]
        return np.stack(cols, axis=1)
    return predict


def _perfect_enhancement(data: DataDir):
    def enhance(utt, noisy):
        row = data.mix.get(utt)
        return noisy if row is None else materialise_components(row)[0]
    return enhance


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """data/test (3 utts, 6 TVs + VEL/F0/voicing), data/test_noisy (2 noises x SNR 0, -5),
    exp/{si_clean,si_multi,joint,joint_seed2}/decode/{test,test_noisy}; joint has an SE head."""
    root = tmp_path_factory.mktemp("recipe")
    clean = make_tv_data_dir(root / "data" / "test", num_utts=3)
    white = make_noise_file(root / "noise" / "white.wav", 4.0, seed=1, kind="white")
    babble = make_noise_file(root / "noise" / "babble4.wav", 4.0, seed=2, kind="babble")
    noisy = make_noisy_data_dir(root / "data" / "test_noisy", clean,
                                [("white", "non-babble", white), ("babble4", "babble", babble)],
                                [0, -5])
    for data_dir in (clean, noisy):   # an SE-only model whose "enhancement" is the identity
        write_decode_dir(root / "exp" / "se", data_dir, None, model="se",
                         enhance=lambda utt, noisy_audio: noisy_audio)
    for tag, rhos in RHO.items():
        for data_dir in (clean, noisy):
            data = DataDir(data_dir)
            write_decode_dir(root / "exp" / tag, data_dir, _predictor(rhos, data),
                             model=TYPES[tag],
                             enhance=_perfect_enhancement(data) if TYPES[tag] == "joint" else None,
                             config={"model": {"type": TYPES[tag]},
                                     "seed": 2 if tag.endswith("seed2") else 1})
    return root


@pytest.fixture
def in_recipe(recipe):
    cwd = os.getcwd()
    os.chdir(recipe)
    yield recipe
    os.chdir(cwd)


def test_scores_tsv_rows(in_recipe):
    decode = DecodeDir(Path("exp/si_clean/decode/test_noisy"))
    path = utt_scores.score_si(decode)
    df = utt_scores.read_score_file(path)
    assert list(df.columns) == utt_scores.SI_COLUMNS
    assert len(df) == 12 * 9                       # 3 utts x 2 noises x 2 SNRs, 9 targets
    ok = df[df["status"] == "ok"]
    expected = ok.apply(lambda r: RHO["si_clean"][(r["category"], r["snr_db"])], axis=1)
    np.testing.assert_allclose(ok["ppmc"], expected, atol=1e-5)
    # the constant voicing track of utterance 0 is excluded (NA), in every condition
    const = df[df["status"] == "const_ref"]
    assert set(const["target"]) == {"voicing"} and set(const["clean_utt"]) == {"spk0_000"}
    assert len(const) == 4 and const["ppmc"].isna().all()
    # RMSE is in target units, recomputed by hand for one row
    row = df[(df["utt"] == "spk1_001_white_snrm5") & (df["target"] == "TTCL")].iloc[0]
    data = DataDir("data/test_noisy")
    pred = np.load(decode.tv_scp["spk1_001_white_snrm5"])[:, 2]
    ref = data.target_array("spk1_001_white_snrm5")[:, 2]
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean((pred - ref) ** 2)), rel=1e-5)
    assert row["unit"] == "deg" and row["snr_db"] == -5 and row["noise_type"] == "white"
    clean_rows = utt_scores.read_score_file(utt_scores.score_si(DecodeDir(Path("exp/si_clean/decode/test"))))
    assert (clean_rows["snr_db"] == INF).all() and set(clean_rows["category"]) == {"clean"}


def _copy_decode(src: Path, dst: Path) -> DecodeDir:
    """A private copy of a decode dir whose tv.scp points at its own .npy files."""
    shutil.copytree(src, dst)
    lines = []
    for line in (dst / "tv.scp").read_text().splitlines():
        utt, _ = line.split(maxsplit=1)
        lines.append(f"{utt} {dst / 'tv' / (utt + '.npy')}")
    (dst / "tv.scp").write_text("\n".join(lines) + "\n")
    for name in ("scores.tsv", "scores.yaml"):
        (dst / name).unlink(missing_ok=True)
    return DecodeDir(dst)


def test_cache_shards_and_bad_predictions(recipe, tmp_path):
    decode = _copy_decode(recipe / "exp/si_multi/decode/test", tmp_path / "exp/m/decode/test")
    out = utt_scores.score_si(decode)
    first = out.read_text()
    mtime = out.stat().st_mtime_ns
    assert utt_scores.score_si(decode).stat().st_mtime_ns == mtime      # reused
    # shards 1/2 and 2/2, then a merge without --job gives the same table
    parts = [utt_scores.score_si(decode, nj=2, job=j) for j in (1, 2)]
    assert all(p.parent.name == "score_parts" for p in parts)
    out.unlink()
    assert utt_scores.score_si(decode).read_text() == first
    # a changed prediction file is noticed and re-scored
    utt = "spk1_001"
    pred = np.load(decode.tv_scp[utt])
    pred[:, 0] = pred[::-1, 0]
    atomic_save_npy(decode.tv_scp[utt], pred)
    assert utt_scores.score_si(decode).read_text() != first
    # a constant prediction counts as PPMC 0
    pred[:, 1] = 3.0
    atomic_save_npy(decode.tv_scp[utt], pred)
    df = utt_scores.read_score_file(utt_scores.score_si(decode))
    row = df[(df["utt"] == utt) & (df["target"] == "LP")].iloc[0]
    assert row["status"] == "const_pred" and row["ppmc"] == 0.0
    # lengths: 5 extra frames are trimmed, 10 are an error naming the file
    ref_frames = len(DataDir(recipe / "data/test").target_array(utt))
    atomic_save_npy(decode.tv_scp[utt], np.vstack([pred, pred[:5]]))
    df = utt_scores.read_score_file(utt_scores.score_si(decode))
    assert (df.loc[df["utt"] == utt, "frames"] == ref_frames).all()
    atomic_save_npy(decode.tv_scp[utt], np.vstack([pred, pred[:10]]))
    with pytest.raises(SitoolError, match=f"{utt}.npy: prediction has {ref_frames + 10} frames"):
        utt_scores.score_si(decode)
    pred[3, 2] = np.nan
    atomic_save_npy(decode.tv_scp[utt], pred)
    with pytest.raises(SitoolError, match="NaN"):
        utt_scores.score_si(decode)


def test_filters_grouping_and_gain(in_recipe):
    experiments = resolve_decodes(baselines=["exp/si_clean"])
    assert experiments.models == ["si_clean", "joint", "se", "si_multi"]
    for d in experiments.decodes:
        utt_scores.score_decode_dir(d, se=False)
    si = load_si_scores(experiments)
    assert aggregate.headline_targets(si) == aggregate.TVS
    babble5 = aggregate.apply_filters(si, Filters(snrs=(-5.0,), noises=("babble",)))
    assert set(babble5["category"]) == {"babble"} and set(babble5["snr_db"]) == {-5.0}
    white = aggregate.apply_filters(si, Filters(noises=("white",)))
    assert set(white["noise_type"]) == {"white"} and set(white["snr_db"]) == {0.0, -5.0}
    clean = aggregate.apply_filters(si, Filters(snrs=(INF,)))
    assert set(clean["set"]) == {"test"}
    assert set(aggregate.apply_filters(si, Filters(sets=("test",)))["category"]) == {"clean"}
    with pytest.raises(SitoolError, match="types: babble4, clean, white"):
        aggregate.apply_filters(si, Filters(noises=("pink",)))
    with pytest.raises(SitoolError, match="scored SNRs: -5, 0, clean"):
        aggregate.apply_filters(si, Filters(snrs=(10.0,)))
    with pytest.raises(SitoolError, match="no scored utterance matches"):
        aggregate.apply_filters(si, Filters(sets=("test",), noises=("babble",)))

    summary = aggregate.summarise(aggregate.pool_types(si, by_type=False), aggregate.KEYS,
                                  experiments.models)
    cond = {"set": "test_noisy", "category": "babble", "noise_type": "all", "snr_db": -5.0}
    joint = summary.cell("joint", cond)
    assert joint["n_seeds"] == 2 and joint["n_utts"] == 3
    assert joint["mean"] == pytest.approx(0.61, abs=1e-5)
    assert joint["std"] == pytest.approx(np.std([0.60, 0.62], ddof=1), abs=1e-5)
    assert summary.gain("joint", "si_clean", cond) == pytest.approx(52.5, abs=1e-3)
    assert summary.gain("si_multi", "si_clean", cond) == pytest.approx(25.0, abs=1e-3)
    # per type: each noise type at -5 dB has its own row
    by_type = aggregate.summarise(si, aggregate.KEYS, experiments.models)
    white5 = by_type.cell("si_clean", {"set": "test_noisy", "category": "non-babble",
                                       "noise_type": "white", "snr_db": -5.0})
    assert white5["mean"] == pytest.approx(0.5, abs=1e-5)
    # voicing's per-target mean leaves out utterance 0's constant track
    voicing = summary.target_cell("si_clean", cond, "voicing")
    assert voicing["const_ref"] == 1 and voicing["mean"] == pytest.approx(0.4, abs=1e-5)


def test_seed_grouping(tmp_path):
    assert split_seed("train_joint_seed2") == ("train_joint", 2)
    assert split_seed("train_joint") == ("train_joint", None)
    for tag, seed, lr in [("a", 1, 0.1), ("a_seed2", 2, 0.1), ("b", 1, 0.1), ("b_seed2", 2, 0.5)]:
        (tmp_path / tag).mkdir()
        (tmp_path / tag / "config.yaml").write_text(f"seed: {seed}\noptim: {{lr: {lr}}}\n")
    names = model_names([tmp_path / t for t in ("a", "a_seed2", "b", "b_seed2")])
    assert names[tmp_path / "a"] == names[tmp_path / "a_seed2"] == "a"
    assert names[tmp_path / "b"] == "b" and names[tmp_path / "b_seed2"] == "b_seed2"


def test_results_md_and_plots(in_recipe):
    result = score_experiments(baselines=["exp/si_clean", "exp/si_multi"], results="RESULTS.md",
                               plots="docs", command="sitool score --results RESULTS.md")
    text = Path("RESULTS.md").read_text()
    # headline, babble: rows clean / 0 / -5; columns n, si_clean, si_multi, joint (2 seeds), gains
    assert "| SNR [dB] | n | si_clean | si_multi | joint (2 seeds) | joint vs si_clean | joint vs si_multi |" in text
    assert "| clean | 3 | 0.900 | 0.880 | 0.920 ± 0.014 | +2.2 % | +4.5 % |" in text
    assert "| -5 | 3 | 0.400 | 0.500 | 0.610 ± 0.014 | +52.5 % | +22.0 % |" in text
    assert "| -5 | 3 | 0.500 | 0.600 | 0.700 ± 0.000 | +40.0 % | +16.7 % |" in text   # non-babble
    assert ("At -5 dB SNR, mean PPMC of **joint** relative to si_clean: +52.5 % in babble noise "
            "(0.400 → 0.610), +40.0 % in non-babble noise (0.500 → 0.700)") in text
    assert "noise types babble: babble4; non-babble: white; SNRs 0, -5 dB" in text
    assert "| babble4 | babble | 3 | 0.400 | 0.500 | 0.610 ± 0.014 |" in text        # by type
    # SE: perfect enhancement vs the real noisy input
    se = text.split("## Speech enhancement")[1]
    assert "| babble -5 dB | 3 | " in se and "4.64 ± 0.00" in se
    noisy_pesq = float(se.split("| babble -5 dB | 3 | ")[1].split(" |")[0])
    assert 1.0 <= noisy_pesq < 2.5
    assert "| clean | 3 | — | 4.64 ± 0.00 |" in se
    assert "100.0 ± 0.0" in se                                         # SI-SDR cap, no inf
    assert "| joint | voicing | 10 | 0 |" in text                      # 5 tracks x 2 seeds
    # the default recipe's headline is unchanged: the six TVs, named on one line
    assert ("Headline targets (mean PPMC): LA, LP, TTCL, TTCD, TBCL, TBCD (the default: the six "
            "tract variables; not in it: VEL, F0, voicing, see the per-target tables; a "
            "`headline:` list in the data dir's `targets` file chooses others).") in text
    assert "sitool score --results RESULTS.md" in text and "commit" in text
    # paths relative to the recipe dir (the current directory): none names this machine's dirs
    models = text.split("## Models and data")[1].split("## ")[0]
    assert "| joint | joint | exp/joint, exp/joint_seed2 |" in models
    rows = [line for line in models.splitlines() if line.startswith("| ") and "| model |" not in line]
    assert len(rows) == 4 and all(r.endswith("| data/test, data/test_noisy |") for r in rows)
    assert str(in_recipe) not in text and str(in_recipe.resolve()) not in text
    names = sorted(p.name for p in result.plots)
    # the SE-only model's identity "enhancement" scores exactly like the noisy input
    pesq_row = se.split("**PESQ**")[1].split("**STOI**")[0]
    header = next(l for l in pesq_row.splitlines() if l.startswith("| condition"))
    assert header == "| condition | n | noisy input | joint (2 seeds) | se |"
    for line in pesq_row.splitlines():
        if line.startswith("| babble") or line.startswith("| non-babble"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert cells[2] == cells[4], line
    assert "| se |" not in text.split("### Babble noise")[1].split("###")[0]   # no SI columns
    assert names == ["ppmc_vs_snr.png", "se_vs_snr.png", "tracks_spk0_000_babble_-5_dB.png",
                     "tracks_spk0_000_clean.png", "tracks_spk0_000_non-babble_-5_dB.png"]
    assert all(p.stat().st_size > 10_000 for p in result.plots)
    assert "![Mean PPMC vs SNR](docs/ppmc_vs_snr.png)" in text
    # enhanced audio vs its noisy input, paired with CIs: perfect enhancement is better in every
    # measure; the identity "enhancement" is a tie to the last digit
    vs_input = se.split("### Enhanced audio vs the noisy input")[1]
    joint_row = next(l for l in vs_input.splitlines() if l.startswith("| babble -5 dB | joint"))
    assert joint_row.count(" better") == 3 and "→ 4.64" in joint_row and "→ 100.0" in joint_row
    se_row = next(l for l in vs_input.splitlines() if l.startswith("| babble -5 dB | se"))
    assert se_row.count("+0.000 [+0.000, +0.000] inside noise") == 1
    assert se_row.count("inside noise") == 3
    se_rows = pd.read_csv("exp/joint/decode/test_noisy/noisy_se_scores.tsv", sep="\t")
    assert len(se_rows) == 12 and (se_rows["system"] == "noisy").all()


def test_parallel_scoring_through_the_installed_script(recipe, tmp_path):
    """`sitool score --nj 2` spawns worker processes that re-import the entry script: the
    table they produce must equal the single-process one."""
    decode = _copy_decode(recipe / "exp/si_multi/decode/test_noisy",
                          tmp_path / "exp/m/decode/test_noisy")
    single = utt_scores.score_si(decode).read_text()
    (decode.path / utt_scores.SI_FILE).unlink()
    script = Path(__file__).resolve().parents[1] / "bin" / "sitool"
    result = subprocess.run([sys.executable, str(script), "score", "--exp", "exp/m", "--nj", "2",
                             "--no-se", "--no-plots"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "== test_noisy: babble -5 dB ==" in result.stdout
    assert (decode.path / utt_scores.SI_FILE).read_text() == single


def test_cli_filters_and_errors(in_recipe):
    runner = CliRunner()
    res = runner.invoke(main, ["score", "--snr", "-5", "--noise", "babble", "--no-se",
                               "--baseline", "exp/si_clean"])
    assert res.exit_code == 0, res.output
    assert "== test_noisy: babble -5 dB ==" in res.output
    assert "non-babble" not in res.output and "== test: clean" not in res.output
    joint_line = next(l for l in res.output.splitlines() if l.startswith("joint "))
    assert "0.610 ± 0.014" in joint_line and "+52.5 %" in joint_line
    res = runner.invoke(main, ["score", "--exp", "exp/si_multi", "--noise", "white", "--rmse",
                               "--no-se"])
    assert res.exit_code == 0, res.output
    assert "non-babble/white 0 dB" in res.output and "babble4" not in res.output
    assert "TTCL [deg]" in res.output
    res = runner.invoke(main, ["score", "--exp", "exp/nope"])
    assert res.exit_code == 1 and "error: exp/nope: experiment dir not found" in res.output
    res = runner.invoke(main, ["score", "--noise", "pink", "--no-se"])
    assert res.exit_code == 1 and "--noise pink: not a scored noise category or type" in res.output


def test_score_no_progress_hides_the_scoring_bars(in_recipe, monkeypatch):
    monkeypatch.setenv("SITOOL_PROGRESS", "1")     # bars on although stderr is no terminal
    # run.sh stage 6's shard jobs log to files: without --no-progress those held tqdm bars
    runner = CliRunner()
    for flags, shown in (([], True), (["--no-progress"], False)):
        res = runner.invoke(main, ["score", "--exp", "exp/si_multi", "--no-se", "--no-plots",
                                   "--overwrite", *flags])
        assert res.exit_code == 0, res.output
        assert ("si_multi/test_noisy scores" in res.output) is shown, flags
        assert "== test_noisy: babble -5 dB ==" in res.output


def test_an_se_only_experiment_scores_alone(in_recipe):
    """Bug: `sitool score --exp exp/train_se` computed the SE scores and then stopped with "no
    decode dir has predicted targets". An SE-only model gets SE tables; SI-only options say so."""
    runner = CliRunner()
    res = runner.invoke(main, ["score", "--exp", "exp/se", "--snr", "-5", "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "== test_noisy: babble -5 dB ==" in res.output and "== test: clean" not in res.output
    lines = res.output.splitlines()
    noisy = next(l for l in lines if l.startswith("noisy input")).split()[3:6]
    se = next(l for l in lines if l.startswith("se ")).split()[2:5]
    assert noisy == se and float(noisy[1]) > 0   # identity "enhancement": the input's PESQ, STOI, SI-SDR
    vs_input = res.output.split("== Speech enhancement vs the noisy input")[1]
    rows = [l for l in vs_input.splitlines() if l.startswith("test_noisy: ")]
    assert len(rows) == 2 and all(r.count("inside noise") == 3 for r in rows)   # all ties
    res = runner.invoke(main, ["score", "--exp", "exp/se", "--snr", "-5", "--no-plots", "--no-ci"])
    assert res.exit_code == 0 and "vs the noisy input" not in res.output
    res = runner.invoke(main, ["score", "--exp", "exp/se", "--no-se"])
    assert res.exit_code == 1 and "no decode dir has predicted targets" in res.output
    res = runner.invoke(main, ["score", "--exp", "exp/se", "--results", "R.md", "--no-plots"])
    assert res.exit_code == 1 and "--results" in res.output and "SE-only" in res.output


EMA_SOURCE = TargetInfo(names=["UL_x", "UL_y", "TT_y", "F0", "periodicity", "aperiodicity"],
                        units=["mm", "mm", "mm", "Hz", "1", "1"], frame_rate=100.0)
# PPMC per target: articulatory columns vs the source features appended by sitool prepare
EMA_RHO = {"base": {"UL_x": 0.6, "UL_y": 0.6, "TT_y": 0.6, "F0": 0.9, "periodicity": 0.9,
                    "aperiodicity": 0.9},
           "better": {"UL_x": 0.8, "UL_y": 0.8, "TT_y": 0.8, "F0": 0.2, "periodicity": 0.2,
                      "aperiodicity": 0.2}}


def _ema_recipe(root: Path) -> Path:
    """data/test with custom EMA columns plus F0/periodicity/aperiodicity; exp/{base,better}."""
    rng = np.random.default_rng(4)
    utterances = []
    for i in range(4):
        audio, base = toy_utterance(rng, 1.2)
        t = np.arange(len(base)) / 100.0
        cols = [base[:, 0] + 132, base[:, 1] - 20, base[:, 2], 120 + 20 * np.sin(4 * t + i),
                0.5 + 0.4 * np.sin(7 * t + i), 0.5 + 0.4 * np.cos(5 * t + i)]
        utterances.append((f"s{i % 2}_{i:03d}", f"s{i % 2}", audio,
                           np.stack(cols, axis=1).astype(np.float32)))
    data_dir = write_media_data_dir(root / "data" / "test", utterances, EMA_SOURCE)
    for tag, rhos in EMA_RHO.items():
        def predict(utt, ref, rhos=rhos):
            rng = np.random.default_rng(sum(map(ord, utt)))
            return np.stack([with_correlation(ref[:, j], rhos[name], rng)
                             for j, name in enumerate(EMA_SOURCE.names)], axis=1)
        write_decode_dir(root / "exp" / tag, data_dir, predict, config={"seed": 1, "tag": tag})
    return data_dir


def test_headline_leaves_out_source_features_by_default_and_follows_the_targets_file(tmp_path,
                                                                                   monkeypatch):
    data_dir = _ema_recipe(tmp_path)
    monkeypatch.chdir(tmp_path)
    clean = {"category": "clean", "noise_type": "clean", "snr_db": INF}

    def headline(results=None):
        experiments = resolve_decodes(baselines=["exp/base"])
        score_all(experiments, progress=False)
        si = load_si_scores(experiments)
        summary = build_summary(experiments, si, None, Filters(), by_type=False, pool_sets=True)
        paired = build_paired(experiments, si, Filters(), by_type=False, pool_sets=True)
        row = paired[paired["model"] == "better"].iloc[0]
        if results:
            score_experiments(baselines=["exp/base"], results=results, make_plots=False,
                              progress=False)
        return (summary.targets, summary.cell("better", clean)["mean"],
                summary.cell("base", clean)["mean"], row["mean_a"], row["mean_b"])

    targets, better, base, paired_a, paired_b = headline("RESULTS.md")
    assert targets == ["UL_x", "UL_y", "TT_y"]                  # F0 & co. are not articulatory
    assert better == pytest.approx(0.8, abs=1e-5) and base == pytest.approx(0.6, abs=1e-5)
    assert paired_a == pytest.approx(0.8, abs=1e-5) and paired_b == pytest.approx(0.6, abs=1e-5)
    text = Path("RESULTS.md").read_text()
    assert ("Headline targets (mean PPMC): UL_x, UL_y, TT_y (the default: every target the "
            "models share but the source features (F0, periodicity, aperiodicity, VOICING); not "
            "in it: F0, periodicity, aperiodicity, see the per-target tables") in text
    assert "then over the targets UL_x, UL_y, TT_y." in text
    assert "| model | UL_x | UL_y | TT_y | F0 | periodicity | aperiodicity | mean PPMC |" in text

    # an explicit headline in the data dir's targets file
    targets_file = data_dir / "targets"
    targets_file.write_text(targets_file.read_text() + "headline: [UL_y, F0]\n")
    targets, better, base, paired_a, paired_b = headline("RESULTS.md")
    assert targets == ["UL_y", "F0"]
    assert better == pytest.approx(0.5, abs=1e-5) and base == pytest.approx(0.75, abs=1e-5)
    assert paired_a == pytest.approx(0.5, abs=1e-5) and paired_b == pytest.approx(0.75, abs=1e-5)
    text = Path("RESULTS.md").read_text()
    assert ("Headline targets (mean PPMC): UL_y, F0 (the `headline:` list of data/test/targets; "
            "not in it: UL_x, TT_y, periodicity, aperiodicity, see the per-target tables") in text
    assert "| model | UL_x | UL_y | TT_y | F0 | periodicity | aperiodicity | mean PPMC |" in text

    # a headline naming a column that is not a target: one line naming the file
    targets_file.write_text(targets_file.read_text().replace("[UL_y, F0]", "[UL_y, LA]"))
    with pytest.raises(SitoolError, match=f"{targets_file}: targets: headline has names"):
        headline()


def test_headline_rule_without_a_targets_file():
    rows = [{"exp": e, "target": t} for e in ("a", "b")
            for t in ("UL_x", "F0", "periodicity", "aperiodicity", "voicing")]
    df = pd.DataFrame(rows)
    assert aggregate.choose_headline(df) == (["UL_x"], aggregate.DEFAULT_RULE)
    assert aggregate.headline_targets(df, ["F0", "UL_x"], "t") == ["F0", "UL_x"]
    only_source = df[df["target"].isin(["F0", "voicing"])]
    assert aggregate.headline_targets(only_source) == ["F0", "voicing"]
    with pytest.raises(SitoolError, match="data/x/targets: no headline target"):
        aggregate.headline_targets(df, ["LA"], "data/x/targets")
