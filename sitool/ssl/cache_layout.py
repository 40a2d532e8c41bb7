"""The SSL feature cache's on-disk layout (DESIGN.md §3), shared by its writer
(:mod:`sitool.ssl.cache_writer`) and its reader (:mod:`sitool.ssl.cache_reader`).

Layout of one cached set, ``dump/ssl/<model_tag>/<set>/``::

    settings.yaml             what is being cached (model, layers, dtype, shard plan); written first
    shards/shard-00001.bin    raw arrays: per utterance one C-order block [n_layers, frames, dim]
    shards/shard-00001.tsv    utt <TAB> offset <TAB> frames (offset in frames from the shard start)
    shards/shard-00001.done   YAML: bytes, sha256, utts, frames, settings hash (written last)
    index.tsv                 utt <TAB> shard <TAB> offset <TAB> frames, all utterances, sorted
    meta.yaml                 model, layers, frame_rate, dim, dtype, per-shard sizes and checksums;
                              its presence means the cache is complete
"""

from __future__ import annotations

import os
from pathlib import Path

from sitool.errors import SitoolError

CACHE_FORMAT = 1


def model_tag(ssl_model: str | os.PathLike) -> str:
    """Directory name for a model's caches: the last path component of the id or path
    (``microsoft/wavlm-large`` → ``wavlm-large``, ``exp/ssl_tiny`` → ``ssl_tiny``)."""
    name = str(ssl_model).rstrip("/\\")
    tag = Path(name).name
    if not tag or tag in (".", ".."):
        raise SitoolError(f"cannot derive a model tag from {ssl_model!r}; give --out explicitly")
    return tag


def shard_name(index: int) -> str:
    """File stem of shard ``index`` (1-based)."""
    return f"shard-{index:05d}"
