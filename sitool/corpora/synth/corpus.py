"""The whole synthetic corpus (``sitool synth-corpus``): plan, parallel workers, retries, resume.

Raw corpus layout (``DIR``)::

    corpus.yaml        how it was made: format, num_utts, seed, utterance length range, speakers
    speakers.tsv       speaker table with split (train/dev/test/babble_talkers), see speakers.py
    utts.tsv           the plan: utt, speaker, split (header line; tab-separated)
    targets.yaml       target names, units, frame rate, descriptions (the data dirs' ``targets``)
    wav/<utt>.wav      16 kHz mono 16-bit audio
    tv/<utt>.npy       float32 [frames, 9] targets at 100 Hz (see targets.py)
    phones/<utt>.tsv   exact phone alignment: header ``start end phone``, seconds, ``sil`` = silence
    failed/<utt>.txt   utterances that failed every attempt: attempts and errors (rerun retries)
    log/               logs of worker processes that crashed or failed

An utterance is finished when its ``phones/`` file exists (written last, atomically); a rerun
keeps finished utterances and synthesises the rest, so a killed run resumes (and a larger
``num_utts`` grows the corpus: utterances do not depend on it). Synthesis runs
in ``nj`` worker processes (``worker.py``), which isolates VocalTractLab crashes: an
utterance whose worker crashed or raised is retried with another seed-derived variant (new
phone sequence and F0 contour) up to ``max_attempts`` times, then recorded in ``failed/``.
This module never imports VocalTractLab itself.

Every utterance is a pure function of (seed, speaker position, utterance index, attempt).
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

import numpy as np
from tqdm import tqdm

from sitool.corpora.synth.phones import Segment, random_utterance
from sitool.corpora.synth.speakers import (SPEAKERS, PlannedUtt, Speaker, format_speakers_tsv,
                                           plan_utterances)
from sitool.corpora.synth.targets import target_info
from sitool.corpora.synth.worker import STATUS_SUFFIX, utterance_paths
from sitool.errors import SitoolError
from sitool.io import atomic_write_text, read_yaml, write_yaml

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_SECONDS = (1.0, 3.0)
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


def is_finished(out: Path, utt: str) -> bool:
    """True when all of the utterance's files exist (``phones/`` is written last)."""
    return all(p.is_file() for p in utterance_paths(out, utt).values())


def utterance_spec(planned: PlannedUtt, speaker: Speaker, speaker_pos: int, seed: int,
                   attempt: int, seconds: tuple[float, float]) -> UttSpec:
    """The utterance for (seed, speaker position, utterance index, attempt)."""
    rng = np.random.default_rng([seed, speaker_pos, planned.index, attempt])
    segments = random_utterance(rng, seconds, speaker.tempo)
    return UttSpec(planned.utt, speaker, tuple(segments), int(rng.integers(2 ** 62)))


# --------------------------------------------------------------------------- workers


