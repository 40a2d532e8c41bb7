"""Target normalisation: per-column mean and standard deviation over the training sets.

``data.normalise: global`` (the default): one mean and one std per column over every frame
of the training sets, because a model must invert recordings of speakers whose articulatory
statistics are unknown.

``data.normalise: speaker``: for corpora whose speakers' sensor coordinates have different
origins (EMA with a per-session reference frame), where the between-speaker offsets would
swamp the movement. Each training speaker's targets are centred on that speaker's own mean
(over its training utterances); the scale is one global std per column, of the centred data
(the pooled within-speaker std), so the units' relative sizes are kept. The model then
predicts speaker-centred values. To de-normalise, a training speaker's own mean is added back;
a speaker without stored statistics (a test speaker: splits are speaker-disjoint) gets the
*global offset*, the mean of the training speakers' means. Its outputs are relative to the
training speakers' mean origin: their shape is right (PPMC ignores the offset), their absolute
position is not known from audio.

Noisy copies of an utterance share its target file; each target file is counted once. The
statistics (per-speaker means too) are saved in every checkpoint and exported model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal, Sequence

import numpy as np

from sitool.datadir import DataDir, TargetInfo, load_target_file
from sitool.errors import SitoolError

log = logging.getLogger(__name__)

NORMALISE_KINDS = ("global", "speaker")
Kind = Literal["global", "speaker"]


@dataclass
class TargetNormaliser:
    """``normalise(x) = (x - offset) / std`` per column; ``info`` names the columns and units.

    ``offset`` is ``mean`` for ``kind`` global; for ``kind`` speaker it is the speaker's mean
    in ``speaker_means`` when the speaker has one, else ``mean`` (the mean of the training
    speakers' means: the global offset)."""

    info: TargetInfo
    mean: np.ndarray
    std: np.ndarray
    kind: Kind = "global"
    speaker_means: dict[str, np.ndarray] = field(default_factory=dict)

    def offset(self, speaker: str | None = None) -> np.ndarray:
        if self.kind == "speaker" and speaker is not None and speaker in self.speaker_means:
            return self.speaker_means[speaker]
        return self.mean

    def knows(self, speaker: str | None) -> bool:
        """True when ``speaker`` has its own statistics (a training speaker, kind speaker)."""
        return self.kind == "speaker" and speaker in self.speaker_means

    def normalise(self, array: np.ndarray, speaker: str | None = None) -> np.ndarray:
        return ((array - self.offset(speaker)) / self.std).astype(np.float32)

    def denormalise(self, array: np.ndarray, speaker: str | None = None) -> np.ndarray:
        return (array * self.std + self.offset(speaker)).astype(np.float32)

    def with_own_means(self, data_dirs: Sequence[DataDir],
                       columns: Sequence[int]) -> "TargetNormaliser":
        """For evaluation on ``data_dirs`` (the dev sets): speakers without training statistics
        are centred on their own mean over these sets, so a dev loss measures what the model
        can know (shape and scale) rather than the unknowable offset. Not saved anywhere.
        Global normalisation: ``self``, unchanged."""
        if self.kind != "speaker":
            return self
        stats = _speaker_stats(data_dirs, columns)
        extra = {spk: s.mean for spk, s in stats.items() if spk not in self.speaker_means}
        if extra:
            log.info("dev speakers without training statistics (%s) are centred on their own "
                     "dev mean for the dev loss", ", ".join(sorted(extra)))
        return replace(self, speaker_means={**self.speaker_means, **extra})

    def to_state(self) -> dict:
        """Plain types only (checkpoints load with ``weights_only=True``)."""
        state = {"names": list(self.info.names), "units": list(self.info.units),
                 "frame_rate": float(self.info.frame_rate),
                 "descriptions": dict(self.info.descriptions),
                 "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
                 "kind": self.kind}
        if self.kind == "speaker":
            state["speakers"] = {spk: [float(v) for v in m]
                                 for spk, m in sorted(self.speaker_means.items())}
        return state

    @classmethod
    def from_state(cls, state: dict) -> "TargetNormaliser":
        info = TargetInfo(names=list(state["names"]), units=list(state["units"]),
                          frame_rate=float(state["frame_rate"]),
                          descriptions=dict(state.get("descriptions", {})),
                          normalisation="none (predictions in units)")
        kind = state.get("kind", "global")
        if kind not in NORMALISE_KINDS:
            raise SitoolError(f"normalisation kind {kind!r} unknown (this sitool knows "
                              f"{', '.join(NORMALISE_KINDS)}); update sitool")
        speakers = {str(spk): np.asarray(m, np.float64)
                    for spk, m in (state.get("speakers") or {}).items()}
        return cls(info, np.asarray(state["mean"], np.float64),
                   np.asarray(state["std"], np.float64), kind, speakers)


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


def _target_files(data_dirs: Sequence[DataDir], columns: Sequence[int]):
    """``(path, speaker, array [frames, len(columns)] float64)`` of every target file of
    ``data_dirs``, each file once (noisy copies share their clean utterance's file)."""
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
            yield path, data.utt2spk[utt], array


@dataclass
class _Moments:
    """Frame count, mean and sum of squared deviations per column (merged exactly, Chan et al.)."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    def add(self, array: np.ndarray) -> None:
        n = array.shape[0]
        if n == 0:
            return
        mean = array.mean(0)
        m2 = ((array - mean) ** 2).sum(0)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta ** 2 * (self.count * n / total)
        self.count = total


def _speaker_stats(data_dirs: Sequence[DataDir], columns: Sequence[int]) -> dict[str, _Moments]:
    stats: dict[str, _Moments] = {}
    for _, speaker, array in _target_files(data_dirs, columns):
        stats.setdefault(speaker, _Moments(0, np.zeros(len(columns)), np.zeros(len(columns))))
        stats[speaker].add(array)
    return stats


def _floor_std(std: np.ndarray, info: TargetInfo) -> np.ndarray:
    flat = [n for n, s in zip(info.names, std) if s < 1e-8]
    if flat:
        log.warning("targets %s are constant in the training sets; their std is set to 1", flat)
        std = np.where(std < 1e-8, 1.0, std)
    return std


def fit_normaliser(data_dirs: Sequence[DataDir], info: TargetInfo, columns: Sequence[int],
                   kind: Kind = "global") -> TargetNormaliser:
    """Statistics over every frame of the training sets' target files: global, or per
    speaker (``kind`` speaker: the module doc)."""
    if kind == "speaker":
        return _fit_per_speaker(data_dirs, info, columns)
    total = np.zeros(len(columns))
    total_sq = np.zeros(len(columns))
    count = 0
    files = 0
    for _, _, array in _target_files(data_dirs, columns):
        files += 1
        total += array.sum(0)
        total_sq += (array ** 2).sum(0)
        count += array.shape[0]
    if count < 2:
        raise SitoolError(f"training sets {[str(d.path) for d in data_dirs]}: too few target frames")
    mean = total / count
    std = _floor_std(np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0)), info)
    log.info("target normalisation (global, %d files, %d frames): %s", files, count,
             ", ".join(f"{n} {m:.3g}±{s:.3g}" for n, m, s in zip(info.names, mean, std)))
    return TargetNormaliser(info, mean, std)


def _fit_per_speaker(data_dirs: Sequence[DataDir], info: TargetInfo,
                     columns: Sequence[int]) -> TargetNormaliser:
    stats = _speaker_stats(data_dirs, columns)
    count = sum(s.count for s in stats.values())
    if count < 2:
        raise SitoolError(f"training sets {[str(d.path) for d in data_dirs]}: too few target frames")
    speakers = sorted(stats)
    means = {spk: stats[spk].mean for spk in speakers}
    within = sum(stats[spk].m2 for spk in speakers) / count       # pooled within-speaker variance
    std = _floor_std(np.sqrt(np.maximum(within, 0.0)), info)
    offset = np.mean([means[spk] for spk in speakers], axis=0)    # the global offset
    log.info("target normalisation (per speaker, %d speakers, %d frames): pooled within-speaker "
             "std %s; speaker means %s", len(speakers), count,
             ", ".join(f"{n} {s:.3g}" for n, s in zip(info.names, std)),
             "; ".join(f"{spk}: " + " ".join(f"{v:.3g}" for v in means[spk]) for spk in speakers))
    return TargetNormaliser(info, offset, std, "speaker", means)
