"""SSL feature cache: tiny random WavLM/HuBERT/w2v-BERT models saved in HF format, cached offline."""

import os
import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import sitool.ssl.cache_writer as cache_writer
from sitool.cli import main
from sitool.errors import SitoolError
from sitool.io import read_yaml
from sitool.ssl.cache_layout import model_tag
from sitool.ssl.cache_reader import SSLCache
from sitool.ssl.cache_writer import cache_ssl, parse_layers, plan_shards
from sitool.ssl.encoder import load_ssl_encoder
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model

# 3 toy utterances of 1.0-1.6 s; shard_seconds=1.7 puts each in its own shard.
SHARD_SECONDS = 1.7


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {arch: make_tiny_ssl_model(root / f"tiny_{arch}", arch=arch)
            for arch in ("wavlm", "hubert", "w2v-bert")}


@pytest.fixture(scope="module")
def data3(tmp_path_factory):
    return make_toy_data_dir(tmp_path_factory.mktemp("data") / "set3", num_utts=3)


def _direct(model_dir, data, utt):
    """Hidden states of one utterance run alone through the encoder: [L, T, D] float32."""
    encoder = load_ssl_encoder(model_dir)
    wav = torch.from_numpy(data.audio(utt))[None]
    with torch.inference_mode():
        states, _ = encoder(wav, torch.tensor([wav.shape[1]]))
    return torch.stack([s[0] for s in states]).numpy()


def _cache(model_dir, data_dir, out, **kw):
    kw.setdefault("shard_seconds", SHARD_SECONDS)
    return cache_ssl(str(model_dir), data_dir, out, progress=False, **kw)


def _all_arrays(cache):
    return {u: cache.load(u) for u in cache.utts}


@pytest.mark.parametrize("arch", ["wavlm", "hubert", "w2v-bert"])
def test_cache_equals_direct_forward(models, data3, tmp_path, arch):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    from sitool.datadir import DataDir

    out = _cache(models[arch], data3, tmp_path / "dump" / "set3", batch_seconds=10)
    cache = SSLCache(out)
    data = DataDir(data3)
    assert cache.utts == data.utts and len(cache) == 3
    assert cache.layers == [0, 1, 2] and cache.dim == 32 and cache.frame_rate == 50.0
    assert cache.meta["model_type"] == arch.replace("w2v-bert", "wav2vec2-bert")
    assert cache.meta["dtype"] == "float16"
    assert len(cache.meta["shards"]) == 3
    for utt in data.utts:
        cached = cache.load(utt)
        assert cached.dtype == np.float16
        direct = _direct(models[arch], data, utt)
        assert cached.shape == direct.shape == (3, cache.frames(utt), 32)
        np.testing.assert_allclose(cached.astype(np.float32), direct, rtol=2e-3, atol=2e-3)
        # frames match the audio length at 50 frames/s (w2v-BERT's frames span 35 ms)
        assert abs(cache.frames(utt) - data.utt2dur[utt] * 50) <= 2
        assert cache.frames(utt) == load_ssl_encoder(models[arch]).grid.frames(
            len(data.audio(utt)))
    cache.verify()
    sub = cache.load(data.utts[0], layers=[2, 0])
    np.testing.assert_array_equal(sub, cache.load(data.utts[0])[[2, 0]])


def test_layer_subset_and_float32(models, data3, tmp_path):
    from sitool.datadir import DataDir

    out = _cache(models["wavlm"], data3, tmp_path / "sub", layers=[0, 2], dtype="float32")
    cache = SSLCache(out)
    assert cache.layers == [0, 2] and cache.load(cache.utts[0]).dtype == np.float32
    utt = cache.utts[1]
    direct = _direct(models["wavlm"], DataDir(data3), utt)
    np.testing.assert_allclose(cache.load(utt), direct[[0, 2]], rtol=1e-4, atol=1e-5)
    with pytest.raises(SitoolError, match="not cached"):
        cache.load(utt, layers=[1])


