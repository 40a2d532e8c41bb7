"""Chunked inference of long recordings: the chunk plan and cross-fade (sitool.chunking), and a
3-minute recording through a trained joint model, chunked vs whole."""

import numpy as np
import pytest

from sitool.chunking import Stitcher, chunk_alignment, plan_chunks
from sitool.errors import SitoolError
from sitool.models.framerate import frames_for_samples

pytestmark = pytest.mark.usefixtures("one_thread")

SR = 16000


@pytest.mark.parametrize("seconds", [20.0, 20.01, 20.03, 37.3, 180.0, 601.23])
def test_plan_covers_with_overlap_and_weights_sum_to_one(seconds):
    n = int(seconds * SR)
    window, overlap, align = 20 * SR, 4 * SR, 320
    plan = plan_chunks(n, window, overlap, align)
    assert plan.starts[0] == 0 and plan.ends[-1] == n
    for k in range(len(plan)):
        assert plan.starts[k] % align == 0
        assert window <= plan.ends[k] - plan.starts[k] < window + align
    for k in range(len(plan) - 1):
        assert plan.ends[k] - plan.starts[k + 1] >= overlap          # shared audio per seam
        # the fade keeps a quarter overlap away from both chunk edges
        assert plan.fade_starts[k] >= plan.starts[k + 1] + overlap / 4
        assert plan.fade_ends[k] <= plan.ends[k] - overlap / 4
    positions = np.arange(0, n, 37, dtype=np.float64)
    total = sum(plan.weights(k, positions) for k in range(len(plan)))
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    for k in range(len(plan)):   # no weight outside a chunk
        outside = (positions < plan.starts[k]) | (positions >= plan.ends[k])
        assert not np.any(plan.weights(k, positions)[outside])


def test_stitcher_passes_what_the_chunks_agree_on():
    n = int(75.3 * SR)
    rate = 100.0
    plan = plan_chunks(n, 20 * SR, 4 * SR, chunk_alignment(rate))
    total = frames_for_samples(n, rate)
    signal = np.sin(np.arange(total) / 50.0)[:, None] * np.array([1.0, -2.0])
    frames, audio = Stitcher(plan, rate, total), Stitcher(plan)
    wav = np.cos(np.arange(n) / 300.0)
    for k in range(len(plan)):
        first = plan.starts[k] * rate / SR
        assert first == int(first)
        count = frames_for_samples(plan.ends[k] - plan.starts[k], rate)
        frames.add(k, signal[int(first):int(first) + count])
        audio.add(k, wav[plan.starts[k]:plan.ends[k]])
    np.testing.assert_allclose(frames.result(), signal, atol=1e-6)
    np.testing.assert_allclose(audio.result(), wav, atol=1e-6)
    assert len(plan) == 5


def test_alignment_and_bad_settings():
    assert chunk_alignment(100.0) == 320 and chunk_alignment(200.0) == 320
    assert chunk_alignment(60.0) == 1600 and chunk_alignment(None) == 320
    with pytest.raises(SitoolError, match="overlap"):
        plan_chunks(100 * SR, 20 * SR, 11 * SR)
    with pytest.raises(SitoolError, match="overlap"):
        plan_chunks(100 * SR, 20 * SR, 0)
    assert len(plan_chunks(100 * SR, 0, 0)) == 1     # window 0: chunking off


@pytest.fixture(scope="module")
def hubert_joint(tmp_path_factory):
    """A joint (SI + SE) model with a tiny HuBERT, trained one step. HuBERT's attention runs in
    memory linear in the length, so the whole 3-minute file fits for the reference run; its
    conv encoder uses layer norm (as the Large models do): a group-norm conv encoder (Base
    models) normalises over the whole input, so there no two lengths give the same frames."""
    from sitool.models.config import ModelConfig, SEConfig, SIConfig, SSLConfig
    from sitool.testing.data_dirs import make_toy_data_dir
    from sitool.testing.ssl_model import make_tiny_ssl_model
    from sitool.training.config import DataConfig, OptimConfig, TrainConfig
    from sitool.training.trainer import train

    root = tmp_path_factory.mktemp("chunk_joint")
    toy = make_toy_data_dir(root / "data" / "toy", num_utts=4)
    ssl = make_tiny_ssl_model(root / "ssl_tiny", arch="hubert", feat_extract_norm="layer")
    cfg = TrainConfig(
        model=ModelConfig(type="joint", ssl=SSLConfig(model=str(ssl), freeze="all"),
                          si=SIConfig(gru_units=[8]),
                          se=SEConfig(proj_dim=8, lstm_units=8, lstm_layers=1)),
        data=DataConfig(train_sets=[str(toy)], dev_sets=[str(toy)]),
        optim=OptimConfig(epochs=1, warmup_steps=0), device="cpu", threads=1)
    return train(cfg, root / "exp" / "train_joint", progress=False)


