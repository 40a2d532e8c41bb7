"""``sitool synth-noise``: the embedded noise set (no downloads), 16 kHz.

Writes, in one atomic step, a directory::

    <type>.wav                  one long file per procedural type (split later by time range)
    babble<N>_<split>.wav       babble of N talkers, from that split's babble talkers only
    manifest.tsv                recording, path (relative), type, category, split, talkers
    babble_utts_<split>.list    the talker utterances (ids of the talker data dir) that split's
                                babble is made of: stage 3 pretrains the SSL model on the
                                train list only, so no dev/test babble speech is heard there
    synth_noise.yaml            the settings it was made with

The babble talkers (``data/babble_talkers``, held-out synthetic speakers made by stage 1,
plus optional espeak-ng talkers, ``--tts-talkers``) are divided between train, dev and test
(``split_talkers``): by speaker when every split gets
at least 2 speakers, otherwise by utterance, so no talker utterance is heard in two splits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from sitool.audio import write_audio
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.io import atomic_path, write_yaml
from sitool.locking import locks_output
from sitool.noise import procedural
from sitool.noise.babble import babble_per_split
from sitool.noise.seeds import rng_for
from sitool.noise.sources import DEFAULT_FRACTIONS, SPLITS, NoiseFile, split_counts
from sitool.noise.tts import tts_talkers as make_tts_talkers

log = logging.getLogger(__name__)

MANIFEST = "manifest.tsv"
MANIFEST_COLUMNS = ("recording", "path", "type", "category", "split", "talkers")
DEFAULT_BABBLE_COUNTS = (3, 8)   # babble3 (sparse, speech-like) and babble8 (dense)
DEFAULT_SECONDS = 100.0                  # per procedural type, before the 60/20/20 time split
DEFAULT_BABBLE_SECONDS = (60.0, 20.0, 20.0)  # babble per split (train, dev, test)
DEFAULT_TTS_UTTS = 12                    # sentences per TTS talker (--tts-talkers)


MIN_SPEAKERS_PER_SPLIT = 2  # below this, babble voices would be one speaker: split utterances


def split_talkers(spk2utt: dict[str, list[str]], seed: int,
                  fractions: Sequence[float] = DEFAULT_FRACTIONS,
                  by_speaker: bool = False) -> dict[str, dict[str, list[str]]]:
    """Divide babble talkers between the splits: ``split -> {speaker: [utts]}`` (speakers
    sorted); no utterance is in two splits.

    Whole speakers per split when every split gets at least ``MIN_SPEAKERS_PER_SPLIT``
    (so test babble has unseen voices); otherwise every speaker's utterances are divided
    (so each split's babble still mixes several voices; 3 utterances per speaker needed),
    or, with ``by_speaker``, an error saying how many speakers that needs.
    """
    speakers = sorted(spk2utt)
    if not speakers:
        raise SitoolError("babble talkers: no speakers")
    pools: dict[str, dict[str, list[str]]] = {s: {} for s in SPLITS}
    if len(speakers) >= 3 and min(split_counts(len(speakers), tuple(fractions))) >= MIN_SPEAKERS_PER_SPLIT:
        order = rng_for(seed, "babble-talkers").permutation(len(speakers))
        n_train, n_dev, _ = split_counts(len(speakers), tuple(fractions))
        for rank, i in enumerate(order):
            split = "train" if rank < n_train else "dev" if rank < n_train + n_dev else "test"
            pools[split][speakers[i]] = sorted(spk2utt[speakers[i]])
        return {split: dict(sorted(pool.items())) for split, pool in pools.items()}
    if by_speaker:
        counts = "/".join(str(c) for c in split_counts(len(speakers), tuple(fractions))) \
            if len(speakers) >= 3 else "fewer than 1 each"
        raise SitoolError(f"babble talkers: {len(speakers)} speaker(s) give train/dev/test "
                          f"{counts} with --fractions {','.join(f'{f:g}' for f in fractions)}; "
                          f"babble with talkers disjoint between the splits needs at least "
                          f"{MIN_SPEAKERS_PER_SPLIT} per split (e.g. 8 speakers at 0.6,0.2,0.2, "
                          "6 at 0.34,0.33,0.33); use a speech data dir with more speakers")
    log.info("babble talkers: %d speakers are too few to give each split %d; dividing each "
             "speaker's utterances between the splits instead", len(speakers),
             MIN_SPEAKERS_PER_SPLIT)
    for spk in speakers:
        utts = sorted(spk2utt[spk])
        if len(utts) < 3:
            raise SitoolError(f"babble talkers: {spk} has {len(utts)} utterance(s); dividing "
                              "them between train/dev/test needs at least 3 (or use more "
                              "babble speakers)")
        order = rng_for(seed, "babble-utts", spk).permutation(len(utts))
        n_train, n_dev, _ = split_counts(len(utts), tuple(fractions))
        parts = (order[:n_train], order[n_train:n_train + n_dev], order[n_train + n_dev:])
        for split, part in zip(SPLITS, parts):
            pools[split][spk] = sorted(utts[i] for i in part)
    return pools


def talker_pool(talker_dir: Path | None, tts: dict[str, list]) -> tuple[
        dict[str, list[str]], Callable[[str], np.ndarray]]:
    """``spk2utt`` of every babble talker (the speakers of the data dir ``talker_dir`` and
    TTS talkers) and a function giving an utterance's audio."""
    spk2utt: dict[str, list[str]] = {}
    tts_audio: dict[str, np.ndarray] = {}
    for spk, utterances in tts.items():
        spk2utt[spk] = [f"{spk}_{i:03d}" for i in range(len(utterances))]
        tts_audio.update(zip(spk2utt[spk], utterances))
    if talker_dir is None:
        return spk2utt, tts_audio.__getitem__
    data = DataDir(talker_dir)
    data.require("utt2spk", "wav.scp", made_by="stage 1 (sitool prepare)")
    clash = sorted(set(data.spk2utt) & set(spk2utt))
    if clash:
        raise SitoolError(f"{talker_dir}: speaker {clash[0]} clashes with a TTS talker name")
    spk2utt.update(data.spk2utt)

    def audio(utt: str) -> np.ndarray:
        return tts_audio[utt] if utt in tts_audio else data.audio(utt)
    return spk2utt, audio


def _babble_files(pools: dict[str, dict[str, list[str]]], audio: Callable[[str], np.ndarray],
                  counts: Sequence[int], seconds: Sequence[float], seed: int,
                  tmp: Path) -> list[NoiseFile]:
    files = []
    for split, n, babble, talkers in babble_per_split(
            pools, audio, counts, seconds, lambda n, split: rng_for(seed, "babble", n, split)):
        name = f"babble{n}_{split}"
        write_audio(tmp / f"{name}.wav", babble)
        files.append(NoiseFile(name, f"{name}.wav", f"babble{n}", "babble", split, talkers))
    return files


def write_babble_utt_lists(out: Path, pools: dict[str, dict[str, list[str]]],
                           talker_utts: Sequence[str]) -> None:
    """``babble_utts_<split>.list``: per split, the utterances of the talker data dir (one id a
    line, sorted; TTS talkers are not in it) its babble draws from."""
    known = set(talker_utts)
    for split, pool in pools.items():
        utts = sorted(u for utts in pool.values() for u in utts if u in known)
        (out / f"babble_utts_{split}.list").write_text("".join(f"{u}\n" for u in utts))


@locks_output("out")
def synth_noise(out: str | os.PathLike, seed: int, babble_talkers: str | os.PathLike | None,
                types: Sequence[str] = procedural.DEFAULT_TYPES,
                babble_counts: Sequence[int] = DEFAULT_BABBLE_COUNTS,
                seconds: float = DEFAULT_SECONDS,
                babble_seconds: Sequence[float] = DEFAULT_BABBLE_SECONDS,
                tts_talkers: int = 0, tts_utts: int = DEFAULT_TTS_UTTS,
                overwrite: bool = False) -> Path:
    """Write the embedded noise set to ``out`` (see the module docstring); returns ``out``.

    ``babble_talkers=None`` and ``tts_talkers=0`` make no babble. ``tts_talkers``: add that
    many espeak-ng talkers (``sitool.noise.tts``), each saying ``tts_utts`` sentences, to the
    babble talker pool. An existing complete ``out`` is reused unless ``overwrite``.
    """
    out = Path(out)
    if (out / MANIFEST).is_file() and not overwrite:
        log.info("%s exists, reusing it (--overwrite redoes it)", out)
        return out
    for noise_type in types:
        if noise_type not in procedural.GENERATORS:
            raise SitoolError(f"unknown noise type {noise_type!r}; choose from "
                              f"{', '.join(procedural.GENERATORS)}")
    if any(n < 2 for n in babble_counts):
        raise SitoolError(f"babble talker counts must be >= 2, got {list(babble_counts)}")
    if babble_talkers is not None and not Path(babble_talkers).is_dir():
        raise SitoolError(f"{babble_talkers}: babble talker data dir not found; it is written "
                          "by stage 1 (sitool prepare synth); or pass --no-babble")
    with atomic_path(out) as tmp:
        tmp.mkdir()
        files = []
        for noise_type in tqdm(types, desc="procedural noise", leave=False):
            signal = procedural.generate(noise_type, rng_for(seed, "procedural", noise_type),
                                         seconds)
            write_audio(tmp / f"{noise_type}.wav", signal)
            files.append(NoiseFile(noise_type, f"{noise_type}.wav", noise_type, "non-babble"))
        if (babble_talkers is not None or tts_talkers) and babble_counts:
            spk2utt, audio = talker_pool(
                None if babble_talkers is None else Path(babble_talkers),
                make_tts_talkers(tts_talkers, tts_utts, seed))
            pools = split_talkers(spk2utt, seed)
            files += _babble_files(pools, audio, babble_counts, babble_seconds, seed, tmp)
            if babble_talkers is not None:
                write_babble_utt_lists(tmp, pools, DataDir(babble_talkers).utts)
        lines = ["\t".join(MANIFEST_COLUMNS)]
        for f in files:
            lines.append("\t".join((f.recording, f.path, f.noise_type, f.category,
                                    f.split or "-", ",".join(f.talkers) or "-")))
        (tmp / MANIFEST).write_text("\n".join(lines) + "\n")
        write_yaml(tmp / "synth_noise.yaml", {
            "seed": seed, "types": list(types), "seconds": seconds,
            "babble_talkers": str(babble_talkers) if babble_talkers else None,
            "babble_counts": list(babble_counts), "babble_seconds": list(babble_seconds),
            "tts_talkers": tts_talkers, "tts_utts": tts_utts,
        })
    log.info("wrote %s: %d procedural types, %d babble files", out, len(types),
             len(files) - len(types))
    return out


def read_synth_manifest(noise_dir: str | os.PathLike) -> list[NoiseFile]:
    """The files ``synth_noise`` wrote, with absolute paths."""
    noise_dir = Path(noise_dir)
    manifest = noise_dir / MANIFEST
    if not manifest.is_file():
        raise SitoolError(f"{manifest}: missing; it is written by sitool synth-noise")
    lines = manifest.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_COLUMNS:
        raise SitoolError(f"{manifest}:1: header must be {' '.join(MANIFEST_COLUMNS)}")
    files = []
    for lineno, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != len(MANIFEST_COLUMNS):
            raise SitoolError(f"{manifest}:{lineno}: expected {len(MANIFEST_COLUMNS)} columns")
        recording, path, noise_type, category, split, talkers = parts
        files.append(NoiseFile(recording, str((noise_dir / path).resolve()), noise_type, category,
                               None if split == "-" else split,
                               () if talkers == "-" else tuple(talkers.split(","))))
    if not files:
        raise SitoolError(f"{manifest}: no noise files listed")
    return files
