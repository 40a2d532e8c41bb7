"""Training and decoding data: utterances of one or more data dirs as model batches.

What an item holds depends on the model (:class:`DataNeeds`): cached SSL hidden states
(frozen SSL with a cache), input audio (SSL on the fly, SE mask head, cascade), the clean
reference (SE loss: ``scale * clean`` of the ``mix.tsv`` row, or the audio itself for a clean
set), the clean speech's cached hidden state (``se.target: ssl``) and normalised targets (SI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sitool.audio import SAMPLE_RATE
from sitool.datadir import DataDir, target_length_problem
from sitool.errors import SitoolError
from sitool.models.batch import Batch
from sitool.models.config import ModelConfig
from sitool.models.framerate import frames_for_samples
from sitool.ssl.cache_reader import SSLCache
from sitool.ssl.cache_stamps import LEGACY_NOTE, compare_model_stamp
from sitool.training.normalisation import TargetNormaliser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataNeeds:
    """Which fields a model's batches must carry."""

    audio: bool
    feats: bool
    clean_audio: bool
    clean_feats: bool
    targets: bool

    @classmethod
    def for_model(cls, cfg: ModelConfig, use_cache: bool, training: bool = True) -> "DataNeeds":
        mask_se = cfg.has_se and cfg.se.target == "mask"
        return cls(
            audio=not use_cache or mask_se,
            feats=use_cache,
            clean_audio=training and mask_se,
            clean_feats=training and cfg.has_se and cfg.se.target == "ssl",
            targets=training and cfg.has_si,
        )


def check_cache(cache: SSLCache, model: str, layers: Sequence[int], dim: int) -> None:
    """Fail if ``cache`` was not made by ``model`` or lacks ``layers``."""
    verdict, stamp = compare_model_stamp(cache.meta.get("model_stamp"), model)
    if verdict == "other" and cache.meta.get("ssl_model") == model:
        raise SitoolError(f"{cache.path}: SSL cache made by other weights than {model} holds "
                          f"now (stamp {cache.meta['model_stamp']} when cached, {stamp} now: "
                          "re-pretrained or replaced?); re-run sitool cache-ssl --overwrite")
    if verdict == "other":
        raise SitoolError(f"{cache.path}: SSL cache made by {cache.meta.get('ssl_model')} "
                          f"(stamp {cache.meta['model_stamp']}), not by the configured {model} "
                          f"(stamp {stamp}); re-run sitool cache-ssl --overwrite or fix ssl.model")
    if verdict == "legacy":
        log.warning("%s: %s; taken as made by %s. If that model was re-pretrained since, "
                    "re-cache with sitool cache-ssl --overwrite; else the cache-ssl command "
                    "that made it re-stamps it (without recomputing)", cache.path, LEGACY_NOTE,
                    model)
    missing = [i for i in layers if i not in cache.layers]
    if missing or cache.dim != dim:
        raise SitoolError(f"{cache.path}: cached layers {cache.layers} (dim {cache.dim}) lack "
                          f"layers {missing} (dim {dim}) that the model uses; re-cache or set ssl.layers")


class CleanFeatureLookup:
    """The frozen SSL's hidden state (one layer) of clean utterances, from cached clean sets."""

    def __init__(self, cache_dirs: Sequence[str], layer: int):
        self.caches = [SSLCache(d) for d in cache_dirs]
        self.layer = layer
        for cache in self.caches:
            made_from = Path(str(cache.meta.get("data_dir", "")))
            if made_from.is_dir():
                cache.check_data(DataDir(made_from))
            if layer not in cache.layers:
                raise SitoolError(f"{cache.path}: layer {layer} (se.ssl_target_layer) not cached")

    def load(self, utt: str) -> np.ndarray:
        for cache in self.caches:
            if utt in cache:
                return cache.load(utt, [self.layer])[0].astype(np.float32)
        raise SitoolError(f"clean utterance {utt!r} is in none of the se.ssl_target_cache dirs "
                          f"({', '.join(str(c.path) for c in self.caches)}); cache its clean set")


