"""Decode dirs (``exp/<tag>/decode/<set>/``, written by ``sitool decode``) and the models behind them.

A decode dir holds ``decode.yaml`` (``data_dir``, ``exp``, ``checkpoint``,
``checkpoint_epoch``, ``model_type``, ``num_utts``, ...; see ``sitool.decode``); models with an SI head write ``tv.scp`` (utt -> predicted targets .npy, in the
targets' units) and ``targets`` (TargetInfo of the predictions); models with an SE head write
``enhanced.scp`` (utt -> 16 kHz wav).

Experiments that differ only in their seed (``exp/train_joint``, ``exp/train_joint_seed2``, ...)
are one *model*: tables report their mean ± std.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sitool.datadir import DataDir, TargetInfo
from sitool.errors import SitoolError
from sitool.io import read_table, read_yaml

log = logging.getLogger(__name__)

SEED_SUFFIX = re.compile(r"^(?P<base>.+?)_seed(?P<seed>\d+)$")


@dataclass(frozen=True)
class DecodeDir:
    """One decode dir; ``path`` is ``<exp>/decode/<set>``."""

    path: Path

    @property
    def set_name(self) -> str:
        return self.path.name

    @property
    def exp_dir(self) -> Path:
        return self.path.parent.parent

    @property
    def tag(self) -> str:
        return self.exp_dir.name

    @cached_property
    def meta(self) -> dict:
        return read_yaml(self.path / "decode.yaml")

    @property
    def model_type(self) -> str:
        """``si``, ``se``, ``cascade`` or ``joint`` (``model_type`` in decode.yaml)."""
        return str(self.meta.get("model_type", self.meta.get("model", "unknown")))

    @property
    def frontend(self) -> str:
        """``ssl`` or ``fbank`` (``frontend`` in decode.yaml; decode dirs without it: ssl)."""
        return str(self.meta.get("frontend", "ssl"))

    @property
    def checkpoint(self) -> str:
        """``best``/``last`` (with the epoch when decode.yaml records it)."""
        name = str(self.meta.get("checkpoint", "unknown"))
        epoch = self.meta.get("checkpoint_epoch")
        return f"{name} (epoch {epoch})" if epoch is not None else name

    @cached_property
    def data(self) -> DataDir:
        """The decoded (reference) data dir named by ``decode.yaml``'s ``data_dir``."""
        raw = self.meta.get("data_dir")
        if not raw:
            raise SitoolError(f"{self.path / 'decode.yaml'}: no 'data_dir' key; re-run sitool decode")
        path = Path(str(raw))
        if not path.is_dir():
            raise SitoolError(
                f"{self.path / 'decode.yaml'}: its data dir {path} is missing (run from the recipe "
                "root, or re-make it with stages 1-2)"
            )
        return DataDir(path)

    @cached_property
    def targets(self) -> TargetInfo:
        return TargetInfo.read(self.path / "targets")

    @property
    def has_targets(self) -> bool:
        """False for a model without an SI head (an SE-only decode dir has no tv.scp)."""
        return (self.path / "tv.scp").is_file()

    @cached_property
    def tv_scp(self) -> dict[str, str]:
        return read_table(self.path / "tv.scp") if self.has_targets else {}

    @property
    def has_enhanced(self) -> bool:
        return (self.path / "enhanced.scp").is_file()

    @cached_property
    def enhanced_scp(self) -> dict[str, str]:
        return read_table(self.path / "enhanced.scp") if self.has_enhanced else {}


def is_decode_dir(path: Path) -> bool:
    """A finished decode dir: ``decode.yaml`` plus predicted targets and/or enhanced audio."""
    return (path / "decode.yaml").is_file() and (
        (path / "tv.scp").is_file() or (path / "enhanced.scp").is_file())


def decode_dirs_of(exp_dir: str | os.PathLike) -> list[DecodeDir]:
    """Every finished decode dir of one experiment, sorted by set name."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        raise SitoolError(f"{exp_dir}: experiment dir not found (it is made by sitool train)")
    decode_root = exp_dir / "decode"
    candidates = sorted(p for p in decode_root.iterdir() if p.is_dir()) if decode_root.is_dir() else []
    found = []
    for path in candidates:
        if path.name.startswith("."):
            continue
        if is_decode_dir(path):
            found.append(DecodeDir(path))
        else:
            log.warning("%s: no decode.yaml with tv.scp or enhanced.scp (unfinished decode?), "
                        "skipped", path)
    if not found:
        raise SitoolError(f"{exp_dir}: no decode dirs under {decode_root}; run sitool decode first")
    return found


def find_experiments(exp_root: str | os.PathLike = "exp") -> list[Path]:
    """Experiment dirs under ``exp_root`` that have at least one decode dir."""
    exp_root = Path(exp_root)
    if not exp_root.is_dir():
        raise SitoolError(f"{exp_root}: no experiment root (train and decode models first)")
    exps = []
    for exp in sorted(p for p in exp_root.iterdir() if p.is_dir()):
        decode_root = exp / "decode"
        if decode_root.is_dir() and any(is_decode_dir(p) for p in decode_root.iterdir()):
            exps.append(exp)
    if not exps:
        raise SitoolError(f"{exp_root}: no experiment has decode dirs; run sitool decode first")
    return exps


def split_seed(tag: str) -> tuple[str, int | None]:
    """``train_joint_seed2`` -> (``train_joint``, 2); a tag without the suffix -> (tag, None)."""
    match = SEED_SUFFIX.match(tag)
    if match is None:
        return tag, None
    return match["base"], int(match["seed"])


def _without_seeds(node):
    """A config with every key that mentions 'seed' removed (recursively)."""
    if isinstance(node, dict):
        return {k: _without_seeds(v) for k, v in node.items() if "seed" not in str(k).lower()}
    if isinstance(node, list):
        return [_without_seeds(v) for v in node]
    return node


def _config_without_seeds(exp_dir: Path) -> dict | None:
    path = exp_dir / "config.yaml"
    return _without_seeds(read_yaml(path)) if path.is_file() else None


def model_names(exp_dirs: list[Path]) -> dict[Path, str]:
    """Map each experiment dir to its model name, merging seed replicas.

    ``X_seedN`` joins model ``X`` (and so does ``X`` itself) when both ``config.yaml`` files
    agree once seed keys are removed (or one is absent); otherwise it stays its own model.
    """
    names: dict[Path, str] = {}
    groups: dict[str, list[Path]] = {}
    for exp in exp_dirs:
        base, _ = split_seed(exp.name)
        groups.setdefault(base, []).append(exp)
    for base, members in groups.items():
        configs = {exp: _config_without_seeds(exp) for exp in members}
        reference = next((c for c in configs.values() if c is not None), None)
        for exp in members:
            config = configs[exp]
            if len(members) == 1 or config is None or reference is None or config == reference:
                names[exp] = base
            else:
                log.warning("%s: config differs from its seed replicas in more than the seed; "
                            "reported as its own model", exp)
                names[exp] = exp.name
    return names
