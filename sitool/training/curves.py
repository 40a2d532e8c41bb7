"""Training curves: dev score and losses per epoch, from the checkpoint history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from sitool.plotting import save_figure, use_agg


def plot_curves(history: Sequence[dict], out: str | os.PathLike, title: str = "") -> Path:
    """Two panels: dev mean PPMC per epoch (or dev loss for SE-only models) and train/dev loss."""
    plt = use_agg()
    epochs = [h["epoch"] for h in history]
    fig, (ax_score, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.2))
    if any(h.get("dev_ppmc") is not None for h in history):
        ax_score.plot(epochs, [h.get("dev_ppmc") for h in history], "o-", label="dev mean PPMC")
        ax_score.set_ylabel("mean PPMC")
    else:
        ax_score.plot(epochs, [h["dev_loss"] for h in history], "o-", label="dev SE loss")
        ax_score.set_ylabel("loss")
    best = [h["epoch"] for h in history if h.get("best")]
    for epoch in best[-1:]:
        ax_score.axvline(epoch, color="0.6", ls=":", lw=1)
    ax_score.set_xlabel("epoch")
    ax_score.legend(fontsize=8)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["dev_loss"] for h in history], "s-", label="dev")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, dpi=100)
