"""Small file helpers shared by every stage: atomic writes and Kaldi-style table files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import yaml

from sitool.errors import SitoolError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Works for files and directories: whatever the body creates at the temporary path
    replaces ``path`` in one rename, so a reader never sees a half-written output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / "out"
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save ``array`` as .npy at ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def read_table(path: str | os.PathLike) -> dict[str, str]:
    """Read a Kaldi-style two-column table (``key value...``) into an ordered dict.

    The value is the rest of the line after the first run of whitespace. Duplicate keys and
    lines without a value are errors naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: file not found")
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise SitoolError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
            key, value = parts
            if key in table:
                raise SitoolError(f"{path}:{lineno}: duplicate key {key!r}")
            table[key] = value.strip()
    return table


def format_table(table: Mapping[str, object]) -> str:
    """Format a mapping as a Kaldi-style table, sorted by key (C locale byte order)."""
    return "".join(f"{key} {table[key]}\n" for key in sorted(table))


def write_table(path: str | os.PathLike, table: Mapping[str, object]) -> None:
    """Write a Kaldi-style table sorted by key, atomically."""
    atomic_write_text(path, format_table(table))


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping; a missing file or a syntax error is one clear line."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SitoolError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SitoolError(f"{path}: expected a YAML mapping at the top level")
    return data


def write_yaml(path: str | os.PathLike, data: Mapping) -> None:
    """Write a mapping as YAML (keys in insertion order), atomically."""
    atomic_write_text(path, yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True))
