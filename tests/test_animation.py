"""``--animate``: the mid-sagittal schematic follows the TVs, and a GIF with a time cursor is
written for ``sitool plot-utt --animate`` (reference data) and ``sitool invert --animate``."""

import numpy as np
from click.testing import CliRunner
from PIL import Image

from sitool.animation import normalise_tracks, tract_shape
from sitool.cli import main


def test_schematic_follows_the_tvs():
    closed = tract_shape({"LA": 0.0, "LP": 0.5, "TTCL": 0.5, "TTCD": 0.5, "TBCL": 0.5,
                          "TBCD": 0.5, "VEL": 0.0})
    open_ = tract_shape({"LA": 1.0, "LP": 0.5, "TTCL": 0.5, "TTCD": 0.5, "TBCL": 0.5,
                         "TBCD": 0.5, "VEL": 1.0})
    gap = lambda s: s["upper_lip"][:, 1].min() - s["lower_lip"][:, 1].max()   # noqa: E731
    assert gap(closed) < 0.1 and gap(open_) - gap(closed) > 0.7       # LA 0: lips meet
    # velum: closed touches the pharynx wall (x = -2.5), open it hangs away from it
    assert closed["velum"][-1, 0] < -2.4 < open_["velum"][-1, 0]
    high = tract_shape({"LA": 0.5, "LP": 0.5, "TTCL": 0.5, "TTCD": 0.0, "TBCL": 0.5,
                        "TBCD": 0.5, "VEL": 0.5})
    low = tract_shape({"LA": 0.5, "LP": 0.5, "TTCL": 0.5, "TTCD": 1.0, "TBCL": 0.5,
                       "TBCD": 0.5, "VEL": 0.5})
    assert high["tongue"][59, 1] - low["tongue"][59, 1] > 0.7           # the tip rises to close


def test_normalisation_keeps_closures_and_fills_missing_tvs():
    norm = normalise_tracks({"LA": np.array([0.0, 5.0, 10.0, 10.0]), "TTCL": np.array([3.0, 5.0])},
                            4)
    np.testing.assert_allclose(norm["LA"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(norm["TTCL"], [0.0, 1.0, 1.0, 1.0])       # padded with the edge
    np.testing.assert_allclose(norm["VEL"], 0.5)                          # absent: neutral


def test_plot_utt_animate_writes_a_gif(tmp_path):
    from sitool.testing.data_dirs import make_tv_data_dir

    data = make_tv_data_dir(tmp_path / "data", num_utts=1)
    utt = (data / "utt2spk").read_text().split()[0]
    out = tmp_path / "utt.gif"
    res = CliRunner().invoke(main, ["plot-utt", str(data), utt, "--out", str(out), "--animate"])
    assert res.exit_code == 0, res.output
    gif = Image.open(out)
    duration = float((data / "utt2dur").read_text().split()[1])
    assert gif.format == "GIF" and abs(gif.n_frames - duration * 15) <= 1     # 15 frames/s
    # the cursor moves: first and last frames differ
    first = np.asarray(gif.convert("RGB"))
    gif.seek(gif.n_frames - 1)
    assert np.abs(first.astype(int) - np.asarray(gif.convert("RGB")).astype(int)).sum() > 0