@dataclass
class _Job:
    proc: subprocess.Popen
    path: Path
    log_path: Path
    tasks: list[tuple[str, int]]            # (utt, attempt)
    outcome: dict[str, tuple[str, str]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    read_pos: int = 0
    last_event: float = field(default_factory=time.monotonic)
    killed: str = ""


def _write_job(path: Path, out: Path, specs: list[UttSpec], faults: dict[str, str]) -> None:
    job = {
        "out": str(out),
        "speaker": asdict(specs[0].speaker),
        "utts": [{"utt": s.utt, "segments": [[seg.phone, seg.duration] for seg in s.segments],
                  "f0_seed": s.f0_seed} for s in specs],
        "faults": {s.utt: faults[s.utt] for s in specs if s.utt in faults},
    }
    atomic_write_text(path, json.dumps(job))


def _launch(path: Path, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    with open(log_path, "w", encoding="utf-8") as log_file:
        return subprocess.Popen([sys.executable, "-m", "sitool.corpora.synth.worker", str(path)],
                                stdout=log_file, stderr=subprocess.STDOUT, env=env)


def _read_status(job: _Job) -> list[tuple[str, ...]]:
    """New complete status lines of ``job``."""
    status = Path(f"{job.path}{STATUS_SUFFIX}")
    if not status.is_file():
        return []
    with open(status, encoding="utf-8") as f:
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


def run_synthesis(
    tasks: list[str],
    out: Path,
    make_spec: Callable[[str, int], UttSpec],
    nj: int = 1,
    max_attempts: int = 3,
    first_attempt: dict[str, int] | None = None,
    faults: dict[str, tuple[str, int]] | None = None,
    progress: bool = True,
    total: int | None = None,
    initial: int = 0,
) -> SynthesisReport:
    """Synthesise the utterances ``tasks`` into ``out`` with ``nj`` worker processes.

    ``make_spec(utt, attempt)`` gives the utterance of that attempt; a failed or crashed
    attempt is retried with the next attempt number until ``max_attempts`` attempts were
    made (counting from ``first_attempt[utt]``, default 0). ``faults`` maps an utterance to
    (``"crash"`` or ``"error"``, number of attempts to fail) for testing the crash handling.
    Jobs group utterances of one speaker (the anatomy is set once per worker process).
    """
    if nj < 1:
        raise SitoolError(f"--nj must be >= 1, got {nj}")
    first_attempt = first_attempt or {}
    faults = faults or {}
    jobs_dir = out / ".jobs"
    log_dir = out / "log"
    shutil.rmtree(jobs_dir, ignore_errors=True)   # leftovers of a killed run
    jobs_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    report = SynthesisReport()
    errors: dict[str, list[str]] = {}
    attempt_of = {utt: first_attempt.get(utt, 0) for utt in tasks}
    limit = {utt: attempt_of[utt] + max_attempts for utt in tasks}
    queue: dict[str, deque[str]] = {}
    for utt in tasks:
        spec_speaker = make_spec(utt, attempt_of[utt]).speaker.id
        queue.setdefault(spec_speaker, deque()).append(utt)
    running: list[_Job] = []
    job_count = 0
    run_stamp = time.strftime("%Y%m%d-%H%M%S")
    start = time.monotonic()
    bar = tqdm(total=total if total is not None else len(tasks), initial=initial, unit="utt",
               desc="synth-corpus", disable=not progress, dynamic_ncols=True)

    def pending() -> int:
        return sum(len(q) for q in queue.values())

    def launch() -> None:
        nonlocal job_count
        speaker_id = max(queue, key=lambda s: len(queue[s]))
        chunk = min(max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(pending() / (2 * nj)))),
                    len(queue[speaker_id]))
        utts = [queue[speaker_id].popleft() for _ in range(chunk)]
        if not queue[speaker_id]:
            del queue[speaker_id]
        specs = [make_spec(u, attempt_of[u]) for u in utts]
        job_faults = {u: faults[u][0] for u in utts
                      if u in faults and attempt_of[u] - first_attempt.get(u, 0) < faults[u][1]}
        job_count += 1
        path = jobs_dir / f"job{job_count:05d}.json"
        _write_job(path, out, specs, job_faults)
        log_path = log_dir / f"{run_stamp}-job{job_count:05d}.log"
        running.append(_Job(_launch(path, log_path), path, log_path,
                            [(u, attempt_of[u]) for u in utts]))

    def failed_attempt(utt: str, message: str) -> None:
        errors.setdefault(utt, []).append(f"attempt {attempt_of[utt]}: {message}")
        attempt_of[utt] += 1
        if attempt_of[utt] < limit[utt]:
            log.warning("%s: %s; retrying with variant %d", utt, message, attempt_of[utt])
            speaker_id = make_spec(utt, attempt_of[utt]).speaker.id
            queue.setdefault(speaker_id, deque()).append(utt)
        else:
            report.failed[utt] = errors[utt]
            log.warning("%s: %s; giving up after %d attempts", utt, message, max_attempts)
            bar.update(1)

    def finish(job: _Job) -> None:
        code = job.proc.returncode
        died = code != 0 or bool(job.killed)
        crashed = [u for u in job.started if u not in job.outcome][-1:] if died else []
        for utt, _ in job.tasks:
            kind, message = job.outcome.get(utt, ("", ""))
            if kind == "done":
                report.synthesised += 1
                report.retried += attempt_of[utt] > first_attempt.get(utt, 0)
                report.audio_seconds += _wav_seconds(out, utt)
                bar.update(1)
            elif kind == "fail":
                failed_attempt(utt, message)
            elif utt in crashed:
                why = job.killed or f"worker crashed (exit code {code})"
                failed_attempt(utt, why)
            elif not died:
                failed_attempt(utt, "worker exited without a result")
            elif not job.started:   # died before any utterance (e.g. a broken install)
                failed_attempt(utt, f"worker died before starting (exit code {code})")
            else:  # never reached: the worker died before it; same attempt again
                queue.setdefault(make_spec(utt, attempt_of[utt]).speaker.id, deque()).append(utt)
        if code != 0 or job.killed:
            log.warning("worker %s exited with code %s%s; log tail:\n%s", job.path.name, code,
                        f" ({job.killed})" if job.killed else "", _tail(job.log_path))
        else:
            job.log_path.unlink(missing_ok=True)
        job.path.unlink(missing_ok=True)
        Path(f"{job.path}{STATUS_SUFFIX}").unlink(missing_ok=True)

    try:
        while queue or running:
            while queue and len(running) < nj:
                launch()
            time.sleep(POLL_S)
            for job in list(running):
                for event in _read_status(job):
                    job.last_event = time.monotonic()
                    if event[0] == "start":
                        job.started.append(event[1])
                    elif event[0] in ("done", "fail") and len(event) >= 2:
                        job.outcome[event[1]] = (event[0], event[2] if len(event) > 2 else "")
                if job.proc.poll() is None and time.monotonic() - job.last_event > STALL_TIMEOUT_S:
                    job.killed = f"no progress for {STALL_TIMEOUT_S:.0f} s, killed"
                    job.proc.kill()
                    job.proc.wait()
                if job.proc.poll() is not None:
                    for event in _read_status(job):
                        if event[0] == "start":
                            job.started.append(event[1])
                        elif len(event) >= 2:
                            job.outcome[event[1]] = (event[0], event[2] if len(event) > 2 else "")
                    running.remove(job)
                    finish(job)
    finally:
        for job in running:
            job.proc.kill()
            job.proc.wait()
        bar.close()
    shutil.rmtree(jobs_dir, ignore_errors=True)
    if log_dir.is_dir() and not any(log_dir.iterdir()):
        log_dir.rmdir()
    report.wall_seconds = time.monotonic() - start
    return report