def test_missing_model_without_the_hub_fails_at_once_naming_the_cpu_profile(monkeypatch):
    """Hub enabled but unreachable: no ~25 s of transformers retries (no online lookup at all)
    and the line names the way to run without the hub (issue 34)."""
    import transformers

    import sitool.ssl.encoder as encoder

    calls = []
    real = transformers.AutoConfig.from_pretrained

    def recording(name, *args, **kwargs):
        calls.append(kwargs.get("local_files_only", False))
        return real(name, *args, **kwargs)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", recording)
    monkeypatch.setattr(encoder, "hub_address", lambda: ("sitool-no-such-host.invalid", 443))
    with pytest.raises(SitoolError, match="cannot be reached") as e:
        encoder.load_ssl_config("no-such-org/no-such-ssl-model")
    assert "--profile cpu" in str(e.value) and "sitool-no-such-host.invalid" in str(e.value)
    assert calls == [True]                        # the cache only, never the network
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SitoolError, match="HF_HUB_OFFLINE=1") as e:
        encoder.load_ssl_config("no-such-org/no-such-ssl-model")
    assert "--profile cpu" in str(e.value)


def test_missing_model_is_one_clear_line(data3, tmp_path):
    with pytest.raises(SitoolError, match="not found as a local dir or in the HF cache") as e:
        _cache("no-such-org/no-such-ssl-model", data3, tmp_path / "x")
    assert "\n" not in str(e.value) and "HF_HUB_OFFLINE=1" in str(e.value)
    assert not (tmp_path / "x").exists()  # nothing written before the model check
    result = CliRunner().invoke(main, ["cache-ssl", "--ssl-model", "no-such-org/no-such-model",
                                       str(data3), "--out", str(tmp_path / "y")])
    assert result.exit_code == 1
    assert result.output.startswith("error: SSL model 'no-such-org/no-such-model'")
    # a path under an existing local dir is a local path: one line, no hub round trip
    (tmp_path / "exp").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(SitoolError, match=r"SSL model 'exp/ssl_tiny': no such dir under"):
            _cache("exp/ssl_tiny", data3, tmp_path / "z")
    finally:
        os.chdir(cwd)


def test_resume_after_failure_midway(models, data3, tmp_path, monkeypatch):
    reference = SSLCache(_cache(models["wavlm"], data3, tmp_path / "ref"))
    out = tmp_path / "resumed" / "set3"
    real_extract = cache_writer._to_storage
    calls = {"n": 0}

    def failing(state, dtype, utt):  # dies while writing the second shard
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real_extract(state, dtype, utt)

    monkeypatch.setattr(cache_writer, "_to_storage", failing)
    with pytest.raises(RuntimeError, match="killed"):
        _cache(models["wavlm"], data3, out)
    shards = out / "shards"
    assert (shards / "shard-00001.done").is_file()
    assert not (shards / "shard-00002.bin.partial").exists()  # an error removes it at once
    assert not (out / "meta.yaml").exists()
    with pytest.raises(SitoolError, match=r"incomplete \(1 of 3 shards done.*`sitool cache-ssl "
                                          r"--ssl-model \S+ --precision fp32 \S+/set3 --out "
                                          r"\S+/resumed`"):
        SSLCache(out)
    first_shard = (shards / "shard-00001.bin").stat().st_mtime_ns

    monkeypatch.setattr(cache_writer, "_to_storage", real_extract)
    _cache(models["wavlm"], data3, out)
    resumed = SSLCache(out)
    assert (shards / "shard-00001.bin").stat().st_mtime_ns == first_shard  # kept, not redone
    assert not (shards / "shard-00002.bin.partial").exists()
    assert (out / "index.tsv").read_text() == (reference.path / "index.tsv").read_text()
    for utt, array in _all_arrays(reference).items():
        np.testing.assert_array_equal(resumed.load(utt), array)


