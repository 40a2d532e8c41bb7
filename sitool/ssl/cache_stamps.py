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


# Files of a model dir that its stamp covers: what decides its hidden states.
STAMPED_CONFIGS = ("config.json", "preprocessor_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
STAMP_PREFIX = "sha256:"
# sha256 of weight files already hashed by this process, by (path, size, mtime, inode).
_FILE_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, streamed; computed once per process for an unchanged file
    (WavLM-Large's 1.2 GB take a few seconds)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        _FILE_DIGESTS[key] = h.hexdigest()
    return _FILE_DIGESTS[key]


def model_stamp(ssl_model: str) -> str:
    """The fingerprint of a model's files: ``sha256:`` and 16 hex digits of a sha256 over
    config.json, preprocessor_config.json and the contents of the weight files.

    It changes whenever the model at a path is replaced by other weights, of the same shape
    too (e.g. re-pretrained), so a cache or a trained head made from the old weights is not
    silently used with the new ones. Empty when the model cannot be found (loading it then
    fails with its own clear error)."""
    folder = local_model_dir(ssl_model)
    if folder is None:
        return ""
    h = hashlib.sha256()
    for name in STAMPED_CONFIGS:
        if (folder / name).is_file():
            h.update(f"{name}\n".encode() + (folder / name).read_bytes() + b"\n")
    for path in sorted(folder.iterdir()):
        if path.suffix in WEIGHT_SUFFIXES and path.is_file():
            h.update(f"{path.name}:{file_digest(path)}\n".encode())
    return STAMP_PREFIX + h.hexdigest()[:16]


def legacy_model_stamp(ssl_model: str) -> str:
    """The stamp sitool wrote before the weight digest: config.json plus the weight files'
    sizes (blind to re-pretrained weights of the same shape). Only to recognise old stamps."""
    folder = local_model_dir(ssl_model)
    if folder is None:
        return ""
    parts = [(folder / "config.json").read_bytes()]
    for path in sorted(folder.iterdir()):
        if path.suffix in WEIGHT_SUFFIXES:
            parts.append(f"{path.name}:{path.stat().st_size}".encode())
    return _sha1(*parts)[:16]


def is_legacy_stamp(stamp: str | None) -> bool:
    """A model stamp in the format before the weight digest (16 hex digits, no prefix)."""
    return bool(stamp) and not str(stamp).startswith(STAMP_PREFIX)


def compare_model_stamp(recorded: str | None, ssl_model: str) -> tuple[str, str]:
    """How a stamp recorded earlier (cache, checkpoint, export) compares with the model now:
    ``(verdict, stamp now)``, verdict ``same``, ``other``, ``legacy`` (an old-format stamp
    that the model's config and file sizes still match: its weights cannot be checked; see
    :data:`LEGACY_NOTE`) or ``unknown`` (nothing recorded, or the model not found)."""
    now = model_stamp(ssl_model)
    if not recorded or not now:
        return "unknown", now
    if not is_legacy_stamp(recorded):
        return ("same" if recorded == now else "other"), now
    return ("legacy" if recorded == legacy_model_stamp(ssl_model) else "other"), now


LEGACY_NOTE = ("model stamp from an older sitool, which covered config.json and the weight "
               "files' sizes but not the weights")


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
