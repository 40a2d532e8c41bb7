"""Paired comparisons (``sitool.scoring.paired``): planted differences found with the right sign
and size, equal models inside the noise, the bootstrap against a hand computation, determinism,
clustering by clean utterance, seeds averaged before pairing, the CLI and RESULTS.md section."""

import math
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sitool.cli import main
from sitool.datadir import DataDir
from sitool.scoring import paired
from sitool.scoring.aggregate import KEYS, headline_targets, pool_types
from sitool.scoring.score import load_si_scores, resolve_decodes, score_all
from sitool.testing.data_dirs import make_tv_data_dir
from sitool.testing.decode_dirs import with_correlation, write_decode_dir
from sitool.testing.noisy_dirs import make_noise_file, make_noisy_data_dir

N_CLEAN = 16
GAIN = 0.20      # planted relative gain of "better" over "base"


def _rho_tables():
    """Per-utterance PPMC of each model: clean utterance i has a base level; its mixtures
    (two noise types, one SNR) share it (correlated within the sentence)."""
    rng = np.random.default_rng(123)
    level = rng.uniform(0.35, 0.65, N_CLEAN)
    noise = {"base": np.zeros(N_CLEAN), "better": rng.normal(0, 0.03, N_CLEAN)}
    rho = {"base": level, "better": (1 + GAIN) * level + noise["better"],
           # same distribution as base, drawn independently of it
           "equal": rng.uniform(0.35, 0.65, N_CLEAN),
           # two seeds whose utterance scores average exactly to base
           "twin": level + 0.05, "twin_seed2": level - 0.05}
    return rho


def _predictor(rho: np.ndarray, data: DataDir, clean_utts: list, noisy_shift: float):
    """Predictions with PPMC rho[i] (minus ``noisy_shift`` for a mixture) for every target of
    clean utterance i (sorted ids) and of each of its mixtures."""
    index = {utt: i for i, utt in enumerate(clean_utts)}

    def predict(utt, ref):
        row = data.mix.get(utt)
        r = rho[index[row.clean_utt if row is not None else utt]]
        r -= noisy_shift if row is not None else 0.0
        rng = np.random.default_rng(sum(map(ord, utt)))
        cols = [ref[:, j] if np.ptp(ref[:, j]) == 0 else with_correlation(ref[:, j], r, rng)
                for j in range(ref.shape[1])]
        return np.stack(cols, axis=1)

    return predict


@pytest.fixture(scope="module")
def paired_recipe(tmp_path_factory):
    """data/test (16 utts), data/test_noisy (white, white2 (non-babble), babble4 at 0 dB: 48
    mixtures), and
    exp/{base,better,equal,twin,twin_seed2} with planted per-utterance PPMC."""
    root = tmp_path_factory.mktemp("paired")
    clean = make_tv_data_dir(root / "data" / "test", num_utts=N_CLEAN)
    white = make_noise_file(root / "noise" / "white.wav", 3.0, seed=1, kind="white")
    white2 = make_noise_file(root / "noise" / "white2.wav", 3.0, seed=3, kind="white")
    babble = make_noise_file(root / "noise" / "babble4.wav", 3.0, seed=2, kind="babble")
    noisy = make_noisy_data_dir(root / "data" / "test_noisy", clean,
                                [("white", "non-babble", white), ("white2", "non-babble", white2),
                                 ("babble4", "babble", babble)], [0])
    clean_utts = sorted(DataDir(clean).utts)
    for tag, rho in _rho_tables().items():
        for data_dir in (clean, noisy):
            data = DataDir(data_dir)
            write_decode_dir(root / "exp" / tag, data_dir,
                             _predictor(rho, data, clean_utts, noisy_shift=0.1), model="si",
                             config={"model": {"type": "si"},
                                     "seed": 2 if tag.endswith("seed2") else 1})
    return root