def test_nj2_shards_equal_unsharded(models, data3, tmp_path, monkeypatch):
    whole = SSLCache(_cache(models["hubert"], data3, tmp_path / "whole"))
    out = tmp_path / "split"
    _cache(models["hubert"], data3, out, nj=2, job=2)
    assert not (out / "meta.yaml").exists()  # job 1's shard is still missing
    assert sorted(p.name for p in (out / "shards").glob("*.bin")) == ["shard-00002.bin",
                                                                     "shard-00003.bin"]
    _cache(models["hubert"], data3, out, nj=2, job=1)
    assert not (out / "meta.yaml").exists() and not (out / "index.tsv").exists()  # jobs: shards only
    monkeypatch.setattr(cache_writer, "_write_shard", lambda *a, **k: pytest.fail("recomputed"))
    _cache(models["hubert"], data3, out, nj=2)  # the finishing call (no job) writes the index
    monkeypatch.undo()
    split = SSLCache(out)
    assert (out / "index.tsv").read_text() == (whole.path / "index.tsv").read_text()
    assert [s["sha256"] for s in split.meta["shards"]] == [s["sha256"] for s in whole.meta["shards"]]
    for utt, array in _all_arrays(whole).items():
        np.testing.assert_array_equal(split.load(utt), array)

    # A run without --job on a finished set of shards only merges: no model forward at all.
    (out / "meta.yaml").unlink()
    (out / "index.tsv").unlink()
    monkeypatch.setattr(cache_writer, "_write_shard", lambda *a, **k: pytest.fail("recomputed"))
    _cache(models["hubert"], data3, out, nj=2)
    assert SSLCache(out).utts == whole.utts


def test_reuse_mismatch_and_overwrite(models, data3, tmp_path, caplog, monkeypatch):
    out = _cache(models["wavlm"], data3, tmp_path / "c")
    monkeypatch.setattr(cache_writer, "_write_shard", lambda *a, **k: pytest.fail("recomputed"))
    _cache(models["wavlm"], data3, out)  # complete: reused
    with pytest.raises(SitoolError, match=r"other settings .*differs in: layers.*--overwrite"):
        _cache(models["wavlm"], data3, out, layers=[1])
    monkeypatch.undo()
    _cache(models["wavlm"], data3, out, layers=[1], overwrite=True)
    assert SSLCache(out).layers == [1]


