"""ppmc_vs_snr.png stays readable with many targets: a panel per target, one shared legend."""

import numpy as np
import pandas as pd
from PIL import Image

from sitool.scoring.aggregate import ALL_TYPES, POOLED_KEYS, summarise
from sitool.scoring.plots import plot_ppmc_vs_snr, ppmc_vs_snr_figure

TARGETS = [f"{s}_{a}" for s in ("UL", "LL", "JAW", "TT", "TM", "TD") for a in "xy"]  # 12
MODELS = ["train_si_multi", "train_joint", "train_si_clean"]


def _scores() -> pd.DataFrame:
    """Per-utterance scores of 3 models x 12 targets: clean and babble/non-babble at 3 SNRs."""
    rng = np.random.default_rng(0)
    rows = []
    conditions = [("clean", "clean", np.inf)] + [
        (c, ALL_TYPES, snr) for c in ("babble", "non-babble") for snr in (-5.0, 5.0, 20.0)]
    for m, model in enumerate(MODELS):
        for seed in (1, 2):
            for category, noise_type, snr in conditions:
                for t, target in enumerate(TARGETS):
                    for u in range(3):
                        base = 0.8 if np.isinf(snr) else 0.4 + 0.015 * snr
                        rows.append(dict(model=model, exp=f"exp/{model}_seed{seed}",
                                         category=category, noise_type=noise_type, snr_db=snr,
                                         target=target, utt=f"u{u}",
                                         ppmc=base - 0.05 * m + 0.01 * t + 0.02 * rng.random(),
                                         rmse=1.0, unit="mm", status="ok"))
    return pd.DataFrame(rows)


def test_ppmc_vs_snr_has_a_panel_per_target_and_one_legend(tmp_path):
    summary = summarise(_scores(), POOLED_KEYS, MODELS, targets=TARGETS)
    fig = ppmc_vs_snr_figure(summary)
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_visible()]
    assert titles == ["babble noise: mean PPMC", "non-babble noise: mean PPMC", *TARGETS]
    target_axes = [ax for ax in fig.get_axes() if ax.get_visible()][2:]
    # every target panel: one line per model and category (3 x 2), plus the clean points
    for ax in target_axes:
        assert len(ax.containers) == 6 + 3
    (legend,) = fig.legends                                     # one legend for the figure
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [*MODELS, "babble (per target)", "non-babble (per target)", "clean"]
    assert not any(ax.get_legend() for ax in fig.get_axes())
    # the panels wrap into rows of 4: 3 rows, every row as wide as the first
    rows = sorted({round(ax.get_position().y0, 3) for ax in target_axes}, reverse=True)
    assert len(rows) == 3
    fig.canvas.draw()
    out = plot_ppmc_vs_snr(summary, tmp_path / "ppmc_vs_snr.png")
    width, height = Image.open(out).size
    assert width >= 1200 and height > width * 0.8           # grows with the rows, not wider
