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

* NOISEX-92::

      <root>/**/<name>.wav    type = file name lower-case (white, pink, babble, f16, factory1,
                              volvo, ...); babble.wav (and --babble-types) is category babble

* any directory: ``<root>/**/*.{wav,flac,ogg}``, all of one ``--type`` and ``--category``.
* synth: the directory ``sitool synth-noise`` wrote (its ``manifest.tsv``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.audio import AUDIO_FORMATS, SAMPLE_RATE, load_audio, write_audio
from sitool.errors import SitoolError
from sitool.noise.babble import assign_talkers, make_babble
from sitool.noise.seeds import rng_for
from sitool.noise.sources import DEFAULT_FRACTIONS, SPLITS, NoiseFile, safe_id, split_counts
from sitool.noise.synth import (DEFAULT_BABBLE_COUNTS, DEFAULT_BABBLE_SECONDS,
                                read_synth_manifest)

log = logging.getLogger(__name__)

# Longest stretch of one talker file used for babble (long audiobook files are cropped).
MAX_TALKER_SECONDS = 120.0


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


def read_noisex(root: str | os.PathLike, babble_types: Sequence[str] = ("babble",)) -> list[NoiseFile]:
    """NOISEX-92: one file per type, named after it."""
    files = audio_files(root)
    if not files:
        raise SitoolError(f"{root}: no NOISEX-92 audio files found (expected <root>/<type>.wav, "
                          "e.g. white.wav, babble.wav)")
    out = []
    for f in files:
        noise_type = safe_id(f.stem.lower())
        category = "babble" if noise_type in babble_types else "non-babble"
        out.append(NoiseFile(f"noisex-{noise_type}", str(f.resolve()), noise_type, category))
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
    out = []
    for split in SPLITS:
        for n in counts:
            rng = rng_for(seed, "musan-babble", n, split)
            chosen = assign_talkers([str(f) for f in sorted(pools[split])], n, rng)
            talkers = [[_load_talker(Path(f))] for f in chosen]
            babble = make_babble(talkers, seconds[SPLITS.index(split)], rng)
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

