"""Splitting work into ``--nj N --job J`` shards (1-based, like Kaldi's JOB=1:N and Slurm arrays)."""

from __future__ import annotations

from typing import Sequence, TypeVar

from sitool.errors import SitoolError

T = TypeVar("T")


def check_job(nj: int, job: int | None) -> None:
    """Validate a ``--nj/--job`` pair; ``job=None`` means "all jobs in this process"."""
    if nj < 1:
        raise SitoolError(f"--nj must be >= 1, got {nj}")
    if job is not None and not 1 <= job <= nj:
        raise SitoolError(f"--job must be in 1..{nj} (1-based, like a Slurm array index), got {job}")


def shard(items: Sequence[T], nj: int, job: int) -> list[T]:
    """The ``job``-th of ``nj`` contiguous, near-equal slices of ``items`` (1-based)."""
    check_job(nj, job)
    n = len(items)
    start = (job - 1) * n // nj
    stop = job * n // nj
    return list(items[start:stop])
