"""Checkpoints: plain tensors, dicts and lists only, so ``torch.load(weights_only=True)`` reads them.

``last.pt`` (written every epoch) has everything to resume: model, optimiser, scheduler,
per-process RNG states, epoch, early-stopping state, history. ``best.pt`` holds the model of
the epoch with the best dev score. Both carry the resolved config and the target
normalisation, so decoding needs nothing else (and the SSL model dir for frozen encoders).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from sitool.errors import SitoolError
from sitool.io import atomic_path

FORMAT = 1


def rng_state() -> dict:
    """This process's RNG states (torch, CUDA, numpy, python) as plain types."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


DAMAGED_FIX = ("train again (sitool train ... --overwrite) or pick the other checkpoint "
               "(--checkpoint best|last)")


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` atomically and durably: into a temporary file that is flushed to
    disk, then renamed onto ``path``, so a kill or a crash mid-save leaves the last good
    checkpoint in place, never a truncated one."""
    payload = {"format": FORMAT, **payload}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())


def load_checkpoint(path: str | os.PathLike, fix: str = DAMAGED_FIX) -> dict:
    """Read a checkpoint; a damaged file is one line ending in ``fix`` (what to do)."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: checkpoint not found; it is written by sitool train")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for corrupt/unsafe files
        raise SitoolError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e}); the file "
                          f"is damaged (cut short?): {fix}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SitoolError(f"{path}: not a sitool checkpoint of format {FORMAT}")
    return payload