def test_three_minutes_chunked_matches_whole(hubert_joint):
    """Away from the seams (outside every overlap) chunked = whole within 5 % of the output's
    spread (median under 1 %: the rest is the random model's global attention and the
    per-chunk input normalisation); across the seams the joined tracks are as continuous as
    the whole run's."""
    from sitool.inference import Inverter, load_inverter
    from sitool.testing.data_dirs import toy_utterance

    rng = np.random.default_rng(3)
    pieces = [toy_utterance(rng, 9.0)[0] for _ in range(20)]
    audio = np.concatenate([0.1 * p / np.sqrt(np.mean(p ** 2)) for p in pieces])   # 180 s
    chunked = load_inverter(hubert_joint)
    whole = Inverter(chunked.trained, chunk_seconds=0)
    a, b = chunked.invert(audio), whole.invert(audio)
    rate = chunked.target_info.frame_rate
    assert a.targets.shape == b.targets.shape == (frames_for_samples(len(audio), rate), 3)
    assert a.enhanced.shape == b.enhanced.shape == audio.shape

    plan = plan_chunks(len(audio), chunked.window, chunked.overlap, chunked.align)
    assert len(plan) == 11
    t = np.arange(len(a.targets)) * SR / rate          # frame times in samples
    seams = np.zeros(len(t), bool)
    for k in range(len(plan) - 1):
        seams |= (t >= plan.starts[k + 1]) & (t < plan.ends[k])
    spread = b.targets.std(axis=0)
    error = np.abs(a.targets - b.targets) / spread
    assert error[~seams].max() < 0.05 and np.median(error) < 0.01, error[~seams].max()
    assert error[seams].max() < 0.1, error[seams].max()
    # continuity: the largest frame-to-frame step near a fade is no larger than the whole
    # run's largest step anywhere (plus 1 % of the spread)
    steps = np.abs(np.diff(a.targets, axis=0)) / spread
    whole_steps = np.abs(np.diff(b.targets, axis=0)) / spread
    assert steps[seams[1:]].max() <= whole_steps.max() + 0.01
    # enhanced audio: same away from the seams
    s = np.arange(len(audio))
    audio_seams = np.zeros(len(audio), bool)
    for k in range(len(plan) - 1):
        audio_seams[plan.starts[k + 1]:plan.ends[k]] = True
    diff = np.abs(a.enhanced - b.enhanced)[~audio_seams[s]]
    assert diff.max() < 0.05 * np.abs(b.enhanced).max(), diff.max()


def test_invert_dir_batches_short_files_and_chunks_a_long_one(hubert_joint, tmp_path, monkeypatch):
    """A dir with two short files and a 50 s one: one frame per 10 ms each, results equal
    to inverting each file alone (batching changes nothing), progress shown for the long one."""
    monkeypatch.setenv("SITOOL_PROGRESS", "1")     # bars on although stderr is no terminal
    import soundfile as sf
    from click.testing import CliRunner

    from sitool.cli import main
    from sitool.inference import load_inverter
    from sitool.testing.data_dirs import toy_utterance

    rng = np.random.default_rng(8)
    recs = tmp_path / "recs"
    recs.mkdir()
    signals = {"a": toy_utterance(rng, 1.5)[0], "b": toy_utterance(rng, 2.2)[0],
               "long": np.concatenate([toy_utterance(rng, 10.0)[0] for _ in range(5)])}
    for name, x in signals.items():
        sf.write(recs / f"{name}.wav", x, SR, subtype="FLOAT")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["invert", str(recs), "--model", str(hubert_joint),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "long.wav (0.8 min)" in res.output and "chunk" in res.output     # the progress bar
    inverter = load_inverter(hubert_joint)
    for name, x in signals.items():
        targets = np.load(out / f"{name}.npy")
        assert targets.shape == (frames_for_samples(len(x), 100.0), 3)
        np.testing.assert_allclose(targets, inverter.invert(x).targets, atol=1e-5)


def test_decode_chunks_long_utterances(hubert_joint, tmp_path):
    """decode runs utterances longer than its window through the same chunked path."""
    from sitool.datadir import DataDir
    from sitool.decode import decode
    from sitool.inference import Inverter
    from sitool.testing.data_dirs import make_toy_data_dir

    data = make_toy_data_dir(tmp_path / "data" / "long", num_utts=3, seconds=(1.2, 2.5))
    out, = decode(hubert_joint, [data], chunk_seconds=1.0, overlap_seconds=0.3, progress=False)
    from sitool.inference import load_inverter

    load = load_inverter(hubert_joint)
    inverter = Inverter(load.trained, chunk_seconds=1.0, overlap_seconds=0.3)
    whole = Inverter(load.trained, chunk_seconds=0)
    d = DataDir(data)
    for utt in d.utts:
        audio = d.audio(utt)
        got = np.load(out / "tv" / f"{utt}.npy")
        assert len(plan_chunks(len(audio), inverter.window, inverter.overlap, inverter.align)) >= 2
        np.testing.assert_allclose(got, inverter.invert(audio).targets, atol=1e-5)
        assert not np.allclose(got, whole.invert(audio).targets, atol=1e-5)   # it was chunked
