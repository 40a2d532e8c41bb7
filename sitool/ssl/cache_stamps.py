"""Fingerprints of what an SSL cache was made from: the model's files, the data dir's
audio, and the cache settings (the stamps that ``meta.yaml`` records and readers check)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from sitool.datadir import DataDir


def _sha1(*parts: bytes) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(part)
    return h.hexdigest()


def local_model_dir(ssl_model: str) -> Path | None:
    """The local dir holding the model's files (a local path, or its HF cache snapshot)."""
    local = Path(ssl_model)
    if (local / "config.json").is_file():
        return local
    # Lazy: huggingface_hub is a heavy import that only a hub id needs.
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        found = try_to_load_from_cache(ssl_model, "config.json")
    except HFValidationError:  # neither a local dir nor a valid hub id
        return None
    return Path(found).parent if isinstance(found, str) else None


def model_stamp(ssl_model: str) -> str:
    """A cheap fingerprint of a model's files: config.json content plus weight-file sizes.

    It changes when the model at a path is replaced (e.g. re-pretrained), so a cache made
    from the old weights is not silently reused. Empty when the model cannot be found (loading
    it then fails with its own clear error)."""
    folder = local_model_dir(ssl_model)
    if folder is None:
        return ""
    parts = [(folder / "config.json").read_bytes()]
    for path in sorted(folder.iterdir()):
        if path.suffix in (".safetensors", ".bin", ".pt"):
            parts.append(f"{path.name}:{path.stat().st_size}".encode())
    return _sha1(*parts)[:16]


def data_stamp(data: DataDir) -> str:
    """Fingerprint of what determines a data dir's audio: its wav.scp, mix.tsv and utt2dur,
    and the size and modification time of every audio file they name (so audio made again
    in place, at the same paths and of the same length, changes it too)."""
    parts = []
    for name in ("utt2dur", "wav.scp", "mix.tsv"):
        if data.has(name):
            parts.append(name.encode() + (data.path / name).read_bytes())
    files = set(data.wav_scp.values())
    for row in data.mix.values():
        files.update((row.clean_path, row.noise_file))
    for file in sorted(files):
        try:
            stat = os.stat(file)
            parts.append(f"{file}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        except OSError:
            parts.append(f"{file}:missing".encode())
    return _sha1(*parts)[:16]


def settings_hash(settings: dict) -> str:
    """Fingerprint of the cache settings that decide its content (``settings.yaml``)."""
    keys = ("format", "ssl_model", "model_stamp", "layers", "dtype", "autocast",
            "shard_seconds", "data_stamp", "num_utts")
    text = yaml.safe_dump({k: settings[k] for k in keys}, sort_keys=True)
    return _sha1(text.encode())[:16]
