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
    replaces ``path`` in one rename, so a reader never sees a half-written output. Its
    files get the modes the umask gives (:func:`respect_umask`: writers such as safetensors
    create theirs 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / "out"
    try:
        yield target
        respect_umask(target)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def current_umask() -> int:
    """The process umask (read from /proc where possible: setting it to read it races with
    other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def respect_umask(path: str | os.PathLike) -> None:
    """Give ``path`` (and, for a dir, everything under it) the modes that plain ``open`` and
    ``mkdir`` would: files ``0666 & ~umask`` (plus their execute bits), dirs ``0777 & ~umask``.
    Writers that go through ``mkstemp`` (safetensors, for one) leave files 0600 whatever the
    umask, so other users of a shared model dir could not read them."""
    path = Path(path)
    if not path.exists() or path.is_symlink():
        return
    mask = current_umask()
    paths = [path] + (sorted(path.rglob("*")) if path.is_dir() else [])
    for item in paths:
        if item.is_symlink():
            continue
        mode = item.stat().st_mode
        wanted = (0o777 if item.is_dir() else 0o666 | (mode & 0o111)) & ~mask
        if mode & 0o777 != wanted:
            os.chmod(item, wanted)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save ``array`` as .npy at ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


BOM = "\ufeff"


def text_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file; a byte-order mark or bytes that are not UTF-8 are one
    line naming the file (a BOM would otherwise become part of the first key)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[:e.start].count(b"\n") + 1
        raise SitoolError(f"{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start}); "
                          "save it as UTF-8") from None
    if text.startswith(BOM):
        raise SitoolError(f"{path}:1: starts with a byte-order mark (saved as 'UTF-8 with "
                          "BOM'), which would become part of the first id; save it as plain "
                          f"UTF-8, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' {path}")
    return text.split("\n")


def read_table(path: str | os.PathLike, single_value: str | None = None) -> dict[str, str]:
    """Read a Kaldi-style two-column table (``key value...``) into an ordered dict.

    The value is the rest of the line after the first run of whitespace. Duplicate keys,
    lines without a value, a byte-order mark and (with ``single_value``, the expected line
    such as ``"<utt> <speaker>"``) a value with whitespace in it are errors naming the file
    and line: ids cannot hold whitespace, which Kaldi tables split on.
    """
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: file not found")
    table: dict[str, str] = {}
    for lineno, line in enumerate(text_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise SitoolError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
        key, value = parts
        if key in table:
            raise SitoolError(f"{path}:{lineno}: duplicate key {key!r}")
        value = value.strip()
        if single_value is not None and len(value.split()) > 1:
            raise SitoolError(f"{path}:{lineno}: {len(value.split()) + 1} fields in {line!r}, "
                              f"expected {single_value!r}: an id with whitespace in it? Ids "
                              "cannot contain whitespace (Kaldi tables split on it); replace "
                              "it, e.g. by '_', in every table of the data dir")
        table[key] = value
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
