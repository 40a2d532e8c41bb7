"""Bad input, round 2 (issue 36): mix.tsv rows that contradict themselves, and two runs writing
one output dir at once (docs/bad_input.md lists each case and the line it prints)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir
from sitool.decode import decode
from sitool.errors import SitoolError
from sitool.locking import lock_path, output_lock
from sitool.mixture import COLUMNS, mix_tsv_lines
from sitool.noise.noisy_sets import mix_data_dir
from sitool.scoring.score import score_experiments
from sitool.ssl.cache_writer import cache_ssl
from sitool.testing.noisy_dirs import make_white_noise_dirs
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.config import TrainConfig
from sitool.training.trainer import train
from sitool.validate import validate_data_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny SSL, toy train/dev, a 1-epoch SI model (audio input), a white-noise dir and a
    noisy grid of dev made by sitool mix."""
    root = tmp_path_factory.mktemp("round2")
    paths = make_toy_setup(root, num_train=4, num_dev=2)
    paths["si"] = train(from_dict(TrainConfig, toy_config(
        "si", paths["ssl"], [paths["train"]], [paths["dev"]], epochs=1)), root / "exp" / "si",
        progress=False)
    paths["noise"] = make_white_noise_dirs(root)["test"]
    paths["root"] = root
    return paths


def _noisy_grid(world, out: Path) -> Path:
    return mix_data_dir(world["dev"], world["noise"], out, seed=1, snrs=[0.0, 10.0],
                        progress=False)


def _edit_row(mix_tsv: Path, utt: str, **values) -> int:
    """Set columns of ``utt``'s row; returns its line number."""
    lines = mix_tsv.read_text().splitlines(keepends=True)
    for lineno, line in enumerate(lines, 1):
        fields = line.rstrip("\n").split("\t")
        if fields[0] == utt:
            for name, value in values.items():
                fields[COLUMNS.index(name)] = str(value)
            lines[lineno - 1] = "\t".join(fields) + "\n"
            mix_tsv.write_text("".join(lines))
            return lineno
    raise KeyError(utt)


# FAIL 2 ------------------------------------------------------------------------------------

def test_row_whose_snr_disagrees_with_its_gain_is_named(world, tmp_path):
    """Before: a row whose snr_db was edited (10 -> 0) validated and was scored at 0 dB."""
    noisy = _noisy_grid(world, tmp_path / "data" / "dev_noisy")
    assert validate_data_dir(noisy, progress=False) == []   # sitool mix's rows agree
    rows = DataDir(noisy).mix
    utt = next(u for u, r in rows.items() if r.snr_db == 10.0)
    line = _edit_row(noisy / "mix.tsv", utt, snr_db=0.0)
    problems = validate_data_dir(noisy, progress=False)
    assert problems == [
        f"{noisy}/mix.tsv:{line}: {utt}: snr_db says 0 dB but its gain {rows[utt].gain:.6g} "
        "gives 10.00 dB (the clean speech's active level over the level of the noise it adds), "
        "so it would be scored under the wrong SNR; correct snr_db or gain, or remake the set "
        "with sitool mix --overwrite"], problems
    # a gain changed instead of the SNR: the same check (x2 gain = -6.02 dB)
    _edit_row(noisy / "mix.tsv", utt, snr_db=10.0, gain=repr(2 * rows[utt].gain))
    (problem,) = validate_data_dir(noisy, progress=False)
    assert f"mix.tsv:{line}: {utt}: snr_db says 10 dB" in problem and "gives 3.98 dB" in problem
    # the CLI prints it as one line
    result = CliRunner().invoke(main, ["validate-data", str(noisy)])
    assert result.exit_code == 1 and f"mix.tsv:{line}: {utt}: snr_db says 10 dB" in result.output


