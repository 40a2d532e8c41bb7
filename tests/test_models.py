"""Model building blocks and the five models (si, se, se with an SSL target, cascade, joint):
shapes, frame timing, padding independence, and that a few optimiser steps lower each loss."""

import copy
import dataclasses

import numpy as np
import pytest
import torch

from sitool.config import from_dict
from sitool.errors import SitoolError
from sitool.models.aggregation import LayerAggregation
from sitool.models.batch import Batch
from sitool.models.config import ModelConfig
from sitool.models.framerate import frames_for_samples, resample_frames
from sitool.models.frontend import SSLGeometry
from sitool.models.losses import masked_mse, masked_ppmc, masked_variance, ppmc_per_target, si_sdr
from sitool.models.model import ModelOutput, build_model
from sitool.models.si_head import SIHead
from sitool.models.spectral import STFT
from sitool.scoring.metrics import si_sdr as scored_si_sdr
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.testing.training_setup import TINY_HEADS


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_ssl(tmp_path_factory):
    return make_tiny_ssl_model(tmp_path_factory.mktemp("ssl") / "wavlm", hidden=32, layers=2,
                               conv_dim=16)


def test_aggregation_starts_as_mean_of_normalised_layers():
    agg = LayerAggregation(3, 8)
    states = torch.randn(3, 2, 5, 8) * torch.tensor([1.0, 10.0, 100.0])[:, None, None, None]
    out = agg(states)
    normed = torch.nn.functional.layer_norm(states, (8,))
    assert torch.allclose(out, normed.mean(0), atol=1e-5)
    assert agg.layer_weights() == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError):
        agg(torch.randn(2, 2, 5, 8))


@pytest.mark.parametrize("out_rate", [100.0, 200.0])
def test_resample_frames_follows_time_and_clamps_per_utterance(out_rate):
    in_rate, offset = 50.0, 0.0125
    t_in = torch.arange(20) / in_rate + offset
    x = torch.stack([t_in, t_in]).unsqueeze(-1)             # value = time of the frame
    x[1, 12:] = 99.0                                        # padding of utterance 2
    lengths = torch.tensor([20, 12])
    n_out = frames_for_samples(20 * 320, out_rate)
    y = resample_frames(x, lengths, n_out, in_rate, out_rate, offset)
    t_out = torch.arange(n_out) / out_rate
    inside = (t_out >= offset) & (t_out <= t_in[19])
    assert torch.allclose(y[0, inside, 0], t_out[inside], atol=1e-6)
    assert torch.all(y[0, ~inside & (t_out < offset), 0] == t_in[0])   # clamped at the start
    assert y[1].max() <= t_in[11] + 1e-6                    # padding never leaks in
    assert n_out == int(20 * 320 / 16000 * out_rate)


def test_geometry_of_standard_cnn(tiny_ssl):
    geo = SSLGeometry.from_pretrained(str(tiny_ssl))
    assert geo.frame_rate == 50.0 and geo.num_layers == 3 and geo.dim == 32
    assert geo.offset_s == pytest.approx(199.5 / 16000)     # receptive field 400 samples


