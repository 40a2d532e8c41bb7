"""Per-speaker target normalisation (``data.normalise: speaker``) on speakers whose targets
have different origins: the statistics in the checkpoint and the exported model, speaker-centred
training targets, de-normalisation for a training speaker (``--speaker``) and for an unseen one
(the global offset), what decode and the invert sidecar say about it."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.testing.data_dirs import EMA_TARGETS, make_offset_speaker_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig
from sitool.training.normalisation import TargetNormaliser, fit_normaliser
from sitool.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

# UL_x origins like the user's corpus (132 / 64 / 34 mm), UL_y offsets too, TT_y none.
TRAIN = {"s1": [132.0, 10.0, 0.0], "s2": [64.0, -20.0, 0.0]}
DEV = {"s3": [34.0, 5.0, 0.0]}
TEST = {"s1": [132.0, 10.0, 0.0], "s4": [100.0, 0.0, 0.0]}   # s1 known, s4 unseen


def _frames(data_dir, speaker):
    data = DataDir(data_dir)
    return np.concatenate([data.target_array(u) for u in data.utts
                           if data.utt2spk[u] == speaker]).astype(np.float64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("speaker_norm")
    train_dir = make_offset_speaker_data_dir(root / "data" / "train", TRAIN, 3, seed=0)
    dev_dir = make_offset_speaker_data_dir(root / "data" / "dev", DEV, 2, seed=1)
    test_dir = make_offset_speaker_data_dir(root / "data" / "test", TEST, 1, seed=2)
    ssl = make_tiny_ssl_model(root / "ssl_tiny")
    cfg = from_dict(TrainConfig, {
        "model": {"type": "si", "ssl": {"model": str(ssl), "freeze": "all"},
                  "si": {"gru_units": [8], "dropout": 0.0}},
        "data": {"train_sets": [str(train_dir)], "dev_sets": [str(dev_dir)],
                 "normalise": "speaker"},
        "optim": {"epochs": 1, "warmup_steps": 0}, "device": "cpu", "threads": 1}, "test")
    exp = train(cfg, root / "exp" / "train_si_spk", progress=False)
    return {"exp": exp, "train": train_dir, "dev": dev_dir, "test": test_dir, "root": root}


def test_per_speaker_statistics_are_stored_in_the_checkpoint(trained):
    state = load_checkpoint(trained["exp"] / "checkpoints" / "best.pt")["normaliser"]
    assert state["kind"] == "speaker" and sorted(state["speakers"]) == ["s1", "s2"]
    s1, s2 = _frames(trained["train"], "s1"), _frames(trained["train"], "s2")
    np.testing.assert_allclose(state["speakers"]["s1"], s1.mean(0), rtol=1e-9)
    np.testing.assert_allclose(state["speakers"]["s2"], s2.mean(0), rtol=1e-9)
    # the global offset: the mean of the speakers' means (not weighted by frames)
    np.testing.assert_allclose(state["mean"], (s1.mean(0) + s2.mean(0)) / 2, rtol=1e-9)
    # the scale: the global std of the speaker-centred frames (pooled within-speaker std)
    centred = np.concatenate([s1 - s1.mean(0), s2 - s2.mean(0)])
    np.testing.assert_allclose(state["std"], centred.std(0), rtol=1e-9)
    assert max(state["std"]) < 5          # the offsets (tens of mm) are not in the scale
    # global statistics of the same data: the offsets swamp UL_x's movement
    data = DataDir(trained["train"])
    glob = fit_normaliser([data], EMA_TARGETS, [0, 1, 2])
    assert glob.kind == "global" and glob.std[0] > 10 * state["std"][0]
    assert "speakers" not in glob.to_state()


def test_training_targets_are_centred_per_speaker_and_dev_speakers_on_their_own_mean(trained):
    from sitool.training.data import DataNeeds, UtteranceDataset

    payload = load_checkpoint(trained["exp"] / "checkpoints" / "best.pt")
    normaliser = TargetNormaliser.from_state(payload["normaliser"])
    needs = DataNeeds(audio=False, feats=False, clean_audio=False, clean_feats=False,
                      targets=True)
    train_set = UtteranceDataset([trained["train"]], needs, normaliser=normaliser,
                                 columns=[0, 1, 2])
    for spk in ("s1", "s2"):
        items = [train_set[i]["targets"] for i, (_, u) in enumerate(train_set.items)
                 if u.startswith(spk)]
        np.testing.assert_allclose(np.concatenate(items).mean(0), 0.0, atol=1e-5)
    # dev speaker s3 is unseen in training: centred on its own dev mean for the dev loss
    dev_norm = normaliser.with_own_means([DataDir(trained["dev"])], [0, 1, 2])
    assert "s3" not in normaliser.speaker_means
    dev_set = UtteranceDataset([trained["dev"]], needs, normaliser=dev_norm, columns=[0, 1, 2])
    dev = np.concatenate([dev_set[i]["targets"] for i in range(len(dev_set))])
    np.testing.assert_allclose(dev.mean(0), 0.0, atol=1e-5)
    log = (trained["exp"] / "train.log").read_text()
    assert "target normalisation (per speaker, 2 speakers" in log


def test_known_speaker_gets_its_own_mean_and_an_unseen_one_the_global_offset(trained):
    from sitool.decode import decode
    from sitool.inference import load_inverter

    state = load_checkpoint(trained["exp"] / "checkpoints" / "best.pt")["normaliser"]
    offset, s1_mean = np.asarray(state["mean"]), np.asarray(state["speakers"]["s1"])
    test = DataDir(trained["test"])
    plain = load_inverter(trained["exp"])
    as_s1 = load_inverter(trained["exp"], speaker="s1")
    unseen_utt = next(u for u in test.utts if test.utt2spk[u] == "s4")
    known_utt = next(u for u in test.utts if test.utt2spk[u] == "s1")
    audio = test.audio(unseen_utt)
    by_default, by_s1 = plain.invert(audio).targets, as_s1.invert(audio).targets
    # same prediction, de-normalised with s1's origin instead of the training speakers' mean
    np.testing.assert_allclose(by_s1 - by_default, np.broadcast_to(s1_mean - offset,
                                                                   by_s1.shape), atol=1e-3)
    assert abs(by_s1[:, 0].mean() - by_default[:, 0].mean()) > 30     # 132 vs (132 + 64) / 2

    (out,) = decode(trained["exp"], [trained["test"]], progress=False)
    decoded = {u: np.load(out / "tv" / f"{u}.npy") for u in test.utts}
    np.testing.assert_allclose(decoded[unseen_utt], by_default, atol=1e-4)
    np.testing.assert_allclose(decoded[known_utt], as_s1.invert(test.audio(known_utt)).targets,
                               atol=1e-4)
    meta = yaml.safe_load((out / "decode.yaml").read_text())
    assert meta["normalisation"]["own_statistics"] == ["s1"]
    assert meta["normalisation"]["global_offset"] == ["s4"]
    assert "compare shapes" in meta["normalisation"]["rule"]


def test_invert_sidecar_states_the_rule_and_speaker_chooses_the_statistics(trained, tmp_path):
    test = DataDir(trained["test"])
    utt = next(u for u in test.utts if test.utt2spk[u] == "s4")
    wav = tmp_path / "new_speaker.wav"
    sf.write(wav, test.audio(utt), 16000)
    out = tmp_path / "inv"
    args = ["invert", str(wav), "--model", str(trained["exp"]), "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    side = json.loads((out / "new_speaker.json").read_text())
    norm = side["targets"]["normalisation"]
    assert norm["kind"] == "speaker" and norm["speaker"] is None
    assert norm["training_speakers"] == ["s1", "s2"]
    assert "speaker unseen" in norm["note"] and "training speakers' mean origin" in norm["note"]
    assert "compare shapes, not absolute positions" in norm["note"]
    unseen = np.load(out / "new_speaker.npy")

    # another --speaker redoes the outputs (no --overwrite needed)
    res = CliRunner().invoke(main, args + ["--speaker", "s2"])
    assert res.exit_code == 0, res.output
    side = json.loads((out / "new_speaker.json").read_text())
    assert side["targets"]["normalisation"]["speaker"] == "s2"
    state = load_checkpoint(trained["exp"] / "checkpoints" / "best.pt")["normaliser"]
    shift = np.asarray(state["speakers"]["s2"]) - np.asarray(state["mean"])
    np.testing.assert_allclose(np.load(out / "new_speaker.npy") - unseen,
                               np.broadcast_to(shift, unseen.shape), atol=1e-3)

    res = CliRunner().invoke(main, args + ["--speaker", "s9"])
    assert res.exit_code != 0
    assert "--speaker s9: not a training speaker" in res.output
    assert "known speakers: s1, s2" in res.output


def test_speaker_option_needs_a_per_speaker_model():
    from sitool.inference import check_speaker

    glob = TargetNormaliser(EMA_TARGETS, np.zeros(3), np.ones(3))
    trained = SimpleNamespace(normaliser=glob, checkpoint=Path("exp/x/checkpoints/best.pt"))
    with pytest.raises(SitoolError, match="trained with data.normalise: global .*drop --speaker"):
        check_speaker(trained, "s1")
    assert check_speaker(trained, None) is None


def test_exported_model_keeps_the_speaker_statistics(trained, tmp_path):
    from sitool.export import CONFIG_FILE, export_model
    from sitool.inference import load_inverter

    model = export_model(trained["exp"], tmp_path / "model")
    meta = json.loads((model / CONFIG_FILE).read_text())
    assert meta["normalisation"]["kind"] == "speaker"
    assert sorted(meta["normalisation"]["speakers"]) == ["s1", "s2"]
    audio = DataDir(trained["test"]).audio(DataDir(trained["test"]).utts[0])
    for speaker in (None, "s2"):
        exported = load_inverter(model, speaker=speaker).invert(audio).targets
        original = load_inverter(trained["exp"], speaker=speaker).invert(audio).targets
        np.testing.assert_array_equal(exported, original)


def test_normalise_key_is_checked():
    with pytest.raises(SitoolError, match="speakers"):
        from_dict(TrainConfig, {"data": {"normalise": "speakers"}}, "conf/x.yaml")
    with pytest.raises(SitoolError, match="did you mean 'data.normalise'"):
        from_dict(TrainConfig, {"data": {"normalize": "speaker"}}, "conf/x.yaml")
