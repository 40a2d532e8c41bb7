"""Read access to a complete SSL feature cache (layout: :mod:`sitool.ssl.cache_layout`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.io import read_yaml
from sitool.ssl.cache_layout import CACHE_FORMAT
from sitool.ssl.cache_stamps import data_stamp


class SSLCache:
    """Read access to one complete cached set (``dump/ssl/<model_tag>/<set>/``).

    ``load(utt)`` returns ``[n_layers, frames, dim]`` in the stored dtype, read from
    memory-mapped shards. Safe in DataLoader workers: shards are (re)opened lazily in each
    process and never pickled.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        meta_path = self.path / "meta.yaml"
        if not meta_path.is_file():
            raise SitoolError(self._missing_message())
        self.meta = read_yaml(meta_path)
        if self.meta.get("format") != CACHE_FORMAT:
            raise SitoolError(f"{self.path}: SSL cache format {self.meta.get('format')!r}, this "
                              f"sitool reads format {CACHE_FORMAT}; re-run cache-ssl --overwrite")
        self.layers: list[int] = [int(i) for i in self.meta["layers"]]
        self.frame_rate: float = float(self.meta["frame_rate"])
        self.dim: int = int(self.meta["dim"])
        self.dtype = np.dtype(self.meta["dtype"])
        self._shards = [s["name"] for s in self.meta["shards"]]
        for entry in self.meta["shards"]:
            path = self.path / "shards" / f"{entry['name']}.bin"
            if not path.is_file() or path.stat().st_size != entry["bytes"]:
                raise SitoolError(f"{path}: missing or truncated ({entry['bytes']} bytes "
                                  f"expected); re-run cache-ssl --overwrite for {self.path}")
        self._index: dict[str, tuple[int, int, int]] = {}
        with open(self.path / "index.tsv", encoding="utf-8") as f:
            for line in f:
                utt, shard_id, offset, frames = line.rstrip("\n").split("\t")
                self._index[utt] = (int(shard_id), int(offset), int(frames))
        if len(self._index) != self.meta["num_utts"]:
            raise SitoolError(f"{self.path}/index.tsv: {len(self._index)} utterances but "
                              f"meta.yaml says {self.meta['num_utts']}; re-run cache-ssl "
                              "--overwrite")
        self.utts: list[str] = sorted(self._index)
        self._maps: dict[int, np.memmap] = {}
        self._pid = os.getpid()

    def check_data(self, data: DataDir) -> None:
        """Fail unless this cache was made from the audio ``data`` holds now (the data
        fingerprint of meta.yaml, see :func:`data_stamp`)."""
        stamp = data_stamp(data)
        if self.meta.get("data_stamp") != stamp:
            raise SitoolError(
                f"{self.path}: SSL cache made from other audio than {data.path} holds now "
                f"(data fingerprint {self.meta.get('data_stamp')} when cached, {stamp} now: "
                f"wav.scp, mix.tsv, utt2dur or the audio files changed); cache it again: "
                f"sitool cache-ssl --ssl-model {self.meta.get('ssl_model')} {data.path} "
                f"--out {self.path.parent} --overwrite")

    def _missing_message(self) -> str:
        settings_path = self.path / "settings.yaml"
        if settings_path.is_file():
            settings = read_yaml(settings_path)
            shard_dir = self.path / "shards"
            done = len(list(shard_dir.glob("*.done"))) if shard_dir.is_dir() else 0
            return (f"{self.path}: SSL cache incomplete ({done} of {settings.get('num_shards')} "
                    f"shards done, no meta.yaml); finish it with `{settings.get('command')}`")
        return (f"{self.path}: no SSL cache (meta.yaml missing); make it with `sitool cache-ssl "
                f"--ssl-model MODEL data/{self.path.name} --out {self.path.parent}` "
                "(run.sh stage 3)")

    def __repr__(self) -> str:
        return f"SSLCache({str(self.path)!r})"

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, utt: object) -> bool:
        return utt in self._index

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def frames(self, utt: str) -> int:
        """Number of frames cached for ``utt``."""
        return self._entry(utt)[2]

    def _entry(self, utt: str) -> tuple[int, int, int]:
        try:
            return self._index[utt]
        except KeyError:
            raise SitoolError(f"{self.path}: utterance {utt!r} is not in the SSL cache (made "
                              f"from {self.meta.get('data_dir')})") from None

    def _map(self, shard_id: int) -> np.memmap:
        if self._pid != os.getpid():  # forked into a DataLoader worker: open our own maps
            self._maps = {}
            self._pid = os.getpid()
        array = self._maps.get(shard_id)
        if array is None:
            path = self.path / "shards" / f"{self._shards[shard_id - 1]}.bin"
            array = np.memmap(path, dtype=self.dtype, mode="r")
            self._maps[shard_id] = array
        return array

    def load(self, utt: str, layers: Sequence[int] | None = None) -> np.ndarray:
        """Hidden states of ``utt``: ``[n_layers, frames, dim]`` (stored dtype, a copy).

        ``layers`` picks model layer numbers among ``self.layers`` (default all cached)."""
        shard_id, offset, frames = self._entry(utt)
        block = len(self.layers) * self.dim
        flat = self._map(shard_id)[offset * block:(offset + frames) * block]
        array = flat.reshape(len(self.layers), frames, self.dim)
        if layers is not None:
            missing = [i for i in layers if i not in self.layers]
            if missing:
                raise SitoolError(f"{self.path}: layer(s) {missing} not cached (cached: "
                                  f"{self.layers})")
            return np.array(array[[self.layers.index(i) for i in layers]])
        return np.array(array)

    def verify(self) -> None:
        """Check every shard's sha256 against meta.yaml (reads the whole cache)."""
        for entry in self.meta["shards"]:
            path = self.path / "shards" / f"{entry['name']}.bin"
            sha = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 24), b""):
                    sha.update(chunk)
            if sha.hexdigest() != entry["sha256"]:
                raise SitoolError(f"{path}: checksum mismatch (corrupted); re-run cache-ssl "
                                  f"--overwrite for {self.path}")