def test_stft_resynthesis_with_unit_mask_is_identity():
    stft = STFT(400, 160)
    wav = torch.randn(2, 8000) * 0.1
    spec = stft.complex(wav)
    assert spec.shape == (2, 8000 // 160 + 1, 201)
    assert torch.equal(stft.num_frames(torch.tensor([8000, 7999])), torch.tensor([51, 50]))
    back = stft.resynthesise(spec.abs(), spec, torch.tensor([8000, 8000]))
    assert torch.allclose(back, wav, atol=1e-5)
    short = wav.clone()
    short[1, 5000:] = 0
    lengths = torch.tensor([8000, 5000])
    per_utt = stft.complex(short, lengths)                  # utterance 2 alone == in the batch
    assert torch.allclose(per_utt[1, :5000 // 160 + 1], stft.complex(short[1:, :5000])[0], atol=1e-6)
    assert torch.all(per_utt[1, 5000 // 160 + 1:] == 0)
    back = stft.resynthesise(per_utt.abs(), per_utt, lengths)
    assert torch.allclose(back[1, :5000], short[1, :5000], atol=1e-5) and back.shape == (2, 8000)


def test_si_head_output_does_not_depend_on_batch_mates():
    torch.manual_seed(0)
    head = SIHead(8, 3, [6, 4], dropout=0.0).eval()
    a, b = torch.randn(1, 30, 8), torch.randn(1, 50, 8)
    alone = head(a, torch.tensor([30]))
    batch = torch.zeros(2, 50, 8)
    batch[0, :30], batch[1] = a[0], b[0]
    together = head(batch, torch.tensor([30, 50]))
    assert torch.allclose(together[0, :30], alone[0], atol=1e-6)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_birnn_layer_equals_packed_bidirectional_rnn(kind):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from sitool.models.rnn import BiRNNLayer, reverse_padded

    torch.manual_seed(0)
    ref = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](6, 5, batch_first=True, bidirectional=True)
    mine = BiRNNLayer(kind, 6, 5)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(mine.forward_rnn, name).copy_(getattr(ref, name))
            getattr(mine.backward_rnn, name).copy_(getattr(ref, name + "_reverse"))
    x, lengths = torch.randn(3, 20, 6), torch.tensor([20, 13, 4])
    packed, _ = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=20)
    assert torch.allclose(mine(x, lengths), expected, atol=1e-6)
    assert torch.equal(reverse_padded(x, lengths)[2, :4], x[2, :4].flip(0))
    assert torch.equal(reverse_padded(x, lengths)[2, 4:], x[2, 4:])


def test_masked_ppmc_matches_numpy():
    pred, ref = torch.randn(2, 40, 3), torch.randn(2, 40, 3)
    lengths = torch.tensor([40, 25])
    got = masked_ppmc(pred, ref, lengths)
    for b, n in enumerate(lengths.tolist()):
        expected = ppmc_per_target(pred[b, :n].numpy(), ref[b, :n].numpy())
        assert np.allclose(got[b].numpy(), expected, atol=1e-5)
    assert np.isnan(ppmc_per_target(np.ones((5, 1)), np.arange(5.0)[:, None]))[0]


def test_masked_variance_makes_the_normalised_se_loss_scale_free():
    """The normalised SE loss is the fraction of variance unexplained: 1 for predicting the
    mean of the valid bins, the same for any scale of the log-magnitudes; padding ignored."""
    ref, lengths = torch.randn(2, 30, 5) * 0.2 + 1.0, torch.tensor([30, 12])
    ref[1, 12:] = 100.0  # padding must not count
    valid = torch.cat([ref[0].flatten(), ref[1, :12].flatten()])
    assert torch.allclose(masked_variance(ref, lengths), valid.var(unbiased=False), rtol=1e-5)
    mean_pred = torch.full_like(ref, float(valid.mean()))
    for scale in (1.0, 30.0):
        nmse = (masked_mse(scale * mean_pred, scale * ref, lengths)
                / masked_variance(scale * ref, lengths))
        assert torch.allclose(nmse, torch.tensor(1.0), atol=1e-4)


def _toy_batch(n=3, seconds=(1.0, 1.3), noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    clean, targets = [], []
    for i in range(n):
        audio, tv = toy_utterance(rng, seconds[0] + (seconds[1] - seconds[0]) * i / max(1, n - 1))
        clean.append(torch.from_numpy(audio))
        targets.append(torch.from_numpy((tv - tv.mean(0)) / (tv.std(0) + 1e-3)))
    lengths = torch.tensor([len(c) for c in clean])
    wav_clean = torch.nn.utils.rnn.pad_sequence(clean, batch_first=True)
    noisy = wav_clean + noise * torch.randn(wav_clean.shape, generator=torch.Generator().manual_seed(seed))
    noisy = noisy * (torch.arange(noisy.shape[1])[None] < lengths[:, None])
    frames = torch.tensor([min(len(t), frames_for_samples(int(l), 100.0)) for t, l in zip(targets, lengths)])
    return Batch(utts=[f"u{i}" for i in range(n)], wav=noisy, wav_lengths=lengths,
                 clean_wav=wav_clean, targets=torch.nn.utils.rnn.pad_sequence(targets, batch_first=True),
                 si_frames=frames)


def _model(model_type, ssl, freeze="all", **extra):
    data = {"type": model_type, "ssl": {"model": str(ssl), "freeze": freeze},
            **copy.deepcopy(TINY_HEADS)}
    for key, value in extra.items():
        data.setdefault(key, {}).update(value)
    return from_dict(ModelConfig, data)


def _fit(model, batch, steps=10, lr=3e-3):
    torch.manual_seed(0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss, _ = model.loss(model(batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("model_type,freeze,extra", [
    ("si", "all", {}),
    ("se", "all", {}),
    ("joint", "cnn", {}),
    ("joint", "cnn", {"se": {"target": "ssl"}}),
    ("joint", "cnn", {"se": {"stft_input": False}}),
])
def test_model_loss_falls(tiny_ssl, model_type, freeze, extra):
    torch.manual_seed(0)
    cfg = _model(model_type, tiny_ssl, freeze, **extra)
    model = build_model(cfg, n_targets=3, target_rate=100.0)
    batch = _toy_batch()
    if cfg.se.target == "ssl":   # clean hidden states of the frozen SSL (what the cache holds)
        frozen = build_model(_model("si", tiny_ssl), 3, 100.0).eval()
        states, _ = frozen.frontend.from_audio(batch.clean_wav, batch.wav_lengths)
        batch.clean_feats = states[-1]
    out = model(batch)
    if model.cfg.has_si:
        assert out.si.shape == (3, int(batch.si_frames.max()), 3)
    losses = _fit(model, batch)
    assert losses[-1] < 0.93 * losses[0], losses
    if model.enhances_audio:
        model.eval()
        enhanced = model.enhance(batch)
        assert enhanced.shape == batch.wav.shape
        assert torch.all(enhanced[0, int(batch.wav_lengths[0]):] == 0)


@pytest.mark.parametrize("loss", ["log_mag", "si_sdr"])
def test_se_loss_ignores_the_references_of_skipped_categories(tiny_ssl, loss):
    torch.manual_seed(0)
    skipping = build_model(_model("joint", tiny_ssl, "cnn",
                                  se={"loss": loss, "skip_categories": ["babble"]}), 3, 100.0)
    everything = build_model(_model("joint", tiny_ssl, "cnn", se={"loss": loss}), 3, 100.0)
    everything.load_state_dict(skipping.state_dict())
    skipping.eval(), everything.eval()
    batch = _toy_batch()
    batch.categories = ["non-babble", "babble", "clean"]
    with torch.no_grad():
        out = skipping(batch)
    changed = dataclasses.replace(batch, clean_wav=batch.clean_wav.clone())
    n = int(batch.wav_lengths[1])
    changed.clean_wav[1, :n] += 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(1))
    assert float(skipping.se_loss(out, changed)) == pytest.approx(float(skipping.se_loss(out, batch)))
    assert float(everything.se_loss(out, changed)) != pytest.approx(float(everything.se_loss(out, batch)))
    batch.categories = ["non-babble", "non-babble", "clean"]   # nothing to skip: the same loss
    assert float(skipping.se_loss(out, batch)) == pytest.approx(float(everything.se_loss(out, batch)))


@pytest.mark.parametrize("stft_input", [True, False])
def test_mask_head_without_stft_input_reads_the_shared_features_only(tiny_ssl, stft_input):
    torch.manual_seed(0)
    model = build_model(_model("joint", tiny_ssl, "cnn", se={"stft_input": stft_input}),
                        3, 100.0).eval()
    assert model.se_head.proj.in_features == 32 + (model.stft.bins if stft_input else 0)
    batch = _toy_batch()
    other = dataclasses.replace(batch, wav=batch.wav.flip(-1))   # another spectrum, same lengths
    with torch.no_grad():
        states, frames = model.hidden_states(batch)
        feats = model.se_agg(states)
        masks = []
        for b in (batch, other):   # the same shared features, different noisy spectra
            out = ModelOutput()
            model._mask_forward(out, feats, frames, b)
            masks.append(out.mask)
    assert torch.equal(masks[0], masks[1]) != stft_input
    wrong_input = None if stft_input else torch.zeros(3, feats.shape[1], model.stft.bins)
    with pytest.raises(ValueError, match="log1p"):
        model.se_head(feats, wrong_input, frames)


def test_se_loss_of_a_batch_with_only_skipped_utterances_is_zero_and_trains_nothing(tiny_ssl):
    model = build_model(_model("joint", tiny_ssl, "cnn", se={"skip_categories": ["babble"]}),
                        3, 100.0)
    batch = _toy_batch()
    batch.categories = ["babble"] * 3
    loss = model.se_loss(model(batch), batch)
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert all(p.grad is None or not p.grad.any() for p in model.se_head.parameters())
    batch.categories = None
    with pytest.raises(SitoolError, match="skip_categories needs each utterance's category"):
        model.se_loss(model(batch), batch)


def test_si_sdr_loss_matches_the_scored_si_sdr_and_ignores_padding():
    rng = np.random.default_rng(0)
    ref = torch.from_numpy(rng.standard_normal((2, 800)).astype(np.float32))
    est = 0.7 * ref + 0.3 * torch.from_numpy(rng.standard_normal((2, 800)).astype(np.float32))
    lengths = torch.tensor([800, 500])
    est[1, 500:] = 50.0   # padding must not count
    got = si_sdr(est, ref, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert abs(float(got[b]) - scored_si_sdr(est[b, :n].numpy(), ref[b, :n].numpy())) < 1e-3


def test_se_trained_on_the_si_sdr_loss_raises_the_si_sdr_of_its_output(tiny_ssl):
    torch.manual_seed(0)
    model = build_model(_model("se", tiny_ssl, se={"loss": "si_sdr"}), 3, 100.0)
    batch = _toy_batch(noise=0.3)

    def output_si_sdr():
        model.eval()
        with torch.no_grad():
            return float(si_sdr(model.enhance(batch), batch.clean_wav, batch.wav_lengths).mean())

    before = output_si_sdr()
    losses = _fit(model, batch, steps=15)
    assert losses[-1] < losses[0] - 0.05, losses       # 0.5 dB better on the training batch
    assert output_si_sdr() > before + 0.5


def test_joint_fine_tunes_a_filterbank_ssl_model(tmp_path):
    """w2v-BERT (filterbank input): the joint model trains through the Conformer, and
    freeze=cnn keeps its feature projection (the part below the Conformer) fixed."""
    torch.manual_seed(0)
    ssl = make_tiny_ssl_model(tmp_path / "w2v_bert", arch="w2v-bert", hidden=32, layers=2)
    model = build_model(_model("joint", ssl, "cnn"), n_targets=3, target_rate=100.0)
    encoder = model.frontend.encoder
    assert encoder.inputs.kind == "filterbank"
    projection = {k: v.clone() for k, v in encoder.front_end.state_dict().items()}
    first_layer = encoder.model.encoder.layers[0].ffn1.intermediate_dense.weight.clone()
    batch = _toy_batch()
    losses = _fit(model, batch)
    assert losses[-1] < 0.93 * losses[0], losses
    for k, v in encoder.front_end.state_dict().items():
        assert torch.equal(v, projection[k]), k
    assert not torch.equal(encoder.model.encoder.layers[0].ffn1.intermediate_dense.weight,
                           first_layer)
    model.eval()
    assert model.enhance(batch).shape == batch.wav.shape


def test_frozen_layers_keep_the_lowest_transformer_layers_fixed(tiny_ssl):
    torch.manual_seed(0)
    cfg = _model("joint", tiny_ssl, "cnn")
    cfg.ssl.frozen_layers = 1
    model = build_model(cfg, 3, 100.0)
    layers = model.frontend.encoder.model.encoder.layers
    before = [{k: v.clone() for k, v in layer.state_dict().items()} for layer in layers]
    _fit(model, _toy_batch(), steps=3)
    assert all(torch.equal(v, before[0][k]) for k, v in layers[0].state_dict().items())
    assert not all(torch.equal(v, before[1][k]) for k, v in layers[1].state_dict().items())
    from sitool.errors import SitoolError
    cfg.ssl.frozen_layers = 3
    with pytest.raises(SitoolError, match=r"ssl.frozen_layers: 3 is not in 0\.\.2"):
        build_model(cfg, 3, 100.0)


def test_cascade_trains_si_on_enhanced_audio(tiny_ssl):
    torch.manual_seed(0)
    batch = _toy_batch()
    se = build_model(_model("se", tiny_ssl), 0, 100.0)
    _fit(se, batch, steps=3)
    cfg = _model("cascade", tiny_ssl, cascade={"se_model": dataclasses.asdict(se.cfg)})
    model = build_model(cfg, 3, 100.0)
    model.enhancer.load_checkpoint_state(se.checkpoint_state())
    frozen_before = {k: v.clone() for k, v in model.enhancer.state_dict().items()}
    losses = _fit(model, batch)
    assert losses[-1] < 0.93 * losses[0], losses
    for k, v in model.enhancer.state_dict().items():      # the SE stage stays fixed
        assert torch.equal(v, frozen_before[k]), k
    out = model.eval()(batch)
    assert out.enhanced.shape == batch.wav.shape
    assert not any(k.startswith("enhancer.frontend.encoder.") for k in model.checkpoint_state())


def test_checkpoint_state_skips_frozen_encoder_and_round_trips(tiny_ssl):
    cfg = _model("joint", tiny_ssl, "cnn")
    model = build_model(cfg, 3, 100.0)
    state = model.checkpoint_state()
    assert any(k.startswith("frontend.encoder.") for k in state)    # fine-tuned: saved
    frozen = build_model(_model("si", tiny_ssl), 3, 100.0)
    fstate = frozen.checkpoint_state()
    assert not any(k.startswith("frontend.encoder.") for k in fstate)
    again = build_model(_model("si", tiny_ssl), 3, 100.0)
    again.load_checkpoint_state(fstate)
    for k, v in fstate.items():
        assert torch.equal(again.state_dict()[k], v)
    from sitool.errors import SitoolError
    with pytest.raises(SitoolError, match="does not match"):
        again.load_checkpoint_state({**fstate, "bogus.weight": torch.zeros(1)})