def test_noise_offset_past_the_noise_end_is_named_by_validate_and_decode(world, tmp_path):
    """Before: validate-data passed it (with and without --no-audio); decode then failed with a
    line naming no row."""
    noisy = _noisy_grid(world, tmp_path / "data" / "dev_noisy")
    utt = DataDir(noisy).utts[1]
    noise = DataDir(noisy).mix[utt].noise_path           # a 1.2 s test range of white.wav
    line = _edit_row(noisy / "mix.tsv", utt, noise_offset_s=30.0)
    expected = (f"{noisy}/mix.tsv:{line}: {utt}: noise_offset_s 30.000 s is at or past the end "
                f"of its noise {noise} (1.200 s), so the mixture cannot be made; correct the "
                "row or remake the set with sitool mix --overwrite")
    assert validate_data_dir(noisy, progress=False) == [expected]
    assert validate_data_dir(noisy, check_audio=False, progress=False) == [expected]
    with pytest.raises(SitoolError) as error:
        decode(world["si"], [noisy], use_cache=False, progress=False)
    message = str(error.value)
    assert message.startswith(f"{noisy}/mix.tsv:{line}: {utt}: noise {noise}: offset 30.0000 s "
                              "is beyond its 1.200 s; fix the row"), message
    assert message.endswith(f"(sitool validate-data {noisy} lists every such row)")
    assert "\n" not in message


def test_mix_tsv_lines_skip_the_header_and_blank_lines(tmp_path):
    path = tmp_path / "mix.tsv"
    path.write_text("\t".join(COLUMNS) + "\na\tx\n\nb\ty\n")
    assert mix_tsv_lines(path) == {"a": 2, "b": 4}


# FAIL 3 ------------------------------------------------------------------------------------