def _wav_seconds(out: Path, utt: str) -> float:
    from sitool.audio import audio_duration

    return audio_duration(utterance_paths(out, utt)["wav"])


# --------------------------------------------------------------------------- the corpus


def _settings(num_utts: int, seed: int, seconds: tuple[float, float],
              speakers: list[Speaker]) -> dict:
    settings = {"format": FORMAT_VERSION, "num_utts": num_utts, "seed": seed,
                "seconds": [float(seconds[0]), float(seconds[1])],
                "speakers": [s.id for s in speakers]}
    if speakers != SPEAKERS:
        # Not the fixed table: its content (voices, anatomy) decides the corpus too. The
        # default corpus.yaml stays as it was (old corpora resume).
        import hashlib

        table = format_speakers_tsv(speakers).encode()
        settings["speaker_table"] = hashlib.sha1(table).hexdigest()[:16]
    return settings


def check_settings(previous: dict, settings: dict, out: Path) -> None:
    """Refuse to resume a corpus made with other settings; growing ``num_utts`` is allowed.

    Utterances do not depend on ``num_utts`` (only on seed, speaker, index and attempt), so a
    larger ``--num-utts`` keeps every finished utterance and adds new ones.
    """
    changed = [k for k in settings if previous.get(k) != settings[k]]
    if changed == ["num_utts"] and settings["num_utts"] > int(previous["num_utts"]):
        log.info("synth-corpus %s: growing from %s to %d utterances", out,
                 previous["num_utts"], settings["num_utts"])
        return
    if changed:
        raise SitoolError(
            f"{out}: was made with other settings ({', '.join(changed)} differ: "
            f"{ {k: previous.get(k) for k in changed} }); rerun with --overwrite to remake it, "
            "or choose another --out (--num-utts may only grow)")


def _prepare_dir(out: Path, settings: dict, overwrite: bool) -> None:
    """Create, reuse or (with ``overwrite``) wipe the corpus directory."""
    marker = out / "corpus.yaml"
    if out.exists() and overwrite:
        if not marker.is_file() and any(out.iterdir()):
            raise SitoolError(f"{out}: exists and is not a synthetic corpus (no corpus.yaml); "
                              "refusing to delete it; choose another --out")
        shutil.rmtree(out)
    if marker.is_file():
        check_settings(read_yaml(marker), settings, out)
    elif out.exists() and any(p.name not in (".jobs", "log") for p in out.iterdir()):
        raise SitoolError(f"{out}: exists, is not empty and is not a synthetic corpus "
                          "(no corpus.yaml); choose another --out")


def _write_plan(out: Path, settings: dict, speakers: list[Speaker],
                plan: list[PlannedUtt]) -> None:
    split_of = {s.id: s.split for s in speakers}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "speakers.tsv", format_speakers_tsv(speakers))
    rows = ["utt\tspeaker\tsplit\n"] + [f"{p.utt}\t{p.speaker}\t{split_of[p.speaker]}\n"
                                        for p in plan]
    atomic_write_text(out / "utts.tsv", "".join(rows))
    target_info().write(out / "targets.yaml")
    write_yaml(out / "corpus.yaml", settings)   # last: marks the plan complete