class UtteranceDataset(Dataset):
    """Utterances of ``data_dirs`` as item dicts (see :func:`collate`).

    ``cache_root``: SSL cache root (``dump/ssl/<tag>``); set ``<root>/<set name>`` must exist
    when ``needs.feats``. ``layers``: absolute SSL layers to read from the cache.
    ``normaliser`` and ``columns``: target normalisation and the target columns used.
    """

    def __init__(self, data_dirs: Sequence[str | Path], needs: DataNeeds, *,
                 cache_root: str | None = None, layers: Sequence[int] = (), ssl_model: str = "",
                 ssl_dim: int = 0, normaliser: TargetNormaliser | None = None,
                 columns: Sequence[int] = (), clean_features: CleanFeatureLookup | None = None,
                 max_seconds: float | None = None):
        self.needs = needs
        self.sets = [DataDir(d) for d in data_dirs]
        self.layers = list(layers)
        self.normaliser = normaliser
        self.columns = list(columns)
        self.clean_features = clean_features
        self.caches = []
        for data in self.sets:
            data.require("utt2spk", "utt2dur")
            if needs.targets:
                data.require("tv.scp", "targets")
            data.check_utterances()
            if needs.feats:
                cache = SSLCache(Path(cache_root) / data.name)
                check_cache(cache, ssl_model, self.layers, ssl_dim)
                cache.check_data(data)
                absent = [u for u in data.utts if u not in cache]
                if absent:
                    raise SitoolError(f"{cache.path}: {len(absent)} utterance(s) of {data.path} "
                                      f"not cached (e.g. {absent[0]!r}); re-run sitool cache-ssl")
                self.caches.append(cache)
            else:
                self.caches.append(None)
        self.items: list[tuple[int, str]] = []
        self.durations: list[float] = []
        skipped = 0
        for k, data in enumerate(self.sets):
            durations = data.utt2dur
            for utt in data.utts:
                if utt not in durations:
                    raise SitoolError(f"{data.path / 'utt2dur'}: no duration for {utt!r}")
                if max_seconds is not None and durations[utt] > max_seconds:
                    skipped += 1
                    continue
                self.items.append((k, utt))
                self.durations.append(durations[utt])
        if skipped:
            log.info("skipped %d utterance(s) longer than %.1f s (data.max_utt_seconds)",
                     skipped, max_seconds)
        if not self.items:
            raise SitoolError(f"no utterances in {', '.join(str(d.path) for d in self.sets)}")

    def __len__(self) -> int:
        return len(self.items)

    def utt_id(self, index: int) -> str:
        return self.items[index][1]

    def __getitem__(self, index: int) -> dict:
        k, utt = self.items[index]
        data = self.sets[k]
        item: dict = {"utt": utt}
        samples = None
        if self.needs.audio:
            item["wav"] = data.audio(utt)
            samples = len(item["wav"])
            if samples < 400:
                raise SitoolError(f"{data.path}: utterance {utt!r} is shorter than 25 ms")
            data.check_duration(utt, samples)
        if self.needs.feats:
            item["feats"] = self.caches[k].load(utt, self.layers).astype(np.float32)
        if self.needs.clean_audio:
            item["clean_wav"] = data.clean_speech(utt)
            if len(item["clean_wav"]) != samples:
                raise SitoolError(f"{data.path}: clean reference of {utt!r} has "
                                  f"{len(item['clean_wav'])} samples, the input {samples}")
        if self.needs.clean_audio or self.needs.clean_feats:
            item["category"] = data.condition(utt).category
        if self.needs.clean_feats:
            row = data.mix.get(utt)
            item["clean_feats"] = self.clean_features.load(row.clean_utt if row else utt)
        rate = self.normaliser.info.frame_rate if self.normaliser is not None else None
        if rate is not None:
            if samples is None:   # features from the cache: the length from the audio's header
                samples = data.num_samples(utt)
            predictable = frames_for_samples(samples, rate)   # one frame grid for both inputs
            item["si_frames"] = predictable
            if self.needs.targets:
                targets = data.target_array(utt)[:, self.columns]
                if not np.all(np.isfinite(targets)):
                    raise SitoolError(f"{data.tv_scp[utt]}: targets contain NaN or Inf")
                seconds = samples / SAMPLE_RATE
                problem = target_length_problem(data.tv_scp[utt], len(targets), rate, seconds)
                if problem:  # a wrong frame rate would otherwise train misaligned
                    raise SitoolError(f"{problem}; fix the targets or their frame_rate "
                                      f"(sitool validate-data {data.path})")
                item["targets"] = self.normaliser.normalise(targets, data.utt2spk.get(utt))
                item["si_frames"] = min(predictable, len(targets))
        return item


def _pad(arrays: Sequence[np.ndarray], axis: int = 0) -> torch.Tensor:
    """Zero-pad arrays along ``axis`` to the longest and stack them on a new axis 0."""
    longest = max(a.shape[axis] for a in arrays)
    out = np.zeros((len(arrays),) + tuple(longest if i == axis else s
                                           for i, s in enumerate(arrays[0].shape)), np.float32)
    for b, a in enumerate(arrays):
        index = [b] + [slice(None)] * a.ndim
        index[axis + 1] = slice(0, a.shape[axis])
        out[tuple(index)] = a
    return torch.from_numpy(out)


def collate(items: Sequence[dict]) -> Batch:
    """Pad item dicts into a :class:`Batch`."""
    batch = Batch(utts=[it["utt"] for it in items])
    first = items[0]
    if "wav" in first:
        batch.wav = _pad([it["wav"] for it in items])
        batch.wav_lengths = torch.tensor([len(it["wav"]) for it in items])
    if "feats" in first:
        batch.feats = _pad([it["feats"] for it in items], axis=1).transpose(0, 1).contiguous()
        batch.feat_lengths = torch.tensor([it["feats"].shape[1] for it in items])
    if "clean_wav" in first:
        batch.clean_wav = _pad([it["clean_wav"] for it in items])
    if "clean_feats" in first:
        batch.clean_feats = _pad([it["clean_feats"] for it in items])
    if "si_frames" in first:
        batch.si_frames = torch.tensor([it["si_frames"] for it in items])
    if "targets" in first:
        batch.targets = _pad([it["targets"] for it in items])
    if "category" in first:
        batch.categories = [it["category"] for it in items]
    return batch
