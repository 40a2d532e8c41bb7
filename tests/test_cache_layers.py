"""``cache-ssl --config``: only the layers the configs aggregate are cached; the size is printed
before any extraction and a disk that lacks it is refused with one line; ``--precision``."""

import shutil
from collections import namedtuple

import pytest
import yaml
from click.testing import CliRunner

import sitool.ssl.cache_writer as cache_writer
from sitool.cli import main
from sitool.errors import SitoolError
from sitool.io import read_yaml
from sitool.ssl.cache_reader import SSLCache
from sitool.ssl.cache_writer import cache_ssl
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.training.config import cached_layers

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(path, layers, freeze="all", **model):
    path.write_text(yaml.safe_dump({"model": {"type": "si", "ssl": {
        "model": "x", "freeze": freeze, "layers": layers}, **model}}))
    return path


def test_layers_of_configs(tmp_path):
    a = _config(tmp_path / "a.yaml", [-1, 2])
    b = _config(tmp_path / "b.yaml", [0, 2])
    tuned = _config(tmp_path / "tuned.yaml", None, freeze="cnn")   # never reads the cache
    assert cached_layers([a, b, tuned], num_layers=5) == [0, 2, 4]
    assert cached_layers([a, _config(tmp_path / "all.yaml", None)], 5) is None
    assert cached_layers([tuned], 5) is None
    with pytest.raises(SitoolError, match=r"a.yaml: model.ssl.layers: layer 2 out of range"):
        cached_layers([a], 2)


def test_a_fine_tuned_joint_model_with_clean_feature_targets_gets_its_target_layer_cached(tmp_path):
    """Its encoder never reads the cache, but its SE targets (the clean speech's hidden
    states of the frozen SSL) come from it: the layer must be cached with the others."""
    a = _config(tmp_path / "a.yaml", [1])
    joint = _config(tmp_path / "joint.yaml", None, freeze="cnn", type="joint",
                    se={"target": "ssl", "ssl_target_layer": 3,
                        "ssl_target_cache": ["dump/ssl/x/train"]})
    assert cached_layers([a, joint], num_layers=5) == [1, 3]
    assert cached_layers([joint], num_layers=5) == [3]


def test_cli_caches_only_config_layers_and_prints_size(tmp_path, caplog):
    ssl = make_tiny_ssl_model(tmp_path / "ssl", layers=3)
    data = make_toy_data_dir(tmp_path / "data" / "toy", num_utts=2)
    conf = _config(tmp_path / "si.yaml", [1, -1])
    root = tmp_path / "dump"
    res = CliRunner().invoke(main, ["cache-ssl", "--ssl-model", str(ssl), str(data),
                                    "--out", str(root), "--config", str(conf),
                                    "--precision", "bf16", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "cache-ssl toy" not in res.output        # --no-progress: no bar
    cache = SSLCache(root / "toy")
    assert cache.layers == [1, 3]
    assert read_yaml(root / "toy" / "meta.yaml")["autocast"] == "bf16"
    # the estimate line names the size (2 layers x 32 dims x float16 x 50 frames/s)
    assert "Disk: ~" in res.output and "(2 layers x 32 dims x float16 x 50 frames/s)" in res.output
    res = CliRunner().invoke(main, ["cache-ssl", "--ssl-model", str(ssl), str(data), "--out",
                                    str(root), "--config", str(conf), "--layers", "0"])
    assert res.exit_code != 0 and "not both" in res.output


def test_disk_too_small_is_refused_before_extraction(tmp_path, monkeypatch):
    ssl = make_tiny_ssl_model(tmp_path / "ssl")
    data = make_toy_data_dir(tmp_path / "data" / "toy", num_utts=2)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(cache_writer.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 1000))
    with pytest.raises(SitoolError, match=r"toy: the cache needs ~[\d.]+ kB but only 1.0 kB "
                                          r"are free there; free space, cache fewer layers"):
        cache_ssl(str(ssl), data, tmp_path / "dump" / "toy", progress=False)
    assert not list((tmp_path / "dump" / "toy" / "shards").glob("*.bin"))
    monkeypatch.setattr(cache_writer.shutil, "disk_usage", shutil.disk_usage)