@pytest.fixture
def in_paired(paired_recipe):
    cwd = os.getcwd()
    os.chdir(paired_recipe)
    yield paired_recipe
    os.chdir(cwd)


def _comparisons(baselines, exps=None, by_type=False):
    experiments = resolve_decodes(exps or [f"exp/{t}" for t in _rho_tables()], baselines)
    score_all(experiments, se=False)
    si = pool_types(load_si_scores(experiments), by_type)
    return paired.paired_comparisons(si, experiments.models, experiments.baselines, KEYS,
                                     headline_targets(si))


def _row(df, model, baseline, category):
    hit = df[(df["model"] == model) & (df["baseline"] == baseline) & (df["category"] == category)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_planted_gain_found(in_paired):
    df = _comparisons(["exp/base"])
    rho = _rho_tables()
    for category, shift in [("clean", 0.0), ("babble", 0.1), ("non-babble", 0.1)]:
        r = _row(df, "better", "base", category)
        assert r["n_pairs"] == N_CLEAN * (2 if category == "non-babble" else 1)
        assert r["n_clusters"] == N_CLEAN
        a, b = rho["better"] - shift, rho["base"] - shift
        # point estimates are the plain paired means of the planted scores
        assert r["mean_a"] == pytest.approx(a.mean(), abs=1e-5)
        assert r["diff"] == pytest.approx((a - b).mean(), abs=1e-5)
        assert r["gain"] == pytest.approx(100 * (a.mean() / b.mean() - 1), abs=1e-3)
        assert r["excludes_zero"] and r["diff_lo"] > 0 and paired.verdict(r) == "better"
        assert r["diff_lo"] < r["diff"] < r["diff_hi"] and r["gain_lo"] < r["gain"] < r["gain_hi"]
        assert r["gain_lo"] > 0
    # the planted +20 % on clean speech, inside its CI
    clean = _row(df, "better", "base", "clean")
    assert abs(clean["gain"] - 100 * GAIN) < 3 and clean["gain_lo"] < 100 * GAIN < clean["gain_hi"]
    # the reverse direction comes out as "worse" when base is compared against better
    rev = _comparisons(["exp/better"], exps=["exp/base", "exp/better"])
    assert paired.verdict(_row(rev, "base", "better", "clean")) == "worse"


def test_equal_models_inside_noise(in_paired):
    df = _comparisons(["exp/base"])
    for category in ("clean", "babble", "non-babble"):
        r = _row(df, "equal", "base", category)
        assert r["diff_lo"] < 0 < r["diff_hi"] and r["gain_lo"] < 0 < r["gain_hi"]
        assert not r["excludes_zero"] and paired.verdict(r) == "inside noise"
        # an honest width: the difference of two independent uniform(0.35, 0.65) draws
        # has sd 0.12; over 16 utterances the 95 % CI is about +-0.06
        assert 0.03 < (r["diff_hi"] - r["diff_lo"]) / 2 < 0.12


def test_seeds_averaged_before_pairing(in_paired):
    df = _comparisons(["exp/base"])
    r = _row(df, "twin", "base", "clean")
    # twin = base + 0.05, twin_seed2 = base - 0.05 per utterance: the seed mean is base exactly,
    # so every paired difference is 0 and so is the whole bootstrap distribution
    assert r["n_pairs"] == N_CLEAN
    assert abs(r["diff"]) < 1e-5 and abs(r["diff_lo"]) < 1e-5 and abs(r["diff_hi"]) < 1e-5
    assert not r["excludes_zero"]


def test_pooled_types_cluster_by_clean_utterance(in_paired):
    pooled = _comparisons(["exp/base"])
    by_type = _comparisons(["exp/base"], by_type=True)
    assert set(by_type["noise_type"]) == {"clean", "white", "white2", "babble4"}
    nb = _row(pooled, "equal", "base", "non-babble")
    assert nb["n_pairs"] == 2 * N_CLEAN and nb["n_clusters"] == N_CLEAN
    # both noise types of a sentence carry the same scores here: pooling them must not narrow
    # the CI (the clean utterance is resampled, not the mixture), so pooled = one type alone
    white = by_type[(by_type["model"] == "equal") & (by_type["noise_type"] == "white")].iloc[0]
    assert white["n_pairs"] == N_CLEAN
    for key in ("diff", "diff_lo", "diff_hi", "gain_lo", "gain_hi"):
        assert nb[key] == pytest.approx(white[key], abs=1e-4)


def _pairs(a, b, clusters):
    return pd.DataFrame({"clean_utt": clusters, "a": a, "b": b})


def test_bootstrap_by_hand():
    # cluster x: differences 0 and 2; cluster y: 9. Each resample of the two clusters is xx, xy,
    # yx or yy with probability 1/4: mean difference 1, 11/3, 11/3 or 9.
    pairs = _pairs([1.0, 3.0, 10.0], [1.0, 1.0, 1.0], ["x", "x", "y"])
    stats = paired.compare_pairs(pairs)
    assert stats["n_pairs"] == 3 and stats["n_clusters"] == 2
    assert stats["diff"] == pytest.approx(11 / 3)
    assert (stats["diff_lo"], stats["diff_hi"]) == pytest.approx((1.0, 9.0))
    assert stats["gain"] == pytest.approx(100 * (14 / 3 - 1))
    assert (stats["gain_lo"], stats["gain_hi"]) == pytest.approx((100.0, 900.0))
    # a few resamples, recomputed with plain loops over the pairs
    idx = np.concatenate(list(paired.bootstrap_indices(2, n_boot=7, seed=3)))
    assert idx.shape == (7, 2)
    sum_a, sum_b, count = paired.cluster_sums(pairs)
    got_a, got_b = paired.bootstrap_means(sum_a, sum_b, count, n_boot=7, seed=3)
    names = sorted(set(pairs["clean_utt"]))
    for k, draw in enumerate(idx):
        rows = pd.concat([pairs[pairs["clean_utt"] == names[i]] for i in draw])
        assert got_a[k] == pytest.approx(rows["a"].mean())
        assert got_b[k] == pytest.approx(rows["b"].mean())
    # the percentile interval, by hand on a sorted sample of 41 values
    sample = np.arange(41, dtype=float)
    assert paired.percentile_ci(sample) == pytest.approx((1.0, 39.0))
    # the expanded tail: Phi(-sqrt(12/11) * 2.200985) = Phi(-2.298853), t_11,0.975 = 2.200985
    assert paired.expanded_tail(12) == pytest.approx(0.010757, abs=2e-6)
    assert paired.expanded_tail(10_000) == pytest.approx(0.025, abs=1e-4)
    assert paired.expanded_tail(2) < 1e-4 and paired.expanded_tail(1) == 0.0


def test_bootstrap_blocks_are_one_draw(monkeypatch):
    one = np.concatenate(list(paired.bootstrap_indices(5, n_boot=40, seed=2)))
    monkeypatch.setattr(paired, "CHUNK", 12)            # blocks of 2 resamples
    blocks = list(paired.bootstrap_indices(5, n_boot=40, seed=2))
    assert len(blocks) == 20 and np.array_equal(np.concatenate(blocks), one)


def test_deterministic_and_seeded():
    rng = np.random.default_rng(0)
    pairs = _pairs(rng.uniform(0.4, 0.6, 30), rng.uniform(0.4, 0.6, 30), [f"u{i}" for i in range(30)])
    first, again = paired.compare_pairs(pairs), paired.compare_pairs(pairs.sample(frac=1, random_state=1))
    assert first == again                                   # row order does not matter either
    other = paired.compare_pairs(pairs, seed=1)
    assert other["diff"] == first["diff"] and other["diff_lo"] != first["diff_lo"]


def test_cluster_bootstrap_counts_sentences_not_mixtures():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0.3, 0.7, 12), rng.uniform(0.3, 0.7, 12)
    utts = [f"u{i}" for i in range(12)]
    single = paired.compare_pairs(_pairs(a, b, utts))
    # four mixtures of each sentence with the same scores: no new information, the same CI
    four = _pairs(np.repeat(a, 4), np.repeat(b, 4), np.repeat(utts, 4))
    clustered = paired.compare_pairs(four)
    assert clustered["n_pairs"] == 48 and clustered["n_clusters"] == 12
    for key in ("diff", "diff_lo", "diff_hi", "gain_lo", "gain_hi"):
        assert clustered[key] == pytest.approx(single[key])
    # treating every mixture as independent would shrink the interval by about a factor 2
    naive = paired.compare_pairs(four.assign(clean_utt=[f"m{i}" for i in range(48)]))
    ratio = (naive["diff_hi"] - naive["diff_lo"]) / (single["diff_hi"] - single["diff_lo"])
    assert 0.4 < ratio < 0.65