class Holder:
    """Another process holding ``output_lock(out, nj, job)``, as a running stage would."""

    def __init__(self, out: Path, nj: int = 1, job: int | None = None):
        code = ("import sys; from sitool.locking import output_lock\n"
                f"with output_lock({str(out)!r}, {nj}, {job!r}):\n"
                "    print('held', flush=True); sys.stdin.read()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout.readline().strip() == "held"
        self.pid = self.proc.pid

    def release(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def test_second_train_on_one_out_is_refused_naming_the_holder(world, tmp_path):
    """Before: two trains on one --out both ran (interleaved log, one's checkpoints)."""
    out = tmp_path / "exp" / "si"
    cfg = from_dict(TrainConfig, toy_config("si", world["ssl"], [world["train"]], [world["dev"]],
                                            epochs=1))
    holder = Holder(out)
    try:
        with pytest.raises(SitoolError) as error:
            train(cfg, out, progress=False)
    finally:
        holder.kill()               # killed, as a crashed run: its lock file stays behind
    assert str(error.value) == (
        f"{out}: another sitool run (pid {holder.pid}) is writing it (lock file "
        f"{tmp_path / 'exp' / '.si.lock'}); wait until it ends or choose another output. A "
        "killed run holds no lock.")
    assert not out.exists()         # the refused run wrote nothing
    assert lock_path(out).read_text().strip() == str(holder.pid)
    # the dead holder's lock does not block: the next run trains, then removes the lock file
    assert (train(cfg, out, progress=False) / "checkpoints" / "best.pt").is_file()
    assert not lock_path(out).exists()


def test_lock_is_released_on_error_and_parents_it_made_are_removed(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError):
        with output_lock(out):
            assert lock_path(out).is_file()
            raise RuntimeError("stage failed")
    assert not (tmp_path / "a").exists()
    with output_lock(out):           # free again
        pass


def test_sharded_jobs_run_side_by_side_but_not_twice(world, tmp_path):
    """--nj 2 --job 1 and --job 2 at once are fine; the same job twice is not, and the finishing
    call (no --job) waits for no running job (cache-ssl, decode and score alike)."""
    out = tmp_path / "dump" / "dev"
    job1 = Holder(out, 2, 1)                           # job 1 is running
    try:
        cache_ssl(str(world["ssl"]), world["dev"], out, nj=2, job=2, shard_seconds=0.5,
                  progress=False)                    # job 2 runs beside it
        assert len(list((out / "shards").glob("*.bin"))) >= 1
        with pytest.raises(SitoolError, match=rf"dev: another sitool run \(pid {job1.pid}\) is "
                                              r"writing job 1 of 2 there \(lock file .*/dump/"
                                              r"\.dev\.job1of2\.lock\)"):
            cache_ssl(str(world["ssl"]), world["dev"], out, nj=2, job=1, shard_seconds=0.5,
                      progress=False)
        with pytest.raises(SitoolError, match=rf"another sitool run \(pid {job1.pid}\) is "
                                              r"writing it \(lock file .*/dump/\.dev\.lock\)"):
            cache_ssl(str(world["ssl"]), world["dev"], out, nj=2, shard_seconds=0.5,
                      progress=False)
    finally:
        job1.release()
    cache_ssl(str(world["ssl"]), world["dev"], out, nj=2, shard_seconds=0.5, progress=False)
    assert (out / "meta.yaml").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["dev"]      # no lock file left

    # decode and score: the same rule on the decode dir
    decode_out = Path(world["si"]) / "decode" / "dev"
    job2 = Holder(decode_out, 2, 2)
    try:
        decode(world["si"], [world["dev"]], nj=2, job=1, use_cache=False, progress=False)
        with pytest.raises(SitoolError, match=rf"pid {job2.pid}\) is writing job 2 of 2 there"):
            decode(world["si"], [world["dev"]], nj=2, job=2, use_cache=False, progress=False)
        with pytest.raises(SitoolError, match=rf"pid {job2.pid}\) is writing it"):
            decode(world["si"], [world["dev"]], nj=2, use_cache=False, progress=False)
    finally:
        job2.release()
    decode(world["si"], [world["dev"]], nj=2, use_cache=False, progress=False)
    assert (decode_out / "decode.yaml").is_file()
    job1 = Holder(decode_out, 2, 1)
    try:
        score_experiments([world["si"]], nj=2, job=2, make_plots=False, progress=False)
        with pytest.raises(SitoolError, match=rf"pid {job1.pid}\) is writing job 1 of 2 there"):
            score_experiments([world["si"]], nj=2, job=1, make_plots=False, progress=False)
    finally:
        job1.release()
    result = score_experiments([world["si"]], nj=2, make_plots=False, progress=False)
    assert result.score_files and all(p.is_file() for p in result.score_files)


@pytest.mark.parametrize("stage", ["mix", "prepare-noise", "export", "pretrain-ssl",
                                   "prepare", "synth-noise", "synth-corpus"])
def test_other_stages_refuse_a_second_writer(world, tmp_path, stage):
    """Every stage that writes a dir holds its lock (the CLI prints the one line)."""
    data = tmp_path / "data"
    (tmp_path / "pretrain.yaml").write_text("train:\n  steps: 1\n")
    args, out = {
        "mix": (["mix", str(world["dev"]), str(world["noise"]), str(data / "dev_noisy"),
                 "--snrs", "0"], data / "dev_noisy"),
        "prepare-noise": (["prepare-noise", "dir", str(world["root"] / "noise_files"), "--out",
                           str(data), "--name", "white", "--type", "white", "--category", "non-babble"],
                          data / "white"),
        "export": (["export", str(world["si"]), "--out", str(tmp_path / "model")],
                   tmp_path / "model"),
        "pretrain-ssl": (["pretrain-ssl", str(world["dev"]), "--out", str(tmp_path / "ssl"),
                          "--config", str(tmp_path / "pretrain.yaml")], tmp_path / "ssl"),
        "prepare": (["prepare", "synth", "--corpus", str(tmp_path / "corpus"), "--out",
                     str(data)], data),
        "synth-noise": (["synth-noise", "--out", str(tmp_path / "noise"), "--no-babble"],
                        tmp_path / "noise"),
        "synth-corpus": (["synth-corpus", "--out", str(tmp_path / "corpus"), "--num-utts", "1"],
                         tmp_path / "corpus"),
    }[stage]
    holder = Holder(out)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        holder.release()
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: {out}: another sitool run (pid {holder.pid}) is writing it (lock file "
        f"{lock_path(out)}); wait until it ends or choose another output. A killed run holds "
        "no lock.")
    assert not out.exists()
