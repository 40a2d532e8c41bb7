"""Phone alignments: TextGrid (praatio) and CTM input to ``sitool invert --align``, the
per-phone TSV, phone classes, and ``sitool score --by-phone``."""

import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.alignment import phone_classes, read_alignment
from sitool.cli import main
from sitool.errors import SitoolError
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.stand_in_inverter import StandInInverter, frame_ramp, stand_in_inference

TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.2
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.2
        intervals: size = 1
        intervals [1]:
            xmin = 0
            xmax = 1.2
            text = "mama"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.2
        intervals: size = 5
        intervals [1]:
            xmin = 0
            xmax = 0.1
            text = ""
        intervals [2]:
            xmin = 0.1
            xmax = 0.3
            text = "m"
        intervals [3]:
            xmin = 0.3
            xmax = 0.605
            text = "a"
        intervals [4]:
            xmin = 0.605
            xmax = 0.608
            text = "p"
        intervals [5]:
            xmin = 0.608
            xmax = 1.2
            text = "sil"
'''


@pytest.fixture
def ramp_model(monkeypatch, tmp_path):
    """Target k of frame i is (k + 1) * i: per-phone statistics are known in closed form."""
    monkeypatch.setitem(sys.modules, "sitool.inference",
                        stand_in_inference(StandInInverter(frame_ramp)))
    model = tmp_path / "exp" / "ramp"
    model.mkdir(parents=True)
    return model


def _wav(path, seconds=1.2):
    sf.write(path, toy_utterance(np.random.default_rng(0), seconds)[0], 16000)
    return path


def test_textgrid_reader_picks_the_phone_tier(tmp_path):
    pytest.importorskip("praatio", reason="TextGrid reading needs praatio (the 'align' extra)")
    (tmp_path / "rec.TextGrid").write_text(TEXTGRID)
    (segments,) = read_alignment(tmp_path / "rec.TextGrid").values()
    assert [s.phone for s in segments] == ["m", "a", "p", "sil"]       # empty interval dropped
    assert segments[1].start == pytest.approx(0.3) and segments[1].end == pytest.approx(0.605)
    (tmp_path / "bad.TextGrid").write_text("not a textgrid")
    with pytest.raises(SitoolError, match="bad.TextGrid: not a readable TextGrid"):
        read_alignment(tmp_path / "bad.TextGrid")


def test_invert_align_textgrid_writes_per_phone_table_and_shaded_plot(ramp_model, tmp_path):
    pytest.importorskip("praatio", reason="TextGrid reading needs praatio (the 'align' extra)")
    wav = _wav(tmp_path / "rec.wav")
    (tmp_path / "rec.TextGrid").write_text(TEXTGRID)
    res = CliRunner().invoke(main, ["invert", str(wav), "--model", str(ramp_model), "--out",
                                    str(tmp_path / "inv"), "--align",
                                    str(tmp_path / "rec.TextGrid"), "--plot"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "inv" / "rec_phones.tsv", sep="\t")
    assert list(table.columns) == ["index", "phone", "classes", "start_s", "end_s", "target",
                                   "unit", "mean", "min", "max", "mid"]
    assert len(table) == 4 * 3
    m_lp = table[(table.phone == "m") & (table.target == "LP")].iloc[0]
    # frames 10..29 (t = i/100 in [0.1, 0.3)), LP = 2 i
    assert m_lp["classes"] == "bilabial,nasal"
    assert (m_lp["min"], m_lp["max"], m_lp["mean"]) == (20, 58, pytest.approx(39))
    assert m_lp["mid"] == pytest.approx(40)                   # midpoint 0.2 s = frame 20
    a_la = table[(table.phone == "a") & (table.target == "LA")].iloc[0]
    assert (a_la["min"], a_la["max"], a_la["mid"]) == (30, 60, pytest.approx(45.25))
    p_tt = table[(table.phone == "p") & (table.target == "TTCD")].iloc[0]
    # shorter than a frame: no frame inside, its midpoint value (0.6065 s) stands for all
    assert p_tt["min"] == p_tt["max"] == p_tt["mid"] == pytest.approx(3 * 60.65, abs=1e-3)
    assert table[table.phone == "sil"]["classes"].iloc[0] == "silence"
    assert (tmp_path / "inv" / "rec.png").stat().st_size > 10_000


def test_invert_align_ctm_matches_files_by_name(ramp_model, tmp_path, caplog):
    a, b = _wav(tmp_path / "a.wav"), _wav(tmp_path / "b.wav", 0.8)
    ctm = tmp_path / "phones.ctm"
    ctm.write_text("a 1 0.00 0.25 b\na 1 0.25 0.50 E\n")
    from sitool.invert import invert_files

    with caplog.at_level("INFO"):
        out_a, out_b = invert_files([a, b], ramp_model, tmp_path / "inv", align=ctm,
                                    animate=True)
    assert out_b.phones is None and "1 of 2 file(s) had no alignment" in caplog.text
    from PIL import Image

    assert Image.open(out_a.gif).format == "GIF" and Image.open(out_b.gif).n_frames == 12
    table = pd.read_csv(out_a.phones, sep="\t")
    assert list(table.phone.unique()) == ["b", "E"]
    e_la = table[(table.phone == "E") & (table.target == "LA")].iloc[0]
    assert (e_la["min"], e_la["max"], e_la["classes"]) == (25, 74, "vowel")
    ctm.write_text("a 1 0.00\n")
    with pytest.raises(SitoolError, match="phones.ctm:1: expected 'utt channel start dur phone'"):
        invert_files([a], ramp_model, tmp_path / "inv2", align=ctm)


def test_phone_classes_sampa_and_arpabet():
    assert phone_classes("m") == ("bilabial", "nasal")
    assert phone_classes("N") == ("velar", "nasal")              # SAMPA: case matters
    assert phone_classes("S") == ("postalveolar", "fricative")
    assert phone_classes("S", arpabet=True) == ("alveolar", "fricative")
    assert phone_classes("IY1", arpabet=True) == ("vowel",)
    assert phone_classes("sh") == ("postalveolar", "fricative")  # TIMIT-style lower case
    assert phone_classes("bcl") == ("bilabial", "stop")
    assert phone_classes("sil") == ("silence",) and phone_classes("zz") == ()


def _synth_style_ctm(data):
    """Synthetic-corpus (SAMPA) phones over each utterance: sil, then p a m i t a ..., sil."""
    from sitool.datadir import PhoneSegment, format_ctm

    cycle = ["p", "a", "m", "i", "t", "a", "k", "u", "b", "E", "n", "o"]
    phones = {}
    for utt in data.utts:
        dur = data.utt2dur[utt]
        edges = np.arange(0.1, dur - 0.1, 0.08)
        segs = [PhoneSegment(0.0, 0.1, "sil")]
        segs += [PhoneSegment(float(a), float(b), cycle[k % len(cycle)])
                 for k, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
        segs.append(PhoneSegment(float(edges[-1]), float(dur), "sil"))
        phones[utt] = segs
    (data.path / "phones.ctm").write_text(format_ctm(phones))
    return phones


def test_score_by_phone_groups_frames_by_class(tmp_path, monkeypatch):
    """A model that is exact except that its LA stays 2 mm open at bilabials (the failure the
    by-phone table is for): only the classes containing p, b, m show it."""
    from sitool.alignment import frames_in
    from sitool.datadir import DataDir
    from sitool.scoring.score import score_experiments
    from sitool.testing.data_dirs import make_tv_data_dir
    from sitool.testing.decode_dirs import write_decode_dir
    from sitool.testing.noisy_dirs import make_noise_file, make_noisy_data_dir

    clean = DataDir(make_tv_data_dir(tmp_path / "data" / "test", num_utts=3))
    phones = _synth_style_ctm(clean)
    noisy = DataDir(make_noisy_data_dir(tmp_path / "data" / "test_noisy", clean.path,
                                        [("white", "non-babble",
                                          make_noise_file(tmp_path / "w.wav", 3.0, 1))], [0]))
    from sitool.datadir import format_ctm

    (noisy.path / "phones.ctm").write_text(format_ctm(
        {u: phones[noisy.mix[u].clean_utt] for u in noisy.utts}))

    def predict(data):
        def fn(utt, ref):
            pred = ref.copy()
            segs = data.phones[utt]
            for seg in segs:
                if seg.phone in ("p", "b", "m"):
                    pred[frames_in(seg, len(pred), 100.0), 0] += 2.0
            return pred
        return fn

    exp = tmp_path / "exp" / "train_si"
    for data in (clean, noisy):
        write_decode_dir(exp, data.path, predict(data))
    monkeypatch.chdir(tmp_path)
    result = score_experiments(exps=[exp], make_plots=False, by_phone=True)
    table = pd.read_csv(exp / "decode" / "test" / "phone_scores.tsv", sep="\t")
    la = table[table.target == "LA"].set_index("class")
    assert la.loc["bilabial", "pred_mean"] - la.loc["bilabial", "ref_mean"] == pytest.approx(2.0)
    assert la.loc["bilabial", "rmse"] == pytest.approx(2.0, rel=1e-5)
    assert la.loc["alveolar", "rmse"] == pytest.approx(0, abs=1e-6)
    assert la.loc["alveolar", "ppmc"] == pytest.approx(1.0)
    assert la.loc["nasal", "rmse"] == pytest.approx(np.sqrt(2.0 ** 2 / 2), rel=0.1)  # m of {m, n}
    assert la.loc["vowel", "rmse"] == pytest.approx(0, abs=1e-6)
    n_bilabial = sum(s.phone in "pbm" for segs in phones.values() for s in segs)
    assert la.loc["bilabial", "n_intervals"] == n_bilabial
    ttcd = table[table.target == "TTCD"].set_index("class")
    assert (ttcd["rmse"] < 1e-6).all()                           # only LA was perturbed
    noisy_table = pd.read_csv(exp / "decode" / "test_noisy" / "phone_scores.tsv", sep="\t")
    assert set(noisy_table.snr_db) == {0.0} and set(noisy_table.category) == {"non-babble"}
    assert "== per phone class" in result.text
    block = result.text.split("test: clean — train_si")[1].split("\n\n")[1]
    bilabial = next(line for line in block.splitlines() if line.startswith("bilabial"))
    assert "/ 2 (" in bilabial                                   # LA: RMSE 2 mm
    assert "test_noisy: non-babble 0 dB — train_si" in result.text


def test_score_by_phone_needs_an_alignment(tmp_path, monkeypatch):
    from sitool.scoring.score import score_experiments
    from sitool.testing.data_dirs import make_tv_data_dir
    from sitool.testing.decode_dirs import write_decode_dir

    data = make_tv_data_dir(tmp_path / "data" / "test", num_utts=2)
    exp = tmp_path / "exp" / "m"
    write_decode_dir(exp, data, lambda utt, ref: ref + 0.1 * np.sin(np.arange(len(ref)))[:, None])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SitoolError, match="--by-phone: none of the decoded data dirs has a phone "
                                          "alignment"):
        score_experiments(exps=[exp], make_plots=False, by_phone=True)