def test_one_sentence_has_no_interval():
    stats = paired.compare_pairs(_pairs([0.9, 0.8], [0.5, 0.5], ["u0", "u0"]))
    assert stats["n_clusters"] == 1 and stats["diff"] == pytest.approx(0.35)
    assert math.isnan(stats["diff_lo"]) and math.isnan(stats["gain_hi"])
    row = pd.Series({**stats, "excludes_zero": False})
    assert paired.verdict(row) == "no CI (1 sentence)"


def test_comparison_list():
    assert paired.comparison_list(["c", "m", "j"], ["c", "m"]) == [("m", "c"), ("j", "c"), ("j", "m")]
    assert paired.comparison_list(["a"], []) == []
    assert paired.fmt_ci(9.43, 3.12, 15.84) == "+9.4 % [+3.1, +15.8]"
    assert paired.fmt_ci(math.nan, 1, 2) == "n/a"


def test_cli_printout_and_results_md(in_paired):
    runner = CliRunner()
    res = runner.invoke(main, ["score", "--exp", "exp/base", "--exp", "exp/better", "--baseline",
                               "exp/base", "--no-se", "--results", "RESULTS.md", "--no-plots"])
    assert res.exit_code == 0, res.output
    df = _comparisons(["exp/base"], exps=["exp/base", "exp/better"])
    clean = _row(df, "better", "base", "clean")
    cell = paired.fmt_ci(clean["gain"], clean["gain_lo"], clean["gain_hi"])
    assert "== Paired comparisons (95 % CI over test utterances) ==" in res.output
    line = [ln for ln in res.output.splitlines() if ln.startswith("test: clean") and "better vs base" in ln]
    assert len(line) == 1 and cell in line[0] and line[0].rstrip().endswith("better")
    assert "16 (16)" in line[0]
    text = open("RESULTS.md").read()
    section = text.split("## Paired comparisons (95 % CI over test utterances)")[1].split("\n## ")[0]
    # RESULTS.md pools the test sets: conditions without the set prefix
    assert f"| clean | better vs base | 16 (16) |" in section and cell in section
    assert "percentile bootstrap (small-sample corrected), 10000 resamples" in section
    off = runner.invoke(main, ["score", "--exp", "exp/base", "--exp", "exp/better", "--baseline",
                               "exp/base", "--no-se", "--no-ci"])
    assert off.exit_code == 0 and "Paired comparisons" not in off.output


