"""Synthesis in parallel worker processes, with retries (the engine of ``sitool synth-corpus``).

``run_synthesis`` runs utterances in ``nj`` worker processes (``worker.py``), one job file
per chunk of one speaker's utterances, which isolates VocalTractLab crashes: an utterance
whose worker crashed, hung or raised is retried with its next seed-derived variant (the
caller's ``make_spec(utt, attempt)``) up to ``max_attempts`` times, then reported as failed.
This module never imports VocalTractLab itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from sitool.audio import audio_duration
from sitool.corpora.synth.layout import utterance_paths
from sitool.corpora.synth.phones import Segment
from sitool.corpora.synth.speakers import Speaker
from sitool.corpora.synth.worker import STATUS_SUFFIX
from sitool.errors import SitoolError
from sitool.io import atomic_write_text

log = logging.getLogger(__name__)

MIN_CHUNK, MAX_CHUNK = 2, 10   # utterances per worker job (each job starts a process, ~3 s)
STALL_TIMEOUT_S = 600.0   # a worker that reports nothing for this long is killed
POLL_S = 0.2


@dataclass(frozen=True)
class UttSpec:
    """Everything a worker needs for one utterance."""

    utt: str
    speaker: Speaker
    segments: tuple[Segment, ...]
    f0_seed: int
    state_step: int = 1      # synthesise from every k-th tract state (``vtl.synthesize``)


@dataclass
class SynthesisReport:
    """Outcome of one synthesis run (counts are utterances)."""

    planned: int = 0
    reused: int = 0
    synthesised: int = 0
    retried: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.planned} planned: {self.reused} reused, {self.synthesised} synthesised "
                f"now ({self.retried} after a retry, {self.audio_seconds:.0f} s of audio in "
                f"{self.wall_seconds:.0f} s), {len(self.failed)} failed")


def run_synthesis(
    tasks: list[str],
    out: Path,
    make_spec: Callable[[str, int], UttSpec],
    nj: int = 1,
    max_attempts: int = 3,
    first_attempt: dict[str, int] | None = None,
    progress: bool = True,
    total: int | None = None,
    initial: int = 0,
) -> SynthesisReport:
    """Synthesise the utterances ``tasks`` into ``out`` with ``nj`` worker processes.

    ``make_spec(utt, attempt)`` gives the utterance of that attempt; a failed or crashed
    attempt is retried with the next attempt number until ``max_attempts`` attempts were
    made (counting from ``first_attempt[utt]``, default 0). Jobs group utterances of one
    speaker (the anatomy is set once per worker process). The progress bar counts ``total``
    utterances (default: the tasks), ``initial`` of them done.
    """
    pool = _WorkerPool(out, make_spec, nj, max_attempts)
    first_attempt = first_attempt or {}
    for utt in tasks:
        pool.add(utt, first_attempt.get(utt, 0))
    bar = tqdm(total=total if total is not None else len(tasks), initial=initial, unit="utt",
               desc="synth-corpus", disable=not progress, dynamic_ncols=True)
    return pool.run(bar)


# --------------------------------------------------------------------------- the pool


@dataclass
class _Job:
    """One running worker process and its job file."""

    proc: subprocess.Popen
    path: Path
    log_path: Path
    utts: list[str]
    outcome: dict[str, tuple[str, str]] = field(default_factory=dict)   # utt -> (kind, message)
    started: list[str] = field(default_factory=list)
    read_pos: int = 0
    last_event: float = field(default_factory=time.monotonic)
    killed: str = ""

    @property
    def status_path(self) -> Path:
        return Path(f"{self.path}{STATUS_SUFFIX}")


class _WorkerPool:
    """One synthesis run: the queued utterances (per speaker), the running worker processes
    and their job files in ``out/.jobs``, every utterance's attempt, and the report."""

    def __init__(self, out: Path, make_spec: Callable[[str, int], UttSpec], nj: int,
                 max_attempts: int) -> None:
        if nj < 1:
            raise SitoolError(f"--nj must be >= 1, got {nj}")
        self.out, self.make_spec, self.nj, self.max_attempts = out, make_spec, nj, max_attempts
        self.jobs_dir, self.log_dir = out / ".jobs", out / "log"
        shutil.rmtree(self.jobs_dir, ignore_errors=True)   # leftovers of a killed run
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.report = SynthesisReport()
        self.queue: dict[str, deque[str]] = {}     # speaker -> utterances to run
        self.running: list[_Job] = []
        self.first_attempt: dict[str, int] = {}
        self.attempt: dict[str, int] = {}          # the attempt an utterance is on
        self.errors: dict[str, list[str]] = {}
        self.jobs_started = 0
        self.run_stamp = time.strftime("%Y%m%d-%H%M%S")
        self.bar: tqdm | None = None

    def add(self, utt: str, first_attempt: int) -> None:
        """Queue ``utt``, starting at attempt ``first_attempt``."""
        self.first_attempt[utt] = self.attempt[utt] = first_attempt
        self._enqueue(utt)

    def run(self, bar: tqdm) -> SynthesisReport:
        """Run every queued utterance to success or its last attempt; returns the report."""
        self.bar = bar
        start = time.monotonic()
        try:
            while self.queue or self.running:
                while self.queue and len(self.running) < self.nj:
                    self._launch()
                time.sleep(POLL_S)
                for job in list(self.running):
                    self._poll(job)
        finally:
            for job in self.running:
                job.proc.kill()
                job.proc.wait()
            bar.close()
        shutil.rmtree(self.jobs_dir, ignore_errors=True)
        if self.log_dir.is_dir() and not any(self.log_dir.iterdir()):
            self.log_dir.rmdir()
        self.report.wall_seconds = time.monotonic() - start
        return self.report

    def _enqueue(self, utt: str) -> None:
        speaker_id = self.make_spec(utt, self.attempt[utt]).speaker.id
        self.queue.setdefault(speaker_id, deque()).append(utt)

    def _launch(self) -> None:
        """Start a worker on a chunk of the speaker with the most queued utterances."""
        speaker_id = max(self.queue, key=lambda s: len(self.queue[s]))
        pending = sum(len(q) for q in self.queue.values())
        chunk = min(max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(pending / (2 * self.nj)))),
                    len(self.queue[speaker_id]))
        utts = [self.queue[speaker_id].popleft() for _ in range(chunk)]
        if not self.queue[speaker_id]:
            del self.queue[speaker_id]
        specs = [self.make_spec(u, self.attempt[u]) for u in utts]
        self.jobs_started += 1
        path = self.jobs_dir / f"job{self.jobs_started:05d}.json"
        _write_job(path, self.out, specs, [self.attempt[u] for u in utts])
        log_path = self.log_dir / f"{self.run_stamp}-job{self.jobs_started:05d}.log"
        self.running.append(_Job(_start_worker(path, log_path), path, log_path, utts))

    def _poll(self, job: _Job) -> None:
        """Read the job's new events; kill it if it stalled; finish it once it exited."""
        self._read_events(job)
        if job.proc.poll() is None and time.monotonic() - job.last_event > STALL_TIMEOUT_S:
            job.killed = f"no progress for {STALL_TIMEOUT_S:.0f} s, killed"
            job.proc.kill()
            job.proc.wait()
        if job.proc.poll() is not None:
            self._read_events(job)   # what it wrote just before it exited
            self.running.remove(job)
            self._finish(job)

    def _read_events(self, job: _Job) -> None:
        for event in _read_status(job):
            self._on_event(job, event)

    def _on_event(self, job: _Job, event: tuple[str, ...]) -> None:
        """One status line of the worker: ``start utt``, ``done utt`` or ``fail utt message``."""
        job.last_event = time.monotonic()
        kind, *fields = event
        if kind == "start":
            job.started.append(fields[0])
        elif kind in ("done", "fail") and fields:
            job.outcome[fields[0]] = (kind, fields[1] if len(fields) > 1 else "")

    def _finish(self, job: _Job) -> None:
        """Account for every utterance of an exited job; remove its files."""
        code = job.proc.returncode
        died = code != 0 or bool(job.killed)
        crashed = [u for u in job.started if u not in job.outcome][-1:] if died else []
        for utt in job.utts:
            kind, message = job.outcome.get(utt, ("", ""))
            if kind == "done":
                self._succeeded(utt)
            elif kind == "fail":
                self._failed_attempt(utt, message)
            elif utt in crashed:
                self._failed_attempt(utt, job.killed or f"worker crashed (exit code {code})")
            elif not died:
                self._failed_attempt(utt, "worker exited without a result")
            elif not job.started:   # died before any utterance (e.g. a broken install)
                self._failed_attempt(utt, f"worker died before starting (exit code {code})")
            else:  # never reached: the worker died before it; same attempt again
                self._enqueue(utt)
        if died:
            log.warning("worker %s exited with code %s%s; log tail:\n%s", job.path.name, code,
                        f" ({job.killed})" if job.killed else "", _tail(job.log_path))
        else:
            job.log_path.unlink(missing_ok=True)
        job.path.unlink(missing_ok=True)
        job.status_path.unlink(missing_ok=True)

    def _succeeded(self, utt: str) -> None:
        self.report.synthesised += 1
        self.report.retried += self.attempt[utt] > self.first_attempt[utt]
        self.report.audio_seconds += audio_duration(utterance_paths(self.out, utt)["wav"])
        self.bar.update(1)

    def _failed_attempt(self, utt: str, message: str) -> None:
        """Retry ``utt`` with its next variant, or give up after its last attempt."""
        self.errors.setdefault(utt, []).append(f"attempt {self.attempt[utt]}: {message}")
        self.attempt[utt] += 1
        if self.attempt[utt] < self.first_attempt[utt] + self.max_attempts:
            log.warning("%s: %s; retrying with variant %d", utt, message, self.attempt[utt])
            self._enqueue(utt)
        else:
            self.report.failed[utt] = self.errors[utt]
            log.warning("%s: %s; giving up after %d attempts", utt, message, self.max_attempts)
            self.bar.update(1)


