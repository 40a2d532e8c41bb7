"""Logging set-up: console (stderr) and, when asked, a log file with the same lines."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"


def setup_logging(log_file: str | os.PathLike | None = None, verbose: bool = False) -> None:
    """Configure the root logger once per process: stderr plus an optional appended file."""
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
    if not sys.stderr.isatty():
        # Progress bars going to a log file or pipe: redraw every 30 s, not many times a second.
        os.environ.setdefault("TQDM_MININTERVAL", "30")
    for noisy in ("matplotlib", "PIL", "urllib3", "filelock", "httpx", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