def test_comparison_list_compares_every_ssl_model_with_the_filterbank_references():
    from sitool.scoring.paired import comparison_list

    models = ["si_clean", "si_multi", "joint", "si_fbank", "si_fbank_multi"]
    pairs = comparison_list(models, ["si_clean", "si_multi"], references=["si_fbank", "si_fbank_multi"])
    assert pairs == [("si_multi", "si_clean"), ("joint", "si_clean"), ("joint", "si_multi"),
                     ("si_clean", "si_fbank"), ("si_multi", "si_fbank"), ("joint", "si_fbank"),
                     ("si_clean", "si_fbank_multi"), ("si_multi", "si_fbank_multi"),
                     ("joint", "si_fbank_multi")]
    assert comparison_list(models[:3], ["si_clean"]) == [("si_multi", "si_clean"), ("joint", "si_clean")]


def _se_rows(system, exp, stoi, snr=-5):
    """SE score rows of 4 sentences x 2 noise types (``stoi[i]`` for sentence i, both types)."""
    return pd.DataFrame([{"set": "test_noisy", "utt": f"u{i}-{t}", "clean_utt": f"u{i}",
                          "category": "babble", "noise_type": t, "snr_db": snr,
                          "system": system, "exp": exp, "pesq": 1.0 + s, "stoi": s,
                          "si_sdr": np.nan if system == "sparse" and i == 0 else 10 * s}
                         for i, s in enumerate(stoi) for t in ("babble3", "babble8")])