def _previous_attempts(out: Path, utt: str) -> int:
    """How many attempts an earlier run made for a failed utterance (0 if none)."""
    record = out / "failed" / f"{utt}.txt"
    if not record.is_file():
        return 0
    return sum(1 for line in record.read_text().splitlines() if line.startswith("attempt "))


def make_corpus(
    out: str | os.PathLike,
    num_utts: int,
    nj: int = 1,
    seed: int = 1,
    overwrite: bool = False,
    speakers: list[Speaker] | None = None,
    seconds: tuple[float, float] = DEFAULT_SECONDS,
    max_attempts: int = 3,
    faults: dict[str, tuple[str, int]] | None = None,
    progress: bool = True,
) -> SynthesisReport:
    """Make (or resume) the synthetic corpus in ``out``; see the module docstring.

    ``num_utts`` utterances in total, spread evenly over the speakers (default: the 15 of
    ``speakers.SPEAKERS``; ``speakers.make_speakers`` makes other sets), each ``seconds`` long (min, max). Returns the run's report; the
    last log line gives its counts. ``faults`` is for tests (see ``run_synthesis``).
    """
    out = Path(out).resolve()
    speakers = list(speakers or SPEAKERS)
    if not 0 < seconds[0] <= seconds[1]:
        raise SitoolError(f"utterance length range {seconds} must satisfy 0 < min <= max")
    settings = _settings(num_utts, seed, seconds, speakers)
    plan = plan_utterances(num_utts, speakers)
    _prepare_dir(out, settings, overwrite)
    _write_plan(out, settings, speakers, plan)   # derived from the settings: always rewritten
    by_utt = {p.utt: p for p in plan}
    position = {s.id: i for i, s in enumerate(speakers)}
    speaker_of = {s.id: s for s in speakers}

    def make_spec(utt: str, attempt: int) -> UttSpec:
        p = by_utt[utt]
        return utterance_spec(p, speaker_of[p.speaker], position[p.speaker], seed, attempt,
                              seconds)

    _remove_partial_files(out)
    todo = [p.utt for p in plan if not is_finished(out, p.utt)]
    reused = len(plan) - len(todo)
    log.info("synth-corpus %s: %d utterances planned, %d already finished, %d to synthesise "
             "with %d worker(s)", out, len(plan), reused, len(todo), nj)
    first = {utt: _previous_attempts(out, utt) for utt in todo}
    report = run_synthesis(todo, out, make_spec, nj=nj, max_attempts=max_attempts,
                           first_attempt=first, faults=faults, progress=progress,
                           total=len(plan), initial=reused)
    report.planned, report.reused = len(plan), reused
    _record_failures(out, todo, report)
    log.info("synth-corpus %s: %s", out, report.summary())
    if report.failed:
        log.warning("synth-corpus: %d utterance(s) failed every attempt and are listed in %s; "
                    "rerun the same command to retry them", len(report.failed), out / "failed")
    return report


def _remove_partial_files(out: Path) -> None:
    """Delete temporary files a killed run left behind (atomic writes in progress)."""
    for sub in ("wav", "tv", "phones"):
        for leftover in (out / sub).glob(".*.tmp") if (out / sub).is_dir() else ():
            shutil.rmtree(leftover, ignore_errors=True)


def _record_failures(out: Path, todo: list[str], report: SynthesisReport) -> None:
    failed_dir = out / "failed"
    for utt in todo:
        record = failed_dir / f"{utt}.txt"
        if utt in report.failed:
            previous = record.read_text() if record.is_file() else ""
            atomic_write_text(record, previous + "".join(f"{e}\n" for e in report.failed[utt]))
        elif record.is_file():
            record.unlink()
    if failed_dir.is_dir() and not any(failed_dir.iterdir()):
        failed_dir.rmdir()


def synthesize_utterances(specs: list[UttSpec], out: str | os.PathLike, nj: int = 1,
                          progress: bool = False,
                          faults: dict[str, tuple[str, int]] | None = None) -> SynthesisReport:
    """Synthesise given utterances (fixed phone segments) into ``out`` (wav/, tv/, phones/).

    One attempt each (a retry would repeat the same utterance); for designed test sentences
    and benchmarks. Failures are in the report.
    """
    out = Path(out).resolve()
    by_utt = {s.utt: s for s in specs}
    if len(by_utt) != len(specs):
        raise SitoolError("synthesize_utterances: duplicate utterance ids")
    report = run_synthesis(list(by_utt), out, lambda utt, attempt: by_utt[utt], nj=nj,
                           max_attempts=1, faults=faults, progress=progress)
    report.planned = len(specs)
    return report
