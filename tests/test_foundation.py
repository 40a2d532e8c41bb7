"""Foundation pieces: tables, atomic writes, audio loading, configs, sharding, the CLI shell."""

import dataclasses
import os
import subprocess
import sys
from typing import Literal

import click
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.audio import load_audio
from sitool.cli import COMMANDS, main
from sitool.config import from_dict, load_config
from sitool.datadir import DataDir, TargetInfo
from sitool.errors import SitoolError
from sitool.io import atomic_path, read_table, write_table
from sitool.parallel import shard


def test_tables_round_trip_sorted(tmp_path):
    write_table(tmp_path / "t", {"b": "2 two", "a": "1"})
    assert (tmp_path / "t").read_text() == "a 1\nb 2 two\n"
    assert read_table(tmp_path / "t") == {"a": "1", "b": "2 two"}


def test_duplicate_key_is_an_error(tmp_path):
    (tmp_path / "t").write_text("a 1\na 2\n")
    with pytest.raises(SitoolError, match=r"t:2: duplicate key 'a'"):
        read_table(tmp_path / "t")


def test_atomic_path_leaves_old_output_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_load_audio_resamples_and_rejects_stereo(tmp_path):
    t = np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "mono.wav", tone, 44100)
    out = load_audio(tmp_path / "mono.wav")
    assert out.dtype == np.float32 and len(out) == 16000
    sf.write(tmp_path / "stereo.wav", np.stack([tone, -tone], 1), 44100)
    with pytest.raises(SitoolError, match="2 channels.*downmix"):
        load_audio(tmp_path / "stereo.wav")
    # 16-bit quantisation of +x and -x differs by at most one step (3e-5).
    assert np.abs(load_audio(tmp_path / "stereo.wav", downmix=True)).max() < 1e-4


@pytest.mark.parametrize("content,message", [(None, "audio file not found"),
                                             (b"", "unreadable audio"),
                                             (b"not a wav", "unreadable audio")])
def test_load_audio_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SitoolError, match=message):
        load_audio(path)


def test_load_audio_empty_file(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(SitoolError, match="empty"):
        load_audio(tmp_path / "empty.wav")


def test_data_dir_reads_toy(toy_data):
    data = DataDir(toy_data)
    assert data.utts == sorted(data.utts) and len(data.utts) == 4
    assert data.targets.names == ["LA", "LP", "TTCD"]
    utt = data.utts[0]
    audio = data.audio(utt)
    frames = data.target_array(utt).shape[0]
    assert abs(len(audio) / 16000 - frames / 100) < 0.02
    assert data.condition(utt).is_clean


def test_target_info_rejects_mismatched_units():
    with pytest.raises(SitoolError, match="2 names but 1 units"):
        TargetInfo(names=["LA", "LP"], units=["mm"], frame_rate=100)


@dataclasses.dataclass
class Optim:
    lr: float = 1e-3
    warmup_steps: int = 100


@dataclasses.dataclass
class Schema:
    model: Literal["si", "joint"] = "si"
    se_weight: float = 0.5
    layers: list[int] = dataclasses.field(default_factory=list)
    optim: Optim = dataclasses.field(default_factory=Optim)


def test_config_typo_names_nearest_key(tmp_path):
    (tmp_path / "c.yaml").write_text("model: joint\nse_wieght: 1.0\n")
    with pytest.raises(SitoolError, match=r"unknown key 'se_wieght' \(did you mean 'se_weight'\?\)"):
        load_config(Schema, tmp_path / "c.yaml")


def test_config_nested_typo_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("optim:\n  lr: 0.01\n")
    config = load_config(Schema, tmp_path / "c.yaml", ["optim.warmup_steps=5", "layers=[1, 2]"])
    assert config.optim.lr == 0.01 and config.optim.warmup_steps == 5 and config.layers == [1, 2]
    with pytest.raises(SitoolError, match=r"'optim.warmpu_steps' \(did you mean 'optim.warmup_steps'\?\)"):
        load_config(Schema, tmp_path / "c.yaml", ["optim.warmpu_steps=5"])
    with pytest.raises(SitoolError, match="'cascade' is not one of"):
        from_dict(Schema, {"model": "cascade"})
    with pytest.raises(SitoolError, match="expected an integer"):
        from_dict(Schema, {"optim": {"warmup_steps": 2.5}})


def test_shards_cover_items_once():
    items = list(range(11))
    parts = [shard(items, 3, job) for job in (1, 2, 3)]
    assert sum(parts, []) == items and [len(p) for p in parts] == [3, 4, 4]
    with pytest.raises(SitoolError, match="1..3"):
        shard(items, 3, 4)


def test_limit_threads_reaches_numpy_blas_and_torch():
    # A shard job of `sitool score --num-threads 1` ran numpy's BLAS on every core, so two
    # shards on two cores contended (1.9x slower per utterance). Run in a fresh process with
    # the thread variables unset, so the libraries start with a thread per core.
    code = ("import numpy, torch\n"
            "from threadpoolctl import threadpool_info\n"
            "from sitool.parallel import limit_threads\n"
            "limit_threads(1)\n"
            "import os\n"
            "print(max(i['num_threads'] for i in threadpool_info()), torch.get_num_threads(),\n"
            "      os.environ['OMP_NUM_THREADS'])\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env, check=True)
    assert result.stdout.split() == ["1", "1", "1"]


def test_cli_error_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sitool", "plot-utt", str(tmp_path / "nope"),
                             "u1", "--out", str(tmp_path / "x.png")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: data directory not found"


def test_cli_registry_names_each_command_as_it_is_invoked():
    """Every entry of the one command registry loads a command of that name, and --help lists
    them all in registry order."""
    with click.Context(main) as ctx:
        assert [main.get_command(ctx, name).name for name in COMMANDS] == list(COMMANDS)
    lines = CliRunner().invoke(main, ["--help"]).output.split("Commands:")[1].splitlines()
    assert [line.split()[0] for line in lines if line.strip()] == list(COMMANDS)


def test_plot_utt_writes_png(toy_data, tmp_path):
    out = tmp_path / "utt.png"
    result = subprocess.run([sys.executable, "-m", "sitool", "plot-utt", str(toy_data),
                             "toyspk0_000", "--out", str(out)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10000


def test_config_base_chain_merges_sections(tmp_path):
    (tmp_path / "base.yaml").write_text("model: joint\nlayers: [1, 2]\noptim:\n  lr: 0.01\n  warmup_steps: 7\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("base: ../base.yaml\nlayers: [3]\noptim:\n  lr: 0.5\n")
    config = load_config(Schema, tmp_path / "sub" / "c.yaml")
    assert config.model == "joint" and config.layers == [3]
    assert config.optim.lr == 0.5 and config.optim.warmup_steps == 7
    (tmp_path / "base.yaml").write_text("base: sub/c.yaml\n")
    with pytest.raises(SitoolError, match="loops back"):
        load_config(Schema, tmp_path / "sub" / "c.yaml")
    (tmp_path / "sub" / "c.yaml").write_text("base: nope.yaml\n")
    with pytest.raises(SitoolError, match="base config .*nope.yaml not found"):
        load_config(Schema, tmp_path / "sub" / "c.yaml")