def test_autocast_bf16_fidelity(models, data3, tmp_path):
    fp32 = SSLCache(_cache(models["wavlm"], data3, tmp_path / "fp32", dtype="float32"))
    bf16 = SSLCache(_cache(models["wavlm"], data3, tmp_path / "bf16", autocast="bf16"))
    fidelity = bf16.meta["autocast_fidelity"]
    assert bf16.meta["autocast"] == "bf16"
    assert 0.99 <= fidelity["min_layer"] <= fidelity["mean"] <= 1.0
    from sitool.datadir import DataDir
    from sitool.ssl.extract import extract_hidden_states

    encoder = load_ssl_encoder(models["wavlm"])  # plain autocast, weights not pre-cast
    for utt in fp32.utts:
        a, b = fp32.load(utt), bf16.load(utt).astype(np.float32)
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        assert cos.mean() > 0.99
        plain = extract_hidden_states(encoder, [DataDir(data3).audio(utt)], None, "bf16")[0]
        np.testing.assert_array_equal(plain.numpy().astype(np.float16), bf16.load(utt))
    # pre-casting (what cache-ssl does) folds the positional conv's weight norm into a
    # plain bf16 weight and leaves the outputs bit-identical to plain autocast
    from sitool.ssl.extract import cast_weights_for_autocast

    assert any(hasattr(m, "parametrizations") for m in encoder.model.modules())
    cast_weights_for_autocast(encoder, "bf16")
    convs = [m for m in encoder.model.modules()
             if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    assert not any(hasattr(m, "parametrizations") for m in convs)
    assert all(m.weight.dtype == torch.bfloat16 for m in convs)
    utt = fp32.utts[0]
    cast = extract_hidden_states(encoder, [DataDir(data3).audio(utt)], None, "bf16")[0]
    np.testing.assert_array_equal(cast.numpy().astype(np.float16), bf16.load(utt))


def test_reader_in_dataloader_workers(models, data3, tmp_path):
    cache = SSLCache(_cache(models["wavlm"], data3, tmp_path / "c"))
    expected = _all_arrays(cache)  # opens memory maps in this process first

    class Frames(torch.utils.data.Dataset):
        def __len__(self):
            return len(cache.utts)

        def __getitem__(self, i):
            return cache.utts[i], torch.from_numpy(cache.load(cache.utts[i]))

    loader = torch.utils.data.DataLoader(Frames(), batch_size=None, num_workers=2)
    got = dict(loader)
    assert sorted(got) == cache.utts
    for utt, array in expected.items():
        np.testing.assert_array_equal(got[utt].numpy(), array)
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._maps == {} and np.array_equal(clone.load(cache.utts[0]), expected[cache.utts[0]])


def test_missing_and_damaged_cache_messages(models, data3, tmp_path):
    with pytest.raises(SitoolError, match=r"no SSL cache .*sitool cache-ssl --ssl-model MODEL "
                                          r"data/nothing --out"):
        SSLCache(tmp_path / "ssl" / "nothing")
    out = _cache(models["wavlm"], data3, tmp_path / "set3")
    shard = out / "shards" / "shard-00002.bin"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(SitoolError, match="shard-00002.bin: missing or truncated"):
        SSLCache(out)


def test_too_short_utterance_is_named(models, tmp_path):
    data = make_toy_data_dir(tmp_path / "short", num_utts=2, seconds=(0.01, 0.02))
    with pytest.raises(SitoolError, match=r"utterance 'toyspk0_000' has \d+ samples, fewer than"):
        _cache(models["wavlm"], data, tmp_path / "c")


def test_cli_cache_ssl_several_sets(models, tmp_path):
    a = make_toy_data_dir(tmp_path / "data" / "a", num_utts=2, seed=1)
    b = make_toy_data_dir(tmp_path / "data" / "b", num_utts=2, seed=2)
    root = tmp_path / "dump" / "ssl" / "tiny"
    result = CliRunner().invoke(main, ["cache-ssl", "--ssl-model", str(models["hubert"]), str(a),
                                       str(b), "--out", str(root), "--layers", "0,2",
                                       "--num-threads", "1"])
    assert result.exit_code == 0, result.output
    for name in ("a", "b"):
        cache = SSLCache(root / name)
        assert cache.layers == [0, 2] and len(cache) == 2
        assert read_yaml(root / name / "meta.yaml")["ssl_model"] == str(models["hubert"])


def test_helpers():
    assert model_tag("microsoft/wavlm-large") == "wavlm-large"
    assert model_tag("exp/ssl_tiny/") == "ssl_tiny"
    assert parse_layers("all") is None and parse_layers("12,0,6,6") == [0, 6, 12]
    with pytest.raises(SitoolError, match="comma-separated"):
        parse_layers("0;6")
    durations = {"a": 1.0, "b": 2.0, "c": 1.5, "d": 0.4}
    assert plan_shards(["a", "b", "c", "d"], durations, 3.0) == [["a", "b"], ["c", "d"]]
    assert plan_shards(["a", "b"], durations, 0.5) == [["a"], ["b"]]


def test_extraction_leaves_no_inference_tensors_for_training(models):
    """Bug: w2v-BERT's rotary position table, cached by an extraction under inference mode
    (a dev evaluation), was reused by the next training step of the same length, and the
    backward pass failed ('Inference tensors cannot be saved for backward')."""
    from sitool.ssl.extract import extract_hidden_states

    encoder = load_ssl_encoder(models["w2v-bert"], freeze="none")
    wav = torch.randn(1, 16000) * 0.1
    extract_hidden_states(encoder, [wav[0].numpy()])
    encoder.train()
    states, _ = encoder(wav, torch.tensor([16000]))
    states[-1].sum().backward()
    assert encoder.model.encoder.layers[0].ffn1.intermediate_dense.weight.grad is not None
