"""Train/dev/test split rules for real corpora (speaker-disjoint where the corpus allows).

Precedence, first match wins:

1. ``split_file``: a table ``<utt> <set>`` (set = train, dev, test or babble_talkers) gives
   every utterance's set explicitly (utterances it does not list are left out, with a count).
2. ``dev_speakers`` / ``test_speakers`` (and ``babble_speakers``): those speakers' utterances
   go to dev / test (/ babble_talkers), all other speakers' to train.
3. The corpus' default speakers (``CorpusReader.default_dev_speakers`` etc.), when it has them.
4. Corpora with at least ``MIN_SPEAKERS_FOR_SPEAKER_SPLIT`` speakers: speaker-disjoint by a
   fixed rule - speakers sorted by name, ``round(10 %)`` (at least 1) for dev and for test,
   taken at evenly spaced positions of the sorted list (test first, then dev, alternating).
5. Fewer speakers (mngu0: one; MOCHA's two-speaker release): an utterance split within each
   speaker - utterances sorted by id, position ``i % 10 == 0`` to test, ``i % 10 == 5`` to dev,
   the rest to train (80/10/10). Such a split is NOT speaker-independent; say so in results.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from sitool.errors import SitoolError
from sitool.io import read_table

log = logging.getLogger(__name__)

SETS = ("train", "dev", "test", "babble_talkers")
MIN_SPEAKERS_FOR_SPEAKER_SPLIT = 3
HELD_OUT_FRACTION = 0.1


@dataclass
class SplitRule:
    """How to split a corpus; empty fields fall through to the next rule (module docstring)."""

    dev_speakers: Sequence[str] = ()
    test_speakers: Sequence[str] = ()
    babble_speakers: Sequence[str] = ()
    split_file: str | os.PathLike | None = None
    default_dev_speakers: Sequence[str] = field(default_factory=tuple)
    default_test_speakers: Sequence[str] = field(default_factory=tuple)


def evenly_spaced_speakers(speakers: Sequence[str]) -> tuple[list[str], list[str]]:
    """(dev, test) speakers of the fixed speaker-disjoint rule (rule 4)."""
    ordered = sorted(speakers)
    n = len(ordered)
    n_each = max(1, round(HELD_OUT_FRACTION * n))
    step = n / (2 * n_each)
    picks = [ordered[int((j + 0.5) * step)] for j in range(2 * n_each)]
    return picks[1::2], picks[0::2]


def _check_speakers(names: Sequence[str], known: set[str], option: str) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        raise SitoolError(f"{option}: unknown speaker(s) {', '.join(unknown)}; the corpus has "
                          f"{', '.join(sorted(known))}")


def _from_split_file(path: Path, utt2spk: Mapping[str, str]) -> dict[str, str]:
    table = read_table(path)
    bad = {value for value in table.values() if value not in SETS}
    if bad:
        raise SitoolError(f"{path}: unknown set name(s) {', '.join(sorted(bad))}; "
                          f"use {', '.join(SETS)}")
    assignment = {utt: table[utt] for utt in utt2spk if utt in table}
    unlisted = len(utt2spk) - len(assignment)
    if unlisted:
        log.warning("%s lists %d of %d utterances; %d left out", path, len(assignment),
                    len(utt2spk), unlisted)
    return assignment


def assign_sets(utt2spk: Mapping[str, str], rule: SplitRule) -> dict[str, str]:
    """``{utt: set name}`` for every utterance kept, by the rules of the module docstring."""
    if rule.split_file:
        return _from_split_file(Path(rule.split_file), utt2spk)
    speakers = set(utt2spk.values())
    for names, option in ((rule.dev_speakers, "--dev-speakers"),
                          (rule.test_speakers, "--test-speakers"),
                          (rule.babble_speakers, "--babble-speakers")):
        _check_speakers(names, speakers, option)
    groups = [set(rule.dev_speakers), set(rule.test_speakers), set(rule.babble_speakers)]
    for i in range(3):
        for j in range(i + 1, 3):
            both = groups[i] & groups[j]
            if both:
                raise SitoolError(f"speaker(s) {', '.join(sorted(both))} given for two sets; "
                                  "dev, test and babble speakers must be disjoint")
    babble = set(rule.babble_speakers)
    remaining = sorted(speakers - babble)
    dev, test = set(rule.dev_speakers), set(rule.test_speakers)
    if not dev and not test:
        default_dev = set(rule.default_dev_speakers) & speakers
        default_test = set(rule.default_test_speakers) & speakers
        if default_dev or default_test:
            dev, test = default_dev - babble, default_test - babble
        elif len(remaining) >= MIN_SPEAKERS_FOR_SPEAKER_SPLIT:
            dev_list, test_list = evenly_spaced_speakers(remaining)
            dev, test = set(dev_list), set(test_list)
        else:
            log.warning("only %d speaker(s): utterance split within speakers (not "
                        "speaker-independent)", len(remaining))
            return _utterance_split(utt2spk, babble)
    assignment = {}
    for utt, spk in utt2spk.items():
        if spk in babble:
            assignment[utt] = "babble_talkers"
        elif spk in test:
            assignment[utt] = "test"
        elif spk in dev:
            assignment[utt] = "dev"
        else:
            assignment[utt] = "train"
    return assignment


def _utterance_split(utt2spk: Mapping[str, str], babble: set[str]) -> dict[str, str]:
    by_speaker: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        by_speaker.setdefault(utt2spk[utt], []).append(utt)
    assignment = {}
    for spk, utts in by_speaker.items():
        for i, utt in enumerate(utts):
            if spk in babble:
                assignment[utt] = "babble_talkers"
            elif i % 10 == 0:
                assignment[utt] = "test"
            elif i % 10 == 5:
                assignment[utt] = "dev"
            else:
                assignment[utt] = "train"
    return assignment
