"""Splitting work into ``--nj N --job J`` shards (1-based, like Kaldi's JOB=1:N and Slurm
arrays), and limiting the CPU threads of one job (``--num-threads``)."""

from __future__ import annotations

import os
import sys
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


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(num_threads: int) -> None:
    """Let this process compute on at most ``num_threads`` threads (0: leave the defaults).

    N shard jobs on N cores must each run one thread: numpy's BLAS and torch otherwise start
    a thread per core in every job, and the jobs contend (SE scoring of two shards side by
    side ran 1.9x slower per utterance on 2 cores; ``bench/scoring.py --shards``). Covers the
    BLAS/OpenMP libraries already loaded (threadpoolctl), those loaded later (the
    environment variables they read at start-up) and torch's intra-op pool if torch is loaded.
    """
    if num_threads <= 0:
        return
    from threadpoolctl import threadpool_limits

    os.environ.update({name: str(num_threads) for name in THREAD_VARIABLES})
    threadpool_limits(limits=num_threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(num_threads)
