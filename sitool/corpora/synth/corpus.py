"""The whole synthetic corpus (``sitool synth-corpus``): plan, settings, resume, failures.

The corpus directory's layout is in ``layout.py``. A rerun keeps finished utterances and
synthesises the rest, so a killed run resumes (and a larger ``num_utts`` grows the corpus:
utterances do not depend on it). Synthesis runs in ``nj`` worker processes (``pool.py``):
an utterance whose worker crashed or raised is retried with another seed-derived variant
(new phone sequence and F0 contour) up to ``max_attempts`` times, then recorded in
``failed/``. This module never imports VocalTractLab itself.

Every utterance is a pure function of (seed, speaker position, utterance index, attempt).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from sitool.corpora.synth.layout import (failed_dir, is_finished, previous_attempts,
                                         record_failures, remove_partial_files, write_utts_tsv)
from sitool.corpora.synth.phones import random_utterance
from sitool.corpora.synth.pool import SynthesisReport, UttSpec, run_synthesis
from sitool.corpora.synth.speakers import (SPEAKERS, PlannedUtt, Speaker, format_speakers_tsv,
                                           plan_utterances)
from sitool.corpora.synth.targets import target_info
from sitool.errors import SitoolError
from sitool.io import atomic_write_text, read_yaml, write_yaml
from sitool.locking import locks_output

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_SECONDS = (1.0, 3.0)


def utterance_spec(planned: PlannedUtt, speaker: Speaker, speaker_pos: int, seed: int,
                   attempt: int, seconds: tuple[float, float], state_step: int = 1) -> UttSpec:
    """The utterance for (seed, speaker position, utterance index, attempt)."""
    rng = np.random.default_rng([seed, speaker_pos, planned.index, attempt])
    segments = random_utterance(rng, seconds, speaker.tempo)
    return UttSpec(planned.utt, speaker, tuple(segments), int(rng.integers(2 ** 62)),
                   state_step)


def _settings(num_utts: int, seed: int, seconds: tuple[float, float],
              speakers: list[Speaker], state_step: int) -> dict:
    settings = {"format": FORMAT_VERSION, "num_utts": num_utts, "seed": seed,
                "seconds": [float(seconds[0]), float(seconds[1])],
                "speakers": [s.id for s in speakers]}
    if state_step != 1:   # recorded only when set: corpora made before it resume
        settings["state_step"] = state_step
    if speakers != SPEAKERS:
        # Not the fixed table: its content (voices, anatomy) decides the corpus too. The
        # default corpus.yaml stays as it was (old corpora resume).
        table = format_speakers_tsv(speakers).encode()
        settings["speaker_table"] = hashlib.sha1(table).hexdigest()[:16]
    return settings


def check_settings(previous: dict, settings: dict, out: Path) -> None:
    """Refuse to resume a corpus made with other settings; growing ``num_utts`` is allowed.

    Utterances do not depend on ``num_utts`` (only on seed, speaker, index and attempt), so a
    larger ``--num-utts`` keeps every finished utterance and adds new ones.
    """
    keys = list(settings) + [k for k in previous if k not in settings]   # a key set only once
    changed = [k for k in keys if previous.get(k) != settings.get(k)]
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
    write_utts_tsv(out, [(p.utt, p.speaker, split_of[p.speaker]) for p in plan])
    target_info().write(out / "targets.yaml")
    write_yaml(out / "corpus.yaml", settings)   # last: marks the plan complete


@locks_output("out")
def make_corpus(
    out: str | os.PathLike,
    num_utts: int,
    nj: int = 1,
    seed: int = 1,
    overwrite: bool = False,
    speakers: list[Speaker] | None = None,
    seconds: tuple[float, float] = DEFAULT_SECONDS,
    max_attempts: int = 3,
    progress: bool = True,
    state_step: int = 1,
) -> SynthesisReport:
    """Make (or resume) the synthetic corpus in ``out``; see the module docstring.

    ``num_utts`` utterances in total, spread evenly over the speakers (default: the 15 of
    ``speakers.SPEAKERS``; ``speakers.make_speakers`` makes other sets), each ``seconds``
    long (min, max); the audio is synthesised from every ``state_step``-th tract state
    (``vtl.synthesize``). Returns the run's report; the last log line gives its counts.
    """
    out = Path(out).resolve()
    speakers = list(speakers or SPEAKERS)
    if not 0 < seconds[0] <= seconds[1]:
        raise SitoolError(f"utterance length range {seconds} must satisfy 0 < min <= max")
    if state_step < 1:
        raise SitoolError(f"state_step {state_step} must be at least 1")
    settings = _settings(num_utts, seed, seconds, speakers, state_step)
    plan = plan_utterances(num_utts, speakers)
    _prepare_dir(out, settings, overwrite)
    _write_plan(out, settings, speakers, plan)   # derived from the settings: always rewritten
    by_utt = {p.utt: p for p in plan}
    position = {s.id: i for i, s in enumerate(speakers)}
    speaker_of = {s.id: s for s in speakers}

    def make_spec(utt: str, attempt: int) -> UttSpec:
        p = by_utt[utt]
        return utterance_spec(p, speaker_of[p.speaker], position[p.speaker], seed, attempt,
                              seconds, state_step)

    remove_partial_files(out)
    todo = [p.utt for p in plan if not is_finished(out, p.utt)]
    reused = len(plan) - len(todo)
    log.info("synth-corpus %s: %d utterances planned, %d already finished, %d to synthesise "
             "with %d worker(s)", out, len(plan), reused, len(todo), nj)
    first = {utt: previous_attempts(out, utt) for utt in todo}
    report = run_synthesis(todo, out, make_spec, nj=nj, max_attempts=max_attempts,
                           first_attempt=first, progress=progress,
                           total=len(plan), initial=reused)
    report.planned, report.reused = len(plan), reused
    record_failures(out, todo, report.failed)
    log.info("synth-corpus %s: %s", out, report.summary())
    if report.failed:
        log.warning("synth-corpus: %d utterance(s) failed every attempt and are listed in %s; "
                    "rerun the same command to retry them", len(report.failed), failed_dir(out))
    return report


def synthesize_utterances(specs: list[UttSpec], out: str | os.PathLike, nj: int = 1,
                          progress: bool = False) -> SynthesisReport:
    """Synthesise given utterances (fixed phone segments) into ``out`` (wav/, tv/, phones/).

    One attempt each (a retry would repeat the same utterance); for designed test sentences
    and benchmarks. Failures are in the report.
    """
    out = Path(out).resolve()
    by_utt = {s.utt: s for s in specs}
    if len(by_utt) != len(specs):
        raise SitoolError("synthesize_utterances: duplicate utterance ids")
    report = run_synthesis(list(by_utt), out, lambda utt, attempt: by_utt[utt], nj=nj,
                           max_attempts=1, progress=progress)
    report.planned = len(specs)
    return report
