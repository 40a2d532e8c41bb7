"""A synthesis worker process: ``python -m sitool.corpora.synth.worker JOB.json``.

One job is a list of utterances of one speaker, each with its attempt number (the variant).
The worker first makes every utterance's motor trajectories with the reference anatomy, then
sets the speaker's anatomy once and renders them one by one, writing each utterance's files
atomically (``wav/``, ``tv/``, and ``phones/`` last, which marks the utterance finished; see
``layout.py``).

Progress goes to ``JOB.json.status``, one line per event: ``start<TAB>utt`` before each step
of an utterance, then ``done<TAB>utt`` or ``fail<TAB>utt<TAB>message``. If the process dies
(VocalTractLab can crash), the driver blames the last started utterance without an outcome.
The worker leaves with ``os._exit`` (VocalTractLab segfaults at normal exit after an anatomy
change).

Test hook: the environment variable ``SITOOL_SYNTH_FAULTS`` (JSON, ``{utt: [kind, n]}``)
makes the worker fail attempts ``0 .. n-1`` of ``utt`` just before rendering, by a segfault
(kind ``"crash"``) or by raising (``"error"``), to test the driver's crash handling. Workers
inherit it from the driver's environment; unset, nothing is injected.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

from sitool.audio import write_audio
from sitool.corpora.synth.layout import format_phones_tsv, utterance_paths
from sitool.corpora.synth.phones import Segment
from sitool.corpora.synth.speakers import Speaker
from sitool.io import atomic_save_npy, atomic_write_text

STATUS_SUFFIX = ".status"
FAULTS_ENV = "SITOOL_SYNTH_FAULTS"


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".replace("\n", " ").replace("\t", " ")[:500]


def _injected_faults() -> dict[str, tuple[str, int]]:
    """The test hook's faults (see the module docstring): utt -> (kind, attempts to fail)."""
    return {utt: (kind, int(n)) for utt, (kind, n) in
            json.loads(os.environ.get(FAULTS_ENV) or "{}").items()}


def _inject(fault: tuple[str, int] | None, attempt: int) -> None:
    kind = fault[0] if fault is not None and attempt < fault[1] else None
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "error":
        raise RuntimeError("injected failure")


def run_job(job_path: str | os.PathLike) -> None:
    """Synthesise every utterance of the job file (see the module docstring)."""
    # Imported here, not at the top: they load VocalTractLab, which must stay out of the
    # corpus driver's process (pool.py imports STATUS_SUFFIX from this module).
    from sitool.corpora.synth import synthesis, vtl

    job = json.loads(Path(job_path).read_text())
    out = Path(job["out"])
    speaker = Speaker(**job["speaker"])
    faults = _injected_faults()
    with open(f"{job_path}{STATUS_SUFFIX}", "a", buffering=1, encoding="utf-8") as status:
        def report(*fields: str) -> None:
            status.write("\t".join(fields) + "\n")
            status.flush()

        motors = {}
        for item in job["utts"]:
            utt = item["utt"]
            report("start", utt)
            try:
                segments = [Segment(p, d) for p, d in item["segments"]]
                motors[utt] = (segments, synthesis.motor_trajectories(segments))
            except Exception as e:  # noqa: BLE001 - any failure of one utterance is reported
                report("fail", utt, _one_line(e))
        anatomy = vtl.set_anatomy(synthesis.speaker_anatomy(speaker))
        for item in job["utts"]:
            utt = item["utt"]
            if utt not in motors:
                continue
            segments, motor = motors[utt]
            report("start", utt)
            try:
                _inject(faults.get(utt), item["attempt"])
                result = synthesis.render(motor, speaker, anatomy,
                                          np.random.default_rng(item["f0_seed"]),
                                          item["state_step"])
                paths = utterance_paths(out, utt)
                write_audio(paths["wav"], result.audio)
                atomic_save_npy(paths["tv"], result.targets)
                atomic_write_text(paths["phones"], format_phones_tsv(segments))
                report("done", utt)
            except Exception as e:  # noqa: BLE001
                report("fail", utt, _one_line(e))


def main(argv: list[str]) -> None:
    code = 0
    try:
        if len(argv) != 2:
            raise SystemExit("usage: python -m sitool.corpora.synth.worker JOB.json")
        run_job(argv[1])
    except BaseException:  # noqa: BLE001 - the exit code tells the driver
        traceback.print_exc()
        code = 3
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