def test_enhanced_audio_against_its_input_pairs_mixtures_and_averages_seeds():
    noisy = _se_rows("noisy input", "noisy input", [0.50, 0.60, 0.55, 0.65])
    # two seeds of "joint" straddle noisy + 0.05: their mean per mixture is exactly that
    joint = pd.concat([_se_rows("joint", "joint", [0.60, 0.70, 0.65, 0.75]),
                       _se_rows("joint", "joint_seed2", [0.50, 0.60, 0.55, 0.65])])
    same = _se_rows("same", "same", [0.50, 0.60, 0.55, 0.65])            # the identity
    sparse = _se_rows("sparse", "sparse", [0.40, 0.50, 0.45, 0.55])      # one SI-SDR missing
    pooled = pool_types(pd.concat([noisy, joint, same, sparse], ignore_index=True), False)
    df = paired.se_against_input(pooled, ["joint", "same", "sparse", "absent"], KEYS)
    assert set(df["system"]) == {"joint", "same", "sparse"}    # no rows: no comparison
    assert len(df) == 3 * 3                                     # systems x metrics, one cell

    def row(system, metric):
        hit = df[(df["system"] == system) & (df["metric"] == metric)]
        assert len(hit) == 1
        return hit.iloc[0]

    r = row("joint", "stoi")
    assert r["n_pairs"] == 8 and r["n_clusters"] == 4          # mixtures paired, sentences resampled
    assert r["diff"] == pytest.approx(0.05) and r["mean_b"] == pytest.approx(0.575)
    assert r["diff_lo"] == pytest.approx(0.05) and r["excludes_zero"]
    assert paired.verdict(r) == "better"
    assert row("joint", "si_sdr")["diff"] == pytest.approx(0.5)
    r = row("same", "pesq")
    assert r["diff"] == 0 and not r["excludes_zero"] and paired.verdict(r) == "inside noise"
    r = row("sparse", "si_sdr")
    assert r["n_pairs"] == 6 and r["n_clusters"] == 3          # the missing score is not paired
    assert paired.verdict(r) == "worse" and row("sparse", "stoi")["n_pairs"] == 8
    text = paired.se_text_section(df, KEYS)
    assert "== Speech enhancement vs the noisy input" in text
    line = next(l for l in text.splitlines() if "joint" in l)
    assert "8 (4)" in line and "0.575 → 0.625, +0.0500 [+0.0500, +0.0500] better" in line
    md = paired.se_markdown_lines(df, KEYS)
    assert md[0].startswith("### Enhanced audio vs the noisy input")
    table = [l for l in "\n".join(md).splitlines() if l.startswith("|")]
    assert len(table) == 2 + 3 and table[1].count("|") == table[0].count("|")
    assert paired.se_text_section(df.iloc[0:0], KEYS) == ""
