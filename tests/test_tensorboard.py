"""``logging.tensorboard: true``: TensorBoard event files beside curves.png, one point per
epoch, equal to the training history."""

import pytest

from sitool.models.config import ModelConfig, SIConfig, SSLConfig
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import DataConfig, LoggingConfig, OptimConfig, TrainConfig
from sitool.training.trainer import train


def test_tensorboard_event_files_follow_the_history(tmp_path):
    pytest.importorskip("tensorboard", reason="needs the optional tensorboard package")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    toy = make_toy_data_dir(tmp_path / "toy", num_utts=3)
    cfg = TrainConfig(
        model=ModelConfig(type="si", ssl=SSLConfig(model=str(make_tiny_ssl_model(tmp_path / "ssl"))),
                          si=SIConfig(gru_units=[8])),
        data=DataConfig(train_sets=[str(toy)], dev_sets=[str(toy)]),
        optim=OptimConfig(epochs=2, warmup_steps=0), logging=LoggingConfig(tensorboard=True),
        device="cpu", threads=1)
    exp = train(cfg, tmp_path / "exp" / "si", progress=False)
    assert (exp / "curves.png").is_file()
    events = EventAccumulator(str(exp / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/train", "loss/dev", "dev/mean_ppmc", "lr/heads", "dev_ppmc/LA",
            "dev_ppmc/TTCD"} <= tags
    history = load_checkpoint(exp / "checkpoints" / "last.pt")["history"]
    ppmc = events.Scalars("dev/mean_ppmc")
    assert [e.step for e in ppmc] == [1, 2]
    assert [e.value for e in ppmc] == pytest.approx([h["dev_ppmc"] for h in history], rel=1e-6)
    assert [e.value for e in events.Scalars("loss/train")] == \
        pytest.approx([h["train_loss"] for h in history], rel=1e-6)
