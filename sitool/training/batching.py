"""Length bucketing: batches of utterances of similar duration, sharded over DDP processes."""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


def make_batches(durations: Sequence[float], max_seconds: float, max_utts: int,
                 order: Sequence[int] | None = None) -> list[list[int]]:
    """Group indices (taken in ``order``, default by duration) so that each batch's padded size
    ``len(batch) * longest`` stays within ``max_seconds`` and ``max_utts``. An utterance longer
    than ``max_seconds`` gets a batch of its own."""
    if order is None:
        order = sorted(range(len(durations)), key=lambda i: (durations[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0.0
    for i in order:
        new_longest = max(longest, durations[i])
        if current and (len(current) + 1 > max_utts or (len(current) + 1) * new_longest > max_seconds):
            batches.append(current)
            current, new_longest = [], durations[i]
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


class BucketBatchSampler(Sampler[list[int]]):
    """Yields index batches of similar-length utterances.

    With ``shuffle``, each epoch sorts by duration with a small random jitter (so batch
    membership varies) and shuffles the batch order; the randomness depends only on
    ``seed`` and the epoch (``set_epoch``), so a resumed run sees the same batches.
    Under DDP (``world_size > 1``) this is the bucketing counterpart of
    ``DistributedSampler``: process ``rank`` takes every ``world_size``-th batch and the
    list is padded (by repeating batches from its start) so every process runs the same
    number of steps.
    """

    def __init__(self, durations: Sequence[float], max_seconds: float, max_utts: int,
                 shuffle: bool = True, seed: int = 0, rank: int = 0, world_size: int = 1,
                 pad_to_equal: bool = True, jitter: float = 0.1):
        self.durations = list(durations)
        self.max_seconds = max_seconds
        self.max_utts = max_utts
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.pad_to_equal = pad_to_equal
        self.jitter = jitter
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        """This process's batches for the current epoch."""
        order = None
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            keys = np.asarray(self.durations) * np.exp(rng.uniform(-self.jitter, self.jitter,
                                                                   len(self.durations)))
            order = [int(i) for i in np.argsort(keys, kind="stable")]
        batches = make_batches(self.durations, self.max_seconds, self.max_utts, order)
        if self.shuffle:
            batches = [batches[int(i)] for i in rng.permutation(len(batches))]
        if self.world_size > 1:
            if self.pad_to_equal:
                total = math.ceil(len(batches) / self.world_size) * self.world_size
                batches = batches + [batches[i % len(batches)] for i in range(total - len(batches))]
            batches = batches[self.rank::self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())
