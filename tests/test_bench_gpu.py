"""bench/gpu.py --small runs on a CPU and prints one row per measurement."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gpu_bench_small_mode(capsys):
    path = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--small", "--in-process", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("# bench/gpu.py --small on CPU")
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 8
    cache = [r for r in rows if r[0] == "cache"]
    train = [r for r in rows if r[0] == "train"]
    assert {(r[1], r[2]) for r in cache} == {(s, p) for s in ("base-small", "large-small")
                                             for p in ("fp32", "bf16")}
    assert {(r[2], r[4]) for r in train} == {(s, c) for s in ("base-small", "large-small")
                                             for c in ("off", "on")}
    assert all(float(r[5 if r[0] == "train" else 4]) > 0 for r in rows)   # throughputs
