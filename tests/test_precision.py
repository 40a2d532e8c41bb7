"""``precision``: bf16 autocast training tracks fp32; checkpoints stay float32; bad values fail."""

import numpy as np
import pytest
import torch

from sitool.config import from_dict
from sitool.errors import SitoolError
from sitool.precision import resolve_precision
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig
from sitool.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bf16_training_tracks_fp32(tmp_path):
    """A joint model fine-tuning its (tiny) encoder, 2 epochs of 2 steps: the bf16 run's train
    and dev losses stay within 1 % of the fp32 run's, every epoch; weights saved as float32."""
    paths = make_toy_setup(tmp_path, num_train=4, num_dev=2)
    histories = {}
    for precision in ("fp32", "bf16"):
        cfg = from_dict(TrainConfig, toy_config(
            "joint", paths["ssl"], [paths["train"]], [paths["dev"]], epochs=2, freeze="cnn",
            precision=precision, data={"batch_seconds": 3.0, "max_batch_utts": 2}))
        exp = train(cfg, tmp_path / f"exp_{precision}", progress=False)
        state = load_checkpoint(exp / "checkpoints" / "last.pt")
        assert all(v.dtype in (torch.float32, torch.int64) for v in state["model"].values()
                   if v.is_floating_point() or v.dtype == torch.int64)
        assert (exp / "train.log").read_text().count(f"precision {precision}") == 1
        histories[precision] = state["history"]
    for key in ("train_loss", "dev_loss"):
        a = np.array([h[key] for h in histories["fp32"]])
        b = np.array([h[key] for h in histories["bf16"]])
        assert not np.allclose(a, b, rtol=0, atol=1e-7)      # bf16 did change the arithmetic
        np.testing.assert_allclose(b, a, rtol=0.01)
    # inference: the bf16 CPU fast path (weights stored in bf16) tracks fp32; the experiment's
    # own precision is the default
    from sitool.datadir import DataDir
    from sitool.inference import load_inverter

    audio = DataDir(paths["dev"]).audio(DataDir(paths["dev"]).utts[0])
    fp32 = load_inverter(tmp_path / "exp_fp32")
    bf16 = load_inverter(tmp_path / "exp_fp32", precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert load_inverter(tmp_path / "exp_bf16").precision == "bf16"
    weight = bf16.model.frontend.encoder.model.encoder.layers[0].feed_forward.output_dense.weight
    assert weight.dtype == torch.bfloat16
    x, y = fp32.invert(audio), bf16.invert(audio)
    assert y.targets.dtype == np.float32 and not np.array_equal(x.targets, y.targets)
    spread = fp32.trained.normaliser.std          # the targets' spread in the training data
    assert np.max(np.abs(x.targets - y.targets) / spread) < 0.01


def test_precision_resolution():
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision(None, "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu", training=True) == "bf16"
    with pytest.raises(SitoolError, match="fp16 trains on CUDA only"):
        resolve_precision("fp16", "cpu", training=True)
    with pytest.raises(SitoolError, match="precision must be one of"):
        resolve_precision("fp8", "cpu")
