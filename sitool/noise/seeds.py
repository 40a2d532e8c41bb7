"""Seeds derived from names, so that a random draw depends on *what* it is for, never on the
order things happen to be processed in (adding a noise type or an utterance leaves every
other draw unchanged)."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*keys: object) -> int:
    """A 31-bit seed from ``keys`` (e.g. the global seed, an utterance id and a draw index)."""
    text = "\x1f".join(str(k) for k in keys)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") >> 1


def rng_for(*keys: object) -> np.random.Generator:
    """``numpy.random.default_rng(derive_seed(*keys))``."""
    return np.random.default_rng(derive_seed(*keys))
