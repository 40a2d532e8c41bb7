"""The raw synthetic corpus on disk: where each file lives, and the tables' formats.

Layout of a corpus directory (``DIR``)::

    corpus.yaml        how it was made: format, num_utts, seed, utterance length range, speakers
    speakers.tsv       speaker table with split (train/dev/test/babble_talkers), see speakers.py
    utts.tsv           the plan: utt, speaker, split (header line; tab-separated)
    targets.yaml       target names, units, frame rate, descriptions (the data dirs' ``targets``)
    wav/<utt>.wav      16 kHz mono 16-bit audio
    tv/<utt>.npy       float32 [frames, 9] targets at 100 Hz (see targets.py)
    phones/<utt>.tsv   exact phone alignment: header ``start end phone``, seconds, ``sil`` = silence
    failed/<utt>.txt   utterances that failed every attempt: attempts and errors (rerun retries)
    log/               logs of worker processes that crashed or failed

An utterance is finished when all its files exist; ``phones/`` is written last, each file
atomically. The worker (``worker.py``) writes the utterance files, the corpus driver
(``corpus.py``) the plan and ``failed/``, and ``prepare.py`` reads them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sitool.corpora.synth.phones import Segment, segment_times
from sitool.datadir import PhoneSegment
from sitool.errors import SitoolError
from sitool.io import atomic_write_text

UTTS_TSV = "utts.tsv"
UTTERANCE_DIRS = ("wav", "tv", "phones")


# --------------------------------------------------------------------------- utterances


def utterance_paths(out: Path, utt: str) -> dict[str, Path]:
    """Where one utterance's files live in the raw corpus."""
    return {"wav": out / "wav" / f"{utt}.wav", "tv": out / "tv" / f"{utt}.npy",
            "phones": out / "phones" / f"{utt}.tsv"}


def is_finished(out: Path, utt: str) -> bool:
    """True when all of the utterance's files exist (``phones/`` is written last)."""
    return all(p.is_file() for p in utterance_paths(out, utt).values())


def remove_partial_files(out: Path) -> None:
    """Delete temporary files a killed run left behind (atomic writes in progress)."""
    for sub in UTTERANCE_DIRS:
        for leftover in (out / sub).glob(".*.tmp") if (out / sub).is_dir() else ():
            shutil.rmtree(leftover, ignore_errors=True)


def format_phones_tsv(segments: list[Segment]) -> str:
    """The text of ``phones/<utt>.tsv`` for back-to-back ``segments``."""
    lines = ["start\tend\tphone\n"]
    for start, end, phone in segment_times(segments):
        lines.append(f"{start:.4f}\t{end:.4f}\t{phone}\n")
    return "".join(lines)


def read_phones_tsv(path: Path) -> list[PhoneSegment]:
    """Read a corpus ``phones/<utt>.tsv`` (header ``start end phone``, seconds)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["start", "end", "phone"]:
        raise SitoolError(f"{path}: expected a header 'start<TAB>end<TAB>phone'")
    segments = []
    for lineno, line in enumerate(lines[1:], 2):
        parts = line.split("\t")
        if len(parts) != 3:
            raise SitoolError(f"{path}:{lineno}: expected 'start<TAB>end<TAB>phone'")
        try:
            segments.append(PhoneSegment(float(parts[0]), float(parts[1]), parts[2]))
        except ValueError:
            raise SitoolError(f"{path}:{lineno}: start/end must be numbers") from None
    return segments


# --------------------------------------------------------------------------- the plan


def write_utts_tsv(out: Path, rows: list[tuple[str, str, str]]) -> None:
    """Write the plan ``utts.tsv``: (utt, speaker, split) rows under a header line."""
    lines = ["utt\tspeaker\tsplit\n"] + [f"{utt}\t{speaker}\t{split}\n"
                                         for utt, speaker, split in rows]
    atomic_write_text(out / UTTS_TSV, "".join(lines))


def read_utts_tsv(corpus: Path) -> list[tuple[str, str, str]]:
    """(utt, speaker, split) rows of ``utts.tsv``."""
    path = corpus / UTTS_TSV
    if not path.is_file():
        raise SitoolError(f"{path}: missing; the corpus is made by sitool synth-corpus")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines()[1:], 2):
        parts = line.split("\t")
        if len(parts) != 3:
            raise SitoolError(f"{path}:{lineno}: expected 'utt<TAB>speaker<TAB>split'")
        rows.append((parts[0], parts[1], parts[2]))
    return rows


# --------------------------------------------------------------------------- failures


def failed_dir(out: Path) -> Path:
    """``failed/``: one record per utterance that failed every attempt."""
    return out / "failed"


def previous_attempts(out: Path, utt: str) -> int:
    """How many attempts earlier runs made for a failed utterance (0 if none)."""
    record = failed_dir(out) / f"{utt}.txt"
    if not record.is_file():
        return 0
    return sum(1 for line in record.read_text().splitlines() if line.startswith("attempt "))


def record_failures(out: Path, todo: list[str], failed: dict[str, list[str]]) -> None:
    """Append this run's errors of the ``failed`` utterances to their records in ``failed/``;
    remove the records of the other ``todo`` utterances (they are finished now)."""
    records = failed_dir(out)
    for utt in todo:
        record = records / f"{utt}.txt"
        if utt in failed:
            previous = record.read_text() if record.is_file() else ""
            atomic_write_text(record, previous + "".join(f"{e}\n" for e in failed[utt]))
        elif record.is_file():
            record.unlink()
    if records.is_dir() and not any(records.iterdir()):
        records.rmdir()
