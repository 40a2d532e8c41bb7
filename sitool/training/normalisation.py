"""Target normalisation: global per-column mean and standard deviation over the training sets.

Global statistics (not per speaker) because a model must invert recordings of speakers whose
articulatory statistics are unknown. Noisy copies of an utterance share its target file; each
target file is counted once. The statistics are saved in every checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sitool.datadir import DataDir, TargetInfo, load_target_file
from sitool.errors import SitoolError

log = logging.getLogger(__name__)


@dataclass
class TargetNormaliser:
    """``normalise(x) = (x - mean) / std`` per column; ``info`` names the columns and units."""

    info: TargetInfo
    mean: np.ndarray
    std: np.ndarray

    def normalise(self, array: np.ndarray) -> np.ndarray:
        return ((array - self.mean) / self.std).astype(np.float32)

    def denormalise(self, array: np.ndarray) -> np.ndarray:
        return (array * self.std + self.mean).astype(np.float32)

    def to_state(self) -> dict:
        """Plain types only (checkpoints load with ``weights_only=True``)."""
        return {"names": list(self.info.names), "units": list(self.info.units),
                "frame_rate": float(self.info.frame_rate),
                "descriptions": dict(self.info.descriptions),
                "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
                "kind": "global"}

    @classmethod
    def from_state(cls, state: dict) -> "TargetNormaliser":
        info = TargetInfo(names=list(state["names"]), units=list(state["units"]),
                          frame_rate=float(state["frame_rate"]),
                          descriptions=dict(state.get("descriptions", {})),
                          normalisation="none (predictions in units)")
        return cls(info, np.asarray(state["mean"], np.float64), np.asarray(state["std"], np.float64))


def select_targets(info: TargetInfo, names: Sequence[str] | None, source: str) -> tuple[TargetInfo, list[int]]:
    """The TargetInfo of the chosen columns and their indices in the data dir's arrays."""
    if names is None:
        return info, list(range(len(info.names)))
    unknown = [n for n in names if n not in info.names]
    if unknown:
        raise SitoolError(f"{source}: data.targets names {unknown} not in the targets file "
                          f"({', '.join(info.names)})")
    columns = [info.names.index(n) for n in names]
    chosen = TargetInfo(names=list(names), units=[info.units[i] for i in columns],
                        frame_rate=info.frame_rate,
                        descriptions={n: info.descriptions[n] for n in names if n in info.descriptions})
    return chosen, columns


def fit_normaliser(data_dirs: Sequence[DataDir], info: TargetInfo, columns: Sequence[int]) -> TargetNormaliser:
    """Global statistics over every frame of the training sets' target files."""
    total = np.zeros(len(columns))
    total_sq = np.zeros(len(columns))
    count = 0
    seen: set[str] = set()
    for data in data_dirs:
        for utt in data.utts:
            path = data.tv_scp.get(utt)
            if path is None:
                raise SitoolError(f"{data.path / 'tv.scp'}: no targets for {utt!r}")
            if path in seen:
                continue
            seen.add(path)
            array = load_target_file(path, data.targets)[:, columns].astype(np.float64)
            if not np.all(np.isfinite(array)):
                raise SitoolError(f"{path}: targets contain NaN or Inf")
            total += array.sum(0)
            total_sq += (array ** 2).sum(0)
            count += array.shape[0]
    if count < 2:
        raise SitoolError(f"training sets {[str(d.path) for d in data_dirs]}: too few target frames")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    flat = [n for n, s in zip(info.names, std) if s < 1e-8]
    if flat:
        log.warning("targets %s are constant in the training sets; their std is set to 1", flat)
        std = np.where(std < 1e-8, 1.0, std)
    log.info("target normalisation (global, %d files, %d frames): %s", len(seen), count,
             ", ".join(f"{n} {m:.3g}±{s:.3g}" for n, m, s in zip(info.names, mean, std)))
    return TargetNormaliser(info, mean, std)