# --------------------------------------------------------------------------- job files


def _write_job(path: Path, out: Path, specs: list[UttSpec], attempts: list[int]) -> None:
    """The job file a worker reads (see worker.py): one speaker's utterances and attempts."""
    job = {
        "out": str(out),
        "speaker": asdict(specs[0].speaker),
        "utts": [{"utt": s.utt, "attempt": attempt,
                  "segments": [[seg.phone, seg.duration] for seg in s.segments],
                  "f0_seed": s.f0_seed, "state_step": s.state_step}
                 for s, attempt in zip(specs, attempts)],
    }
    atomic_write_text(path, json.dumps(job))


def _start_worker(path: Path, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    with open(log_path, "w", encoding="utf-8") as log_file:
        return subprocess.Popen([sys.executable, "-m", "sitool.corpora.synth.worker", str(path)],
                                stdout=log_file, stderr=subprocess.STDOUT, env=env)


def _read_status(job: _Job) -> list[tuple[str, ...]]:
    """New complete status lines of ``job``, split into their fields."""
    if not job.status_path.is_file():
        return []
    with open(job.status_path, encoding="utf-8") as f:
        f.seek(job.read_pos)
        text = f.read()
    complete = text[:text.rfind("\n") + 1]
    job.read_pos += len(complete.encode("utf-8"))
    return [tuple(line.split("\t", 2)) for line in complete.splitlines() if line]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
