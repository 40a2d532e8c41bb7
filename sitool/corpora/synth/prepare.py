"""``sitool prepare synth``: the raw synthetic corpus -> ``data/{train,dev,test,babble_talkers}``.

Each data dir gets ``wav.scp`` and ``tv.scp`` (absolute paths into the corpus), ``utt2spk``,
``spk2utt``, ``utt2dur`` (from the WAV headers), ``targets`` (the corpus' ``targets.yaml``),
``text`` (the phone string without silences) and ``phones.ctm`` (the exact alignment,
silences as ``sil``). Only finished utterances are listed; unfinished or failed ones are
skipped with a count in the log. Idempotent: an existing data dir with the same utterances
is kept; one that differs needs ``--overwrite``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sitool.audio import audio_duration
from sitool.corpora.synth.layout import (UTTS_TSV, failed_dir, is_finished, read_phones_tsv,
                                         read_utts_tsv, utterance_paths)
from sitool.corpora.synth.phones import SILENCE
from sitool.corpora.synth.speakers import SPLITS, parse_speakers_tsv
from sitool.datadir import DataDir, TargetInfo, write_data_dir
from sitool.errors import SitoolError
from sitool.locking import locks_output

log = logging.getLogger(__name__)


def _same_data_dir(path: Path, utt2spk: dict[str, str], wav_scp: dict[str, str]) -> bool:
    try:
        existing = DataDir(path)
        return existing.utt2spk == utt2spk and existing.wav_scp == wav_scp
    except SitoolError:
        return False


@locks_output("out")
def prepare_synth(corpus: str | os.PathLike, out: str | os.PathLike,
                  overwrite: bool = False) -> dict[str, Path]:
    """Write the four data dirs of the synthetic corpus; returns ``{split: path}``."""
    corpus = Path(corpus).resolve()
    out = Path(out)
    if not (corpus / "corpus.yaml").is_file():
        raise SitoolError(f"{corpus}: not a synthetic corpus (no corpus.yaml); make it with "
                          f"sitool synth-corpus --out {corpus}")
    speakers_path = corpus / "speakers.tsv"
    if not speakers_path.is_file():
        raise SitoolError(f"{speakers_path}: missing; remake the corpus with sitool synth-corpus")
    speakers = {s.id: s for s in parse_speakers_tsv(speakers_path.read_text(), str(speakers_path))}
    info = TargetInfo.read(corpus / "targets.yaml")
    plan = read_utts_tsv(corpus)
    finished = [row for row in plan if is_finished(corpus, row[0])]
    skipped = len(plan) - len(finished)
    if skipped:
        records = failed_dir(corpus)
        failed = len(list(records.glob("*.txt"))) if records.is_dir() else 0
        log.warning("prepare synth: skipping %d of %d planned utterances that are not finished "
                    "(%d failed every attempt, see %s; rerun sitool synth-corpus to finish them)",
                    skipped, len(plan), failed, records)
    written = {}
    for split in SPLITS:
        rows = [row for row in finished if row[2] == split]
        if not rows:
            raise SitoolError(f"{corpus}: no finished utterance for split {split!r}; run "
                              f"sitool synth-corpus --out {corpus} to finish the corpus")
        utt2spk, utt2dur, wav_scp, tv_scp, text, phones = {}, {}, {}, {}, {}, {}
        for utt, speaker, _ in rows:
            if speaker not in speakers:
                raise SitoolError(f"{corpus / UTTS_TSV}: speaker {speaker!r} of {utt} is "
                                  "not in speakers.tsv")
            paths = utterance_paths(corpus, utt)
            utt2spk[utt] = speaker
            wav_scp[utt] = str(paths["wav"])
            tv_scp[utt] = str(paths["tv"])
            utt2dur[utt] = audio_duration(paths["wav"])
            phones[utt] = read_phones_tsv(paths["phones"])
            text[utt] = " ".join(seg.phone for seg in phones[utt] if seg.phone != SILENCE)
        target = out / split
        if target.exists() and not overwrite:
            if _same_data_dir(target, utt2spk, wav_scp):
                log.info("prepare synth: %s is up to date (%d utterances), kept", target,
                         len(rows))
                written[split] = target
                continue
            raise SitoolError(f"{target}: exists and differs from the corpus ({len(rows)} "
                              "finished utterances); rerun with --overwrite to rewrite it")
        write_data_dir(target, utt2spk=utt2spk, utt2dur=utt2dur, wav_scp=wav_scp,
                       tv_scp=tv_scp, targets=info, text=text, phones=phones)
        log.info("prepare synth: wrote %s (%d utterances, %d speakers, %.1f min)", target,
                 len(rows), len(set(utt2spk.values())), sum(utt2dur.values()) / 60)
        written[split] = target
    return written
