"""Logs on real corpora: no tqdm bars when stderr is not a terminal, and one summary line
instead of a line per file resampled on load."""

import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm  # imported before logging is set up, as the stage modules do

from sitool import audio
from sitool.audio import RESAMPLE_LOG, load_audio
from sitool.log import progress_bars_off, quiet_progress_bars, setup_logging

REPO = Path(__file__).resolve().parents[1]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def _draw(stream):
    for _ in tqdm(range(50), desc="work", disable=False, file=stream, mininterval=0):
        pass


def test_bars_are_off_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("SITOOL_PROGRESS", raising=False)
    try:
        piped = io.StringIO()
        monkeypatch.setattr(sys, "stderr", piped)
        setup_logging()
        assert progress_bars_off()
        _draw(piped)                       # the call site asks for a bar: disable=False
        assert piped.getvalue() == ""
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        setup_logging()
        assert not progress_bars_off()
        _draw(terminal)
        assert "work: 100%" in terminal.getvalue()
        monkeypatch.setenv("SITOOL_PROGRESS", "1")   # kept on request (e.g. | tee)
        monkeypatch.setattr(sys, "stderr", piped)
        setup_logging()
        _draw(piped)
        assert "work: 100%" in piped.getvalue()
    finally:
        quiet_progress_bars(False)


def test_cli_console_and_log_file_hold_no_bars(toy_data, tmp_path):
    """As run.sh runs a stage: stderr redirected to a .console file, plus --log-file."""
    console, logfile = tmp_path / "stage.console", tmp_path / "stage.log"
    with open(console, "w") as err:
        res = subprocess.run([sys.executable, str(REPO / "bin" / "sitool"), "--log-file",
                              str(logfile), "validate-data", str(toy_data)],
                             stdout=subprocess.PIPE, stderr=err, text=True, cwd=tmp_path)
    assert res.returncode == 0, console.read_text()
    assert "OK" in res.stdout + console.read_text()
    for path in (console, logfile):
        text = path.read_text()
        assert "it/s" not in text and "\r" not in text and "%|" not in text, text


def _rate_files(folder, n, rate=22050):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"n{i:02d}.wav"
        sf.write(path, 0.1 * rng.standard_normal(rate // 2).astype(np.float32), rate)
        paths.append(path)
    return paths


def test_reading_20_files_at_22k_logs_one_info_line(tmp_path, caplog, monkeypatch):
    paths = _rate_files(tmp_path / "noise", 20)
    RESAMPLE_LOG.reset()
    with caplog.at_level(logging.DEBUG, logger="sitool.audio"):
        for path in paths:
            assert load_audio(path, 16000, downmix=True).size == 8000
    info = [r.getMessage() for r in caplog.records
            if r.levelno >= logging.INFO and "resampl" in r.getMessage()]
    debug = [r.getMessage() for r in caplog.records
             if r.levelno == logging.DEBUG and "resampling 22050 Hz -> 16000 Hz" in r.getMessage()]
    assert info == ["resampled 1 file(s) from 22050 Hz to 16000 Hz on load (prepare the audio "
                    "at 16000 Hz to skip this; -v lists the files)"]
    assert len(debug) == 20 and str(paths[7]) in debug[7]
    assert RESAMPLE_LOG.counts == {(22050, 16000): 20}
    # after the interval, the next file's line sums up every file since the last one
    caplog.clear()
    now = audio.time.monotonic()
    monkeypatch.setattr(audio.time, "monotonic", lambda: now + audio.RESAMPLE_LOG_INTERVAL_S + 1)
    with caplog.at_level(logging.INFO, logger="sitool.audio"):
        load_audio(paths[0], 16000)
    assert [r.getMessage() for r in caplog.records][0].startswith(
        "resampled 20 file(s) from 22050 Hz to 16000 Hz")
    RESAMPLE_LOG.reset()


def test_a_users_own_file_is_still_named(tmp_path, caplog):
    (path,) = _rate_files(tmp_path / "rec", 1, rate=44100)
    with caplog.at_level(logging.INFO, logger="sitool.audio"):
        load_audio(path, 16000, downmix=True, note=True)
    assert f"{path}: resampling 44100 Hz -> 16000 Hz" in caplog.text
