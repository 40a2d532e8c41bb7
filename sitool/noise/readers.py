"""Readers for the noise corpora users have: each returns ``NoiseFile`` entries for
``sitool.noise.sources.split_noise_files``.

Expected layouts (only the files named here are read; others are ignored):

* MUSAN (openslr 17)::

      musan/noise/{free-sound,sound-bible}/*.wav   -> non-babble, type = folder (freesound, ...)
      musan/speech/{librivox,us-gov}/*.wav         -> babble<N>: N files (talkers) summed, the
                                                      files divided between splits first
      musan/music/<genre-source>/*.wav             -> with --music: non-babble, type music_<folder>

* DEMAND (zenodo 1227121, the 16 kHz or 48 kHz zips)::

      DEMAND/<ENV>/ch01.wav ... ch16.wav   one environment per folder (DKITCHEN, PCAFETER, ...);
                                           one channel is used (--channel, default 1); folder
                                           suffixes _16k/_48k are dropped; type = env lower-case

* NOISEX-92 (and the ISTS and ICRA files often kept beside it)::

      <root>/**/<name>.wav    the 15 NOISEX-92 names (``NOISEX_TYPES``: white, pink, babble,
                              f16, factory1, volvo, ...; any case, separators and a corpus or
                              rate word ignored: Babble.wav, f-16.wav, destroyer_engine.wav,
                              babble_22k.wav, noisex_babble.wav); babble is category babble,
                              the others non-babble.
      ISTS*.wav               type ists (the International Speech Test Signal: speech), babble
      ICRA*.wav               type icra (ICRA speech-shaped modulated noises), babble
      anything else           an error unless --unknown-category or --category TYPE=... labels
                              it (type = file name lower-case)

* speech for babble (``read_speech_babble``): a data dir (``wav.scp``, ``utt2spk``), or a
  folder of audio files ``<root>/**/<speaker>_<anything>.wav`` (speaker = group 1 of
  ``--speaker-pattern``); babble<N> of its speakers, the speakers divided between the splits.

* any directory: ``<root>/**/*.{wav,flac,ogg}``, all of one ``--type`` and ``--category``.
* synth: the directory ``sitool synth-noise`` wrote (its ``manifest.tsv``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from sitool.audio import AUDIO_FORMATS, SAMPLE_RATE, load_audio, write_audio
from sitool.errors import SitoolError
from sitool.noise.babble import babble_per_split
from sitool.noise.seeds import rng_for
from sitool.noise.sources import DEFAULT_FRACTIONS, SPLITS, NoiseFile, safe_id, split_counts
from sitool.mixture import CATEGORIES
from sitool.noise.synth import (DEFAULT_BABBLE_COUNTS, DEFAULT_BABBLE_SECONDS,
                                read_synth_manifest, split_talkers, talker_pool)

log = logging.getLogger(__name__)

# Longest stretch of one talker file used for babble (long audiobook files are cropped).
MAX_TALKER_SECONDS = 120.0
# A speech folder's speaker: what comes before the first underscore of a file's name.
DEFAULT_SPEAKER_PATTERN = r"^([^_]+)_"


def audio_files(root: str | os.PathLike) -> list[Path]:
    """Audio files (.wav/.flac/.ogg, any case) under ``root``, recursively, sorted; hidden
    files and folders are ignored."""
    root = Path(root)
    if not root.is_dir():
        raise SitoolError(f"{root}: directory not found")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_FORMATS:
                found.append(Path(dirpath) / name)
    return sorted(found)


def read_audio_dir(root: str | os.PathLike, noise_type: str, category: str) -> list[NoiseFile]:
    """Every audio file under ``root`` as one noise of ``noise_type``/``category``."""
    root = Path(root)
    files = audio_files(root)
    if not files:
        raise SitoolError(f"{root}: no audio files (.wav/.flac/.ogg) found")
    noise_type = safe_id(noise_type)
    return [NoiseFile(safe_id(f"{noise_type}-{f.relative_to(root).with_suffix('')}"),
                      str(f.resolve()), noise_type, category) for f in files]


# The 15 NOISEX-92 recordings (Varga & Steeneken 1993), by their usual file names.
NOISEX_TYPES = ("white", "pink", "hfchannel", "babble", "factory1", "factory2", "buccaneer1",
                "buccaneer2", "destroyerengine", "destroyerops", "f16", "leopard", "m109",
                "machinegun", "volvo")
NOISEX_BABBLE = ("babble",)
# Other spellings seen in copies of NOISEX-92 (after the words below are dropped).
_NOISEX_ALIASES = {"destroyeroperations": "destroyerops", "destroyeropsroom": "destroyerops",
                   "destroyerengineroom": "destroyerengine", "f16cockpit": "f16",
                   "speechbabble": "babble", "hfradiochannel": "hfchannel"}
# Words of a file name that say nothing about which noise it is: the corpus, "noise", a
# sample rate (22k, 16kHz, 19980) or a sample format (16bit).
_NOISEX_FILLER = re.compile(r"^(noisex(92)?|nx92|92|noise|\d+(\.\d+)?k(hz)?|\d+hz|\d{4,}|\d+bit)$")
# Speech and speech-like test signals that often sit beside NOISEX-92: (file name prefix,
# type); both are category babble (a mixture with them is speech-like).
NOISEX_SPEECH_LIKE = (("ists", "ists"), ("icra", "icra"))


def noisex_type(name: str) -> str | None:
    """The NOISEX-92 type a file name (without suffix) stands for, or None: case, separators
    and corpus/rate/format words are ignored, the rest must be one NOISEX-92 name exactly
    (``Babble`` -> babble, ``f-16`` -> f16, ``noisex_babble_22k`` -> babble)."""
    words = [w for w in re.split(r"[^a-z0-9.]+", name.lower()) if w]
    joined = "".join(w for w in words if not _NOISEX_FILLER.match(w)).replace(".", "")
    joined = _NOISEX_ALIASES.get(joined, joined)
    return joined if joined in NOISEX_TYPES else None


def _check_category(category: str, option: str) -> None:
    if category not in CATEGORIES:
        raise SitoolError(f"{option}: category {category!r} must be one of {', '.join(CATEGORIES)}")


def read_noisex(root: str | os.PathLike, categories: Mapping[str, str] | None = None,
                unknown_category: str | None = None) -> list[NoiseFile]:
    """NOISEX-92 (one file per type, named after it), with ISTS and ICRA files beside it.

    ``categories`` (``--category TYPE=CAT``) sets the category of a type, known or not;
    ``unknown_category`` labels every file that is neither NOISEX-92, ISTS nor ICRA. An
    unlabelled unknown file is an error naming the files and both options.
    """
    root = Path(root)
    categories = dict(categories or {})
    for noise_type, category in categories.items():
        _check_category(category, f"--category {noise_type}")
    if unknown_category is not None:
        _check_category(unknown_category, "--unknown-category")
    files = audio_files(root)
    if not files:
        raise SitoolError(f"{root}: no NOISEX-92 audio files found (expected <root>/<type>.wav, "
                          "e.g. white.wav, babble.wav)")
    found: list[tuple[Path, str, str, str | None]] = []   # file, recording, type, category
    unknown: list[Path] = []
    for f in files:
        stem = f.stem.lower()
        known = noisex_type(stem)
        speech_like = next((t for prefix, t in NOISEX_SPEECH_LIKE if stem.startswith(prefix)),
                           None)
        if known is not None:
            found.append((f, f"noisex-{known}", known,
                          "babble" if known in NOISEX_BABBLE else "non-babble"))
        elif speech_like is not None:
            found.append((f, safe_id(f"noisex-{stem}"), speech_like, "babble"))
        else:
            noise_type = safe_id(stem)
            found.append((f, f"noisex-{noise_type}", noise_type, None))
            if noise_type not in categories:
                unknown.append(f)
    by_type: dict[str, list[Path]] = {}
    for f, _, noise_type, _ in found:
        by_type.setdefault(noise_type, []).append(f)
    for noise_type in NOISEX_TYPES:
        if len(by_type.get(noise_type, ())) > 1:
            names = ", ".join(str(f.relative_to(root)) for f in by_type[noise_type])
            raise SitoolError(f"{root}: {names} are all NOISEX-92 {noise_type} (the same "
                              "recording twice, e.g. at two rates?); keep one of them, or "
                              "give the others to prepare-noise dir")
    stray = sorted(set(categories) - set(by_type))
    if stray:
        raise SitoolError(f"--category {stray[0]}: no file of that type under {root} "
                          f"(types found: {', '.join(sorted(by_type))})")
    if unknown and unknown_category is None:
        names = ", ".join(f.name for f in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise SitoolError(f"{root}: {len(unknown)} file(s) are not NOISEX-92, ISTS or ICRA "
                          f"({names}), so their category is unknown; label them with "
                          "--unknown-category babble|non-babble (all of them) or --category "
                          "TYPE=babble|non-babble (per type; TYPE = file name lower-case)")
    if unknown:
        log.warning("%s: %d file(s) that are not NOISEX-92, ISTS or ICRA labelled %s by "
                    "--unknown-category: %s", root, len(unknown), unknown_category,
                    ", ".join(f.name for f in unknown))
    out = []
    for f, recording, noise_type, category in found:
        category = categories.get(noise_type) or category or unknown_category
        out.append(NoiseFile(recording, str(f.resolve()), noise_type, category))
    return out


_RATE_SUFFIX = re.compile(r"_(16|48)k$", re.IGNORECASE)


def read_demand(root: str | os.PathLike, channel: int = 1,
                babble_types: Sequence[str] = ()) -> list[NoiseFile]:
    """DEMAND: one file (channel ``channel``) per environment folder."""
    root = Path(root)
    if not root.is_dir():
        raise SitoolError(f"{root}: directory not found")
    if not 1 <= channel <= 16:
        raise SitoolError(f"--channel must be 1..16 (DEMAND has 16 microphones), got {channel}")
    wanted = f"ch{channel:02d}.wav"
    out = []
    for f in audio_files(root):
        if f.name.lower() != wanted:
            continue
        env = safe_id(_RATE_SUFFIX.sub("", f.parent.name).lower())
        category = "babble" if env in babble_types else "non-babble"
        out.append(NoiseFile(f"demand-{env}-ch{channel:02d}", str(f.resolve()), env, category))
    if not out:
        raise SitoolError(f"{root}: no DEMAND environment folders with {wanted} found "
                          "(expected <root>/<ENV>/ch01.wav ... ch16.wav, e.g. DKITCHEN/ch01.wav)")
    return out


def _musan_part(root: Path, part: str) -> list[tuple[str, Path]]:
    """(source folder, file) for every audio file under ``root/part``."""
    base = root / part
    if not base.is_dir():
        return []
    return [(f.relative_to(base).parts[0] if len(f.relative_to(base).parts) > 1 else part, f)
            for f in audio_files(base)]


def _load_talker(path: Path) -> np.ndarray:
    audio = load_audio(path, SAMPLE_RATE, downmix=True)
    return audio[:int(MAX_TALKER_SECONDS * SAMPLE_RATE)]


def musan_babble(speech_files: Sequence[Path], audio_dir: Path, seed: int,
                 counts: Sequence[int] = DEFAULT_BABBLE_COUNTS,
                 seconds: Sequence[float] = DEFAULT_BABBLE_SECONDS,
                 fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[NoiseFile]:
    """Babble from MUSAN speech: the files (one talker each) are divided between splits,
    then each split's babble<N> sums N of that split's files. Written to ``audio_dir``."""
    files = sorted(speech_files)
    if len(files) < 6:
        raise SitoolError(f"MUSAN speech: {len(files)} file(s); babble needs at least 2 talkers "
                          "per split (6 files); pass --no-babble to skip babble")
    order = rng_for(seed, "musan-speech").permutation(len(files))
    n_train, n_dev, _ = split_counts(len(files), tuple(fractions))
    pools = {s: [] for s in SPLITS}
    for rank, i in enumerate(order):
        split = "train" if rank < n_train else "dev" if rank < n_train + n_dev else "test"
        pools[split].append(files[i])
    pools = {split: {str(f): [str(f)] for f in sorted(pools[split])} for split in SPLITS}
    out = []
    for split, n, babble, chosen in babble_per_split(
            pools, lambda f: _load_talker(Path(f)), counts, seconds,
            lambda n, split: rng_for(seed, "musan-babble", n, split)):
        path = audio_dir / f"musan_babble{n}_{split}.wav"
        write_audio(path, babble)
        out.append(NoiseFile(f"musan_babble{n}_{split}", str(path.resolve()), f"babble{n}",
                             "babble", split, tuple(sorted({Path(f).stem for f in chosen}))))
    return out


def read_musan(root: str | os.PathLike, audio_dir: str | os.PathLike, seed: int,
               babble_counts: Sequence[int] = DEFAULT_BABBLE_COUNTS, music: bool = False,
               fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[NoiseFile]:
    """MUSAN: noise/ as non-babble types, speech/ as babble (``babble_counts=()`` skips it),
    music/ as non-babble when ``music``."""
    root = Path(root)
    if not root.is_dir():
        raise SitoolError(f"{root}: directory not found")
    out = []
    for source, f in _musan_part(root, "noise"):
        noise_type = safe_id(source.lower().replace("-", ""))
        out.append(NoiseFile(safe_id(f.stem), str(f.resolve()), noise_type, "non-babble"))
    if music:
        for source, f in _musan_part(root, "music"):
            noise_type = safe_id("music_" + source.lower().replace("-", ""))
            out.append(NoiseFile(safe_id(f.stem), str(f.resolve()), noise_type, "non-babble"))
    if babble_counts:
        speech = [f for _, f in _musan_part(root, "speech")]
        if speech:
            log.info("MUSAN: making babble from %d speech files", len(speech))
            out += musan_babble(speech, Path(audio_dir), seed, babble_counts, fractions=fractions)
    if not out:
        raise SitoolError(f"{root}: no MUSAN audio found (expected {root}/noise/<source>/*.wav "
                          "and/or speech/<source>/*.wav)")
    return out


def read_synth(noise_dir: str | os.PathLike) -> list[NoiseFile]:
    """The output of ``sitool synth-noise``."""
    return read_synth_manifest(noise_dir)



def speech_folder_talkers(root: Path, speaker_pattern: str) -> tuple[
        dict[str, list[str]], Callable[[str], np.ndarray]]:
    """``spk2utt`` and an audio loader for a folder of speech files (no data dir): each file is
    an utterance (id: its path under ``root``), its speaker group 1 (or group ``spk``) of
    ``speaker_pattern`` matched on the file name."""
    files = audio_files(root)
    if not files:
        raise SitoolError(f"{root}: no audio files (.wav/.flac/.ogg) and no wav.scp; babble needs "
                          "a folder of speech files or a data dir")
    try:
        pattern = re.compile(speaker_pattern)
    except re.error as e:
        raise SitoolError(f"--speaker-pattern {speaker_pattern!r}: not a regular expression "
                          f"({e})") from None
    spk2utt: dict[str, list[str]] = {}
    paths = {}
    for f in files:
        match = pattern.search(f.stem)
        if match is None or not match.groups():
            raise SitoolError(f"{f}: --speaker-pattern {speaker_pattern!r} finds no speaker in "
                              f"its name; rename the files <speaker>_<n>.wav or give a pattern "
                              f"with a group")
        spk = safe_id(match.group("spk") if "spk" in pattern.groupindex else match.group(1))
        utt = safe_id(str(f.relative_to(root).with_suffix("")))
        spk2utt.setdefault(spk, []).append(utt)
        paths[utt] = f
    return spk2utt, lambda utt: load_audio(paths[utt], SAMPLE_RATE, downmix=True)


def read_speech_babble(speech_dir: str | os.PathLike, audio_dir: str | os.PathLike, seed: int,
                       counts: Sequence[int] = DEFAULT_BABBLE_COUNTS,
                       seconds: Sequence[float] = DEFAULT_BABBLE_SECONDS,
                       fractions: Sequence[float] = DEFAULT_FRACTIONS,
                       speaker_pattern: str = DEFAULT_SPEAKER_PATTERN) -> list[NoiseFile]:
    """Babble from any clean speech: a data dir (``wav.scp``, ``utt2spk``) or a folder of audio
    files (speakers from their names, ``speech_folder_talkers``). Its speakers are
    divided between train/dev/test (whole speakers, at least 2 per split, so test babble has
    voices never heard in train babble), then each split's babble<N> of ``seconds`` (per
    split) sums N of that split's speakers. Written to ``audio_dir`` as
    ``<dir name>-babble<N>_<split>.wav``, pinned to its split, with its talkers."""
    speech_dir = Path(speech_dir)
    if not speech_dir.is_dir():
        raise SitoolError(f"{speech_dir}: not found; babble needs a folder of speech files "
                          "<speaker>_<n>.wav or a data dir with wav.scp and utt2spk")
    if (speech_dir / "mix.tsv").is_file():
        raise SitoolError(f"{speech_dir}: a noisy set (has mix.tsv); make babble from a clean "
                          "speech data dir")
    if not counts:
        raise SitoolError("--babble-counts: give at least one talker count, e.g. 3,8")
    if any(n < 2 for n in counts):
        raise SitoolError(f"--babble-counts: talker counts must be >= 2, got {list(counts)}")
    if len(seconds) != len(SPLITS) or min(seconds) <= 0:
        raise SitoolError(f"--babble-seconds: expected three positive numbers train,dev,test, "
                          f"got {list(seconds)}")
    if (speech_dir / "wav.scp").is_file():
        spk2utt, audio = talker_pool(speech_dir, {})
    else:
        spk2utt, audio = speech_folder_talkers(speech_dir, speaker_pattern)
    pools = split_talkers(spk2utt, seed, fractions, by_speaker=True)
    log.info("%s: babble of %s talkers from %s speakers (train/dev/test)", speech_dir,
             ",".join(str(n) for n in counts), "/".join(str(len(pools[s])) for s in SPLITS))
    prefix = safe_id(speech_dir.name)
    audio_dir = Path(audio_dir)
    out = []
    for split, n, babble, talkers in babble_per_split(
            pools, audio, counts, seconds, lambda n, split: rng_for(seed, "babble", n, split)):
        name = f"{prefix}-babble{n}_{split}"
        path = audio_dir / f"{name}.wav"
        write_audio(path, babble)
        out.append(NoiseFile(name, str(path.resolve()), f"babble{n}", "babble", split, talkers))
    return out
