"""Logging set-up: console (stderr) and, when asked, a log file with the same lines.

Progress bars (tqdm) are for a terminal: when stderr is not one (``run.sh`` redirecting a
stage to a ``.console`` file, a pipe, CI), ``setup_logging`` turns every bar of the process
off, whatever its call site asks, so logs hold log lines only. ``SITOOL_PROGRESS=1`` keeps
them (e.g. ``| tee`` to a terminal); ``--no-progress`` turns them off on a terminal too.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"

_bars = {"off": False}


def _patch_tqdm() -> None:
    """Wrap ``tqdm.__init__`` (once per process) so ``quiet_progress_bars`` can force
    ``disable=True`` on bars whose modules imported tqdm before logging was set up."""
    from tqdm import std

    if getattr(std.tqdm.__init__, "_sitool_quiet", False):
        return
    original = std.tqdm.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        if _bars["off"]:
            kwargs["disable"] = True
        original(self, *args, **kwargs)

    __init__._sitool_quiet = True  # type: ignore[attr-defined]
    std.tqdm.__init__ = __init__


def quiet_progress_bars(off: bool = True) -> None:
    """Turn every tqdm bar of this process off (``off``) or leave them to their call sites."""
    _patch_tqdm()
    _bars["off"] = off


def progress_bars_off() -> bool:
    return _bars["off"]


def setup_logging(log_file: str | os.PathLike | None = None, verbose: bool = False) -> None:
    """Configure the root logger once per process: stderr plus an optional appended file;
    progress bars off unless stderr is a terminal (module docstring)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    level = logging.DEBUG if verbose else logging.INFO
    root.setLevel(level)
    formatter = logging.Formatter(FORMAT, DATEFMT)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    root.addHandler(console)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    quiet_progress_bars(not tty and os.environ.get("SITOOL_PROGRESS", "") != "1")
    if not tty:
        # Child processes that draw bars anyway (SITOOL_PROGRESS=1): redraw every 30 s.
        os.environ.setdefault("TQDM_MININTERVAL", "30")
    for noisy in ("matplotlib", "PIL", "urllib3", "filelock", "httpx", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def time_left(epoch_seconds: list[float], epochs_left: int) -> str:
    """What a training log says after an epoch: the time the remaining ``epochs_left`` epochs
    take at the mean of ``epoch_seconds`` so far, e.g. 'about 3.5 min left (7 more epochs at
    30 s; early stopping may end it sooner)'; '' when none is left."""
    if epochs_left <= 0 or not epoch_seconds:
        return ""
    per_epoch = sum(epoch_seconds) / len(epoch_seconds)
    total = per_epoch * epochs_left
    amount = f"{total / 60:.1f} min" if total >= 90 else f"{total:.0f} s"
    return (f"about {amount} left ({epochs_left} more epoch{'s' * (epochs_left > 1)} at "
            f"{per_epoch:.0f} s; early stopping may end it sooner)")
