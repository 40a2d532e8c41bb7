"""Optional TensorBoard event files of training (``logging.tensorboard: true`` in the config),
beside ``curves.png``: ``exp/<tag>/tensorboard/``, one point per epoch for the train and dev
losses (and their SI/SE parts), dev mean PPMC and per-target PPMC, and the heads' learning
rate. ``tensorboard --logdir exp`` then shows every experiment. A resumed run continues the
curves (events past the resumed epoch are purged). Needs the ``tensorboard`` package (the
optional ``tensorboard`` extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from sitool.errors import SitoolError

TB_DIR = "tensorboard"


class EpochWriter:
    """Writes one epoch's history entry (see ``trainer.run_epoch``) as scalars."""

    def __init__(self, exp_dir: str | os.PathLike, first_epoch: int, names: Sequence[str]):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise SitoolError("logging.tensorboard: true needs the tensorboard package "
                              "(pip install 'tensorboard==2.21.0'), or set it to false") from None
        self.names = list(names)
        self.path = Path(exp_dir) / TB_DIR
        self.writer = SummaryWriter(str(self.path), purge_step=first_epoch)

    def add(self, h: dict) -> None:
        epoch = h["epoch"]
        scalars = {"loss/train": h["train_loss"], "loss/train_si": h.get("train_si"),
                   "loss/train_se": h.get("train_se"), "loss/dev": h["dev_loss"],
                   "dev/mean_ppmc": h.get("dev_ppmc"), "lr/heads": h["lr"]}
        for name, value in zip(self.names, h.get("dev_ppmc_targets") or []):
            scalars[f"dev_ppmc/{name}"] = value
        for tag, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(tag, float(value), epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
