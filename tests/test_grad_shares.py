"""sitool grad-shares: the encoder gradients of a trained joint model's SI and SE losses."""

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sitool.cli import main
from sitool.config import from_dict
from sitool.errors import SitoolError
from sitool.testing.noisy_dirs import make_noisy_copy
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.config import TrainConfig
from sitool.training.experiment import load_trained_model
from sitool.training.grad_shares import gradient_shares, shared_parameters, summarise
from sitool.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def joint_exp(tmp_path_factory):
    """A tiny joint model (transformer fine-tuned) trained 2 epochs on clean + noisy toy data."""
    root = tmp_path_factory.mktemp("grad_shares")
    paths = make_toy_setup(root, num_train=4, num_dev=2)
    noisy = make_noisy_copy(paths["train"], root / "data" / "train_noisy")
    cfg = toy_config("joint", paths["ssl"], [paths["train"], noisy], [noisy], epochs=2,
                     freeze="cnn")
    exp = train(from_dict(TrainConfig, cfg, "test config"), root / "exp" / "train_joint",
                progress=False)
    return {"exp": exp, "train": paths["train"], "noisy": noisy, "ssl": paths["ssl"], "root": root}


def test_grad_shares_cli_measures_each_category_and_reruns_identically(joint_exp, tmp_path):
    out = tmp_path / "shares.tsv"
    args = ["grad-shares", "--exp", str(joint_exp["exp"]), "--per-category", "3", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, sep="\t")
    assert list(rows["category"]) == ["clean"] * 3 + ["non-babble"] * 3   # toy data: no babble
    assert rows["utt"].is_unique
    assert (rows["grad_si"] > 0).all() and (rows["grad_se"] > 0).all()
    assert rows["ratio"].to_numpy() == pytest.approx((rows["grad_se"] / rows["grad_si"]).to_numpy(),
                                                     rel=1e-4)                  # lambda = 1
    assert rows["cosine"].between(-1, 1).all()
    assert "non-babble" in result.output and "ratio" in result.output
    again = tmp_path / "again.tsv"
    assert CliRunner().invoke(main, args[:-1] + [str(again)]).exit_code == 0
    assert again.read_text() == out.read_text()         # no dropout: deterministic


def test_grad_shares_scale_with_lambda_and_a_skipped_category_does_not_pull(joint_exp):
    trained = load_trained_model(joint_exp["exp"])
    base = gradient_shares(trained, per_category=2)
    trained.config.model.se.weight = 3.0
    trained.config.model.se.skip_categories = ["clean"]
    scaled = gradient_shares(trained, per_category=2)
    assert list(scaled["utt"]) == list(base["utt"])
    noisy = scaled["category"] == "non-babble"
    assert scaled["grad_si"].to_numpy() == pytest.approx(base["grad_si"].to_numpy(), rel=1e-5)
    assert scaled.loc[noisy, "ratio"].to_numpy() == pytest.approx(
        3 * base.loc[noisy, "ratio"].to_numpy(), rel=1e-4)
    assert (scaled.loc[~noisy, "grad_se"] == 0).all() and (scaled.loc[~noisy, "ratio"] == 0).all()
    summary = summarise(scaled).set_index("category")
    assert summary.loc["all", "utterances"] == 4
    assert summary.loc["clean", "weighted_grad_se"] == 0


def test_grad_shares_refuse_models_without_a_shared_trainable_encoder(joint_exp, tmp_path):
    trained = load_trained_model(joint_exp["exp"])
    for p in trained.model.frontend.encoder.parameters():
        p.requires_grad = False
    with pytest.raises(SitoolError, match=r"encoder is frozen .*no parameter gets both"):
        shared_parameters(trained)
    cfg = toy_config("si", joint_exp["ssl"], [joint_exp["train"]], [joint_exp["train"]], epochs=1)
    si_exp = train(from_dict(TrainConfig, cfg, "test config"), tmp_path / "si", progress=False)
    result = CliRunner().invoke(main, ["grad-shares", "--exp", str(si_exp)])
    assert result.exit_code == 1
    assert "error: " in result.output and "'si' model has one loss" in result.output
    assert not (Path(si_exp) / "grad_shares").exists()
