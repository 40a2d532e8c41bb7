"""Kaldi ``utils/``-style tools over directories of tables: combine, subset and fix.

They work on both kinds of directory the stages write, and tell them apart by their files:

* a **data dir** (``utt2spk``; ``sitool.datadir``): keyed by utterance: ``utt2spk``,
  ``utt2dur``, ``wav.scp``, ``tv.scp``, ``text``, ``mix.tsv`` (noisy sets), ``phones.ctm``
  (may cover only some utterances), plus ``targets`` (one per dir) and the derived
  ``spk2utt``; written by ``sitool.datadir.write_data_dir``;
* a **noise dir** (``noise2type``; ``sitool.noise.sources``): keyed by noise id:
  ``segments``, ``noise2type``, ``noise2category``, ``noise2dur``, ``noise2talkers``, and
  ``wav.scp`` keyed by recording; written by ``sitool.noise.sources.write_noise_dir``.

``combine_dirs`` joins dirs of one kind (an id in two inputs must be the same entry in both:
a noise recording with two paths, or an utterance with two different lines, is an error
naming both inputs; data dirs must have the same targets, and be all clean or all noisy);
``subset_dir`` keeps listed ids or speakers, the first N or N random ones; ``fix_dir``
sorts every table and drops the entries some required table lacks (logged with counts),
rewriting the dir in one atomic step. Outputs pass ``sitool validate-data`` (data dirs) and
``read_noise_dir`` (noise dirs) whenever the inputs' entries do.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from sitool.audio import audio_duration
from sitool.datadir import PhoneSegment, TargetInfo, read_ctm, write_data_dir
from sitool.errors import SitoolError
from sitool.io import atomic_path, read_table
from sitool.mixture import CATEGORIES, MixRow, format_mix_tsv, read_mix_tsv
from sitool.noise.sources import NoiseSegment, read_noise_dir, write_noise_dir

log = logging.getLogger(__name__)

DATA = "data"
NOISE = "noise"

# Files of each kind that these tools read and write; anything else in a dir is "other".
DATA_TABLES = ("wav.scp", "utt2dur", "tv.scp", "text")      # keyed by utterance, besides utt2spk
DATA_FILES = ("utt2spk", "spk2utt", *DATA_TABLES, "targets", "phones.ctm", "mix.tsv")
NOISE_TABLES = ("segments", "noise2type", "noise2category", "noise2dur", "noise2talkers")
NOISE_FILES = ("wav.scp", *NOISE_TABLES)


def dir_kind(path: str | os.PathLike) -> str:
    """``"data"`` (has ``utt2spk``) or ``"noise"`` (has ``noise2type`` or ``noise2category``)."""
    path = Path(path)
    if not path.is_dir():
        raise SitoolError(f"{path}: directory not found")
    data = (path / "utt2spk").is_file()
    noise = (path / "noise2type").is_file() or (path / "noise2category").is_file()
    if data and noise:
        raise SitoolError(f"{path}: has both utt2spk (data dir) and noise2type/noise2category "
                          "(noise dir); keep the files of one kind")
    if not data and not noise:
        raise SitoolError(f"{path}: neither a data dir (no utt2spk) nor a noise dir (no "
                          "noise2type); it is written by sitool prepare or sitool prepare-noise")
    return DATA if data else NOISE


def _others(path: Path, known: Sequence[str]) -> list[Path]:
    """The entries of ``path`` these tools do not handle (kept by fix, left out otherwise)."""
    return sorted(p for p in path.iterdir() if p.name not in known)


# ---------------------------------------------------------------------------------------
# Data dirs
# ---------------------------------------------------------------------------------------

@dataclass
class _Data:
    """The tables of one data dir, values as in the files (utt2dur parsed)."""

    path: Path
    utt2spk: dict[str, str]
    tables: dict[str, dict[str, str]]             # DATA_TABLES present, utt2dur as text
    mix: dict[str, MixRow] | None = None
    phones: dict[str, list[PhoneSegment]] | None = None
    targets: TargetInfo | None = None
    others: list[Path] = field(default_factory=list)

    def entry(self, utt: str) -> tuple:
        """Everything this dir says about ``utt`` (to compare an utterance of two dirs)."""
        return (self.utt2spk.get(utt),
                tuple((n, t.get(utt)) for n, t in sorted(self.tables.items())),
                None if self.mix is None else self.mix.get(utt),
                None if self.phones is None else tuple(self.phones.get(utt, ())))

    def keep(self, utts: Iterable[str]) -> "_Data":
        utts = set(utts)
        return replace(
            self, utt2spk={u: s for u, s in self.utt2spk.items() if u in utts},
            tables={n: {u: v for u, v in t.items() if u in utts} for n, t in self.tables.items()},
            mix=None if self.mix is None else {u: r for u, r in self.mix.items() if u in utts},
            phones=None if self.phones is None else
            {u: p for u, p in self.phones.items() if u in utts})


def _read_data(path: Path, strict: bool = True) -> _Data:
    """The tables of the data dir ``path``; ``strict``: a bad utt2dur value, or a table whose
    utterances are not utt2spk's, is an error (fix-data drops such utterances instead)."""
    for name in ("utt2spk", "utt2dur"):
        if not (path / name).is_file():
            raise SitoolError(f"{path / name}: missing; it is written by sitool prepare")
    tables = {name: read_table(path / name) for name in DATA_TABLES if (path / name).is_file()}
    data = _Data(
        path=path, utt2spk=read_table(path / "utt2spk"), tables=tables,
        mix=read_mix_tsv(path / "mix.tsv") if (path / "mix.tsv").is_file() else None,
        phones=read_ctm(path / "phones.ctm") if (path / "phones.ctm").is_file() else None,
        targets=TargetInfo.read(path / "targets") if (path / "targets").is_file() else None,
        others=_others(path, DATA_FILES))
    if strict:
        _durations(data)
        keyed = {**data.tables, **({"mix.tsv": data.mix} if data.mix is not None else {})}
        for name, table in keyed.items():
            if set(table) != set(data.utt2spk):
                raise SitoolError(f"{path / name}: its utterances differ from utt2spk's; run "
                                  f"sitool fix-data {path} first")
    return data


def _durations(data: _Data) -> dict[str, float]:
    out = {}
    for utt, value in data.tables["utt2dur"].items():
        try:
            out[utt] = float(value)
        except ValueError:
            raise SitoolError(f"{data.path / 'utt2dur'}: {utt}: duration {value!r} is not a "
                              "number; correct or delete that line") from None
        if not math.isfinite(out[utt]):
            raise SitoolError(f"{data.path / 'utt2dur'}: {utt}: duration {value!r} is not "
                              "finite; correct or delete that line")
    return out


def _write_data(out: Path, data: _Data, others: Sequence[Path] = ()) -> Path:
    """``data`` written as a complete data dir ``out`` in one atomic step (``others``: files
    or folders copied in as they are)."""
    if not data.utt2spk:
        raise SitoolError(f"{out}: no utterances left to write")
    extra = {"mix.tsv": format_mix_tsv(data.mix.values())} if data.mix is not None else {}
    with atomic_path(out) as tmp:
        write_data_dir(tmp, utt2spk=data.utt2spk, utt2dur=_durations(data),
                       wav_scp=data.tables.get("wav.scp"), tv_scp=data.tables.get("tv.scp"),
                       targets=data.targets, text=data.tables.get("text"),
                       phones=data.phones, extra_files=extra)
        _copy_into(tmp, others)
    return out


def _copy_into(folder: Path, entries: Iterable[Path]) -> None:
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, folder / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, folder / entry.name, follow_symlinks=False)


def _same_targets(a: _Data, b: _Data) -> None:
    ta, tb = a.targets, b.targets
    for what in ("names", "units", "frame_rate"):
        if getattr(ta, what) != getattr(tb, what):
            raise SitoolError(f"{b.path / 'targets'}: {what} {getattr(tb, what)} differ from "
                              f"{a.path / 'targets'} ({getattr(ta, what)}); combine only data "
                              "dirs with the same targets")


def _combine_data(inputs: list[_Data]) -> _Data:
    first = inputs[0]
    noisy = [d for d in inputs if d.mix is not None]
    if noisy and len(noisy) != len(inputs):
        clean = next(d for d in inputs if d.mix is None)
        raise SitoolError(f"{noisy[0].path} is a noisy set (mix.tsv) but {clean.path} is clean; "
                          "combine clean sets with clean sets and noisy with noisy (training "
                          "takes several sets: train_sets)")
    names = [n for n in DATA_TABLES if all(n in d.tables for d in inputs)]
    for name in DATA_TABLES:
        lacking = [str(d.path) for d in inputs if name not in d.tables]
        if name not in names and len(lacking) < len(inputs):
            log.warning("combine: %s is left out: %s ha%s none", name, ", ".join(lacking),
                        "s" if len(lacking) == 1 else "ve")
    with_targets = "tv.scp" in names
    if with_targets:
        for d in inputs:
            if d.targets is None:
                raise SitoolError(f"{d.path / 'targets'}: missing (tv.scp needs the targets "
                                  "file); it is written by sitool prepare")
        for d in inputs[1:]:
            _same_targets(first, d)
    inputs = [replace(d, tables={n: d.tables[n] for n in names}) for d in inputs]
    has_phones = any(d.phones is not None for d in inputs)
    combined = _Data(path=first.path, utt2spk={}, tables={n: {} for n in names},
                     mix={} if noisy else None, phones={} if has_phones else None,
                     targets=first.targets if with_targets else None)
    owner: dict[str, _Data] = {}
    duplicates = 0
    for d in inputs:
        for utt in d.utt2spk:
            if utt in owner:
                if owner[utt].entry(utt) != d.entry(utt):
                    raise SitoolError(f"combine: utterance {utt!r} is in both {owner[utt].path} "
                                      f"and {d.path} with different entries; rename one "
                                      "set's utterances or leave it out (sitool subset-data)")
                duplicates += 1
                continue
            owner[utt] = d
            combined.utt2spk[utt] = d.utt2spk[utt]
            for n in names:
                if utt in d.tables[n]:
                    combined.tables[n][utt] = d.tables[n][utt]
            if noisy and utt in d.mix:
                combined.mix[utt] = d.mix[utt]
            if has_phones and d.phones and utt in d.phones:
                combined.phones[utt] = d.phones[utt]
    if duplicates:
        log.info("combine: %d utterance(s) are the same in several inputs, kept once",
                 duplicates)
    return combined


def _fix_data(data: _Data) -> tuple[_Data, Counter]:
    """The utterances every table lists (utt2spk, and wav.scp/utt2dur/tv.scp/text/mix.tsv
    where present); ``Counter`` of why the others were dropped."""
    keyed = {"utt2spk": data.utt2spk, **data.tables}
    if data.mix is not None:
        keyed["mix.tsv"] = data.mix
    everything = set().union(*keyed.values())
    keep = set.intersection(*(set(t) for t in keyed.values()))
    why: Counter = Counter()
    for utt in everything - keep:
        missing = [n for n, t in keyed.items() if utt not in t]
        why[f"not in {missing[0]}"] += 1
    bad_dur = sorted(u for u in keep if not _finite(data.tables["utt2dur"][u]))
    if bad_dur:
        why["utt2dur not a number"] += len(bad_dur)
        keep -= set(bad_dur)
    if data.phones is not None:
        stray = set(data.phones) - keep - everything
        if stray:
            why["only in phones.ctm"] += len(stray)
    return data.keep(keep), why


def _finite(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------
# Noise dirs
# ---------------------------------------------------------------------------------------

def _read_noise(path: Path) -> list[NoiseSegment]:
    """The entries of a noise dir; whole-file entries (no ``segments``) end on a whole
    millisecond, as the splitter writes them."""
    segments = read_noise_dir(path)
    if not (path / "segments").is_file():
        segments = [replace(s, end=math.floor(s.end * 1000) / 1000) for s in segments]
    return segments


def _combine_noise(inputs: list[tuple[Path, list[NoiseSegment]]]) -> list[NoiseSegment]:
    recordings: dict[str, tuple[str, Path]] = {}
    entries: dict[str, tuple[NoiseSegment, Path]] = {}
    duplicates = 0
    for path, segments in inputs:
        for s in segments:
            rec_path, rec_owner = recordings.setdefault(s.recording, (s.path, path))
            if rec_path != s.path:
                raise SitoolError(f"combine: noise recording {s.recording!r} is {rec_path} in "
                                  f"{rec_owner} but {s.path} in {path}; two recordings with one "
                                  "id: give the sources distinct --name (prepare-noise) or "
                                  "rename one")
            if s.noise_id in entries:
                other, owner = entries[s.noise_id]
                if other != s:
                    raise SitoolError(f"combine: noise id {s.noise_id!r} is in both {owner} and "
                                      f"{path} with different entries; rename one source's "
                                      "noises (prepare-noise --name) or leave one out")
                duplicates += 1
                continue
            entries[s.noise_id] = (s, path)
    if duplicates:
        log.info("combine: %d noise entr%s the same in several inputs, kept once", duplicates,
                 "y is" if duplicates == 1 else "ies are")
    return [entries[i][0] for i in sorted(entries)]


def _fix_noise(path: Path) -> tuple[list[NoiseSegment], Counter]:
    """The entries of a noise dir that every table lists and whose audio exists, and why the
    others were dropped (the tables as they are, not as ``read_noise_dir`` insists)."""
    for name in ("wav.scp", "noise2type", "noise2category"):
        if not (path / name).is_file():
            raise SitoolError(f"{path / name}: missing; it is written by sitool prepare-noise "
                              "(fix-data cannot make it)")
    wav_scp = read_table(path / "wav.scp")
    tables = {n: read_table(path / n) for n in NOISE_TABLES if (path / n).is_file()}
    has_segments = "segments" in tables
    keys = tables["segments"] if has_segments else wav_scp
    required = [n for n in ("noise2type", "noise2category", "noise2dur") if n in tables]
    why: Counter = Counter()
    segments = []
    for noise_id in sorted(keys):
        missing = [n for n in required if noise_id not in tables[n]]
        if missing:
            why[f"not in {missing[0]}"] += 1
            continue
        if has_segments:
            parts = tables["segments"][noise_id].split()
            try:
                recording, start, end = parts[0], float(parts[1]), float(parts[2])
            except (IndexError, ValueError):
                why["bad segments line"] += 1
                continue
            if recording not in wav_scp:
                why["recording not in wav.scp"] += 1
                continue
        else:
            recording, start, end = noise_id, 0.0, None
        audio = wav_scp[recording]
        if not Path(audio).is_file():
            why["audio file missing"] += 1
            continue
        if end is None:
            end = math.floor(audio_duration(audio) * 1000) / 1000
        category = tables["noise2category"][noise_id]
        if category not in CATEGORIES:
            why["category not babble/non-babble"] += 1
            continue
        if not end > start:
            why["empty time range"] += 1
            continue
        talkers = tuple(t for t in tables.get("noise2talkers", {}).get(noise_id, "").split(",")
                        if t)
        segments.append(NoiseSegment(noise_id, recording, audio, start, end,
                                     tables["noise2type"][noise_id], category, talkers))
    for name, table in tables.items():
        stray = set(table) - set(keys)
        if stray:
            why[f"only in {name}"] += len(stray)
    return segments, why


# ---------------------------------------------------------------------------------------
# The three tools
# ---------------------------------------------------------------------------------------

def _one_kind(paths: Sequence[Path]) -> str:
    kinds = {p: dir_kind(p) for p in paths}
    first = paths[0]
    for p in paths[1:]:
        if kinds[p] != kinds[first]:
            raise SitoolError(f"{p} is a {kinds[p]} dir but {first} is a {kinds[first]} dir; "
                              "combine dirs of one kind")
    return kinds[first]


def _left_out(others: Iterable[Path], what: str) -> None:
    others = sorted({p.name for p in others})
    if others:
        log.warning("%s: left out file(s) it does not know: %s", what, ", ".join(others))


def check_out_free(out: Path, inputs: Sequence[Path], command: str, overwrite: bool) -> None:
    """OUT of combine-data/subset-data: never one of the inputs; an existing dir is replaced
    only with ``overwrite`` (its files are lost: it may not be a copy of anything)."""
    if any(out.resolve() == p.resolve() for p in inputs):
        raise SitoolError(f"{command}: OUT {out} is one of the inputs; write the result elsewhere")
    if out.exists() and not overwrite:
        raise SitoolError(f"{command}: {out} exists; pass --overwrite to replace it (everything "
                          f"in it is removed) or choose another OUT")
    if out.exists():
        log.info("%s: replacing %s (--overwrite)", command, out)


def combine_dirs(out: str | os.PathLike, inputs: Sequence[str | os.PathLike],
                 overwrite: bool = False) -> Path:
    """``sitool combine-data OUT IN...``: the union of data dirs or of noise dirs (see the
    module docstring); an existing ``out`` is replaced only with ``overwrite``."""
    out = Path(out)
    paths = [Path(p) for p in inputs]
    if not paths:
        raise SitoolError("combine-data: give at least one input dir")
    check_out_free(out, paths, "combine-data", overwrite)
    kind = _one_kind(paths)
    if kind == NOISE:
        segments = _combine_noise([(p, _read_noise(p)) for p in paths])
        _left_out((o for p in paths for o in _others(p, NOISE_FILES)), "combine-data")
        write_noise_dir(out, segments)
        count = len(segments)
    else:
        inputs_data = [_read_data(p) for p in paths]
        combined = _combine_data(inputs_data)
        _left_out((o for d in inputs_data for o in d.others), "combine-data")
        _write_data(out, combined)
        count = len(combined.utt2spk)
    log.info("combine-data: wrote %s (%s dir, %d entries from %d inputs)", out, kind, count,
             len(paths))
    return out


def read_id_list(path: str | os.PathLike) -> list[str]:
    """The first word of every non-empty line of ``path`` (a Kaldi list or any table)."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: list file not found")
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@dataclass(frozen=True)
class Selection:
    """What ``subset_dir`` keeps: exactly one of the four fields is set."""

    utt_list: str | None = None       # file of ids (utterances or noise ids)
    spk_list: str | None = None       # file of speakers (data dirs)
    first: int | None = None          # the first N ids in sorted order
    random: int | None = None         # N ids drawn at random with ``seed``
    seed: int = 0

    def __post_init__(self) -> None:
        given = [n for n in ("utt_list", "spk_list", "first", "random")
                 if getattr(self, n) is not None]
        if len(given) != 1:
            raise SitoolError("subset-data: give exactly one of --utt-list, --spk-list, "
                              f"--first, --random (got {len(given)})")
        for n in ("first", "random"):
            value = getattr(self, n)
            if value is not None and value < 1:
                raise SitoolError(f"subset-data: --{n} must be >= 1, got {value}")

    def choose(self, ids: Sequence[str], speakers: dict[str, str] | None, where: Path) -> list[str]:
        """The chosen ones of ``ids`` (sorted); ``speakers``: id -> speaker (data dirs)."""
        ids = sorted(ids)
        if self.first is not None or self.random is not None:
            n = self.first if self.first is not None else self.random
            if n > len(ids):
                log.warning("subset-data: %s has %d entries, fewer than %d: keeping all", where,
                            len(ids), n)
                return ids
            if self.first is not None:
                return ids[:n]
            picked = np.random.default_rng(self.seed).choice(len(ids), size=n, replace=False)
            return sorted(ids[i] for i in picked)
        if self.spk_list is not None:
            if speakers is None:
                raise SitoolError(f"subset-data: {where} is a noise dir (no speakers); use "
                                  "--utt-list with noise ids, --first or --random")
            wanted = set(read_id_list(self.spk_list))
            known = set(speakers.values())
            listed, what = wanted, "speaker"
            chosen = [i for i in ids if speakers[i] in wanted]
        else:
            wanted = set(read_id_list(self.utt_list))
            known = set(ids)
            listed, what = wanted, "id"
            chosen = [i for i in ids if i in wanted]
        absent = sorted(listed - known)
        if absent:
            log.warning("subset-data: %d listed %s(s) not in %s, e.g. %r (ignored)", len(absent),
                        what, where, absent[0])
        if not chosen:
            source = self.spk_list if self.spk_list is not None else self.utt_list
            raise SitoolError(f"{source}: none of its {len(listed)} {what}(s) is in {where}; "
                              "check the list against the dir")
        return chosen


def subset_dir(src: str | os.PathLike, out: str | os.PathLike, selection: Selection,
               overwrite: bool = False) -> Path:
    """``sitool subset-data IN OUT``: the entries of ``src`` that ``selection`` keeps; an
    existing ``out`` is replaced only with ``overwrite``."""
    src, out = Path(src), Path(out)
    check_out_free(out, [src], "subset-data", overwrite)
    kind = dir_kind(src)
    if kind == NOISE:
        segments = _read_noise(src)
        chosen = set(selection.choose([s.noise_id for s in segments], None, src))
        kept = [s for s in segments if s.noise_id in chosen]
        _left_out(_others(src, NOISE_FILES), "subset-data")
        write_noise_dir(out, kept)
        count, total = len(kept), len(segments)
    else:
        data = _read_data(src)
        chosen = selection.choose(list(data.utt2spk), data.utt2spk, src)
        _left_out(data.others, "subset-data")
        _write_data(out, data.keep(chosen))
        count, total = len(chosen), len(data.utt2spk)
    log.info("subset-data: wrote %s (%d of %d entries of %s)", out, count, total, src)
    return out


@dataclass(frozen=True)
class FixReport:
    kind: str
    kept: int
    dropped: Counter

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items()))
        dropped = sum(self.dropped.values())
        return (f"{self.kind} dir: kept {self.kept}, dropped {dropped}"
                + (f" ({reasons})" if reasons else ""))


def fix_dir(path: str | os.PathLike) -> FixReport:
    """``sitool fix-data DIR``: sort every table, drop the entries that some required table
    lacks (see the module docstring), and rewrite ``path`` in one atomic step; other files in
    it are kept as they are."""
    path = Path(path)
    kind = dir_kind(path)
    if kind == NOISE:
        segments, why = _fix_noise(path)
        if not segments:
            raise SitoolError(f"{path}: no noise entry is complete ({sum(why.values())} "
                              "dropped); prepare it again with sitool prepare-noise")
        others = _others(path, NOISE_FILES)
        with atomic_path(path) as tmp:
            write_noise_dir(tmp, segments)
            _copy_into(tmp, others)
        report = FixReport(kind, len(segments), why)
    else:
        data = _read_data(path, strict=False)
        fixed, why = _fix_data(data)
        if not fixed.utt2spk:
            raise SitoolError(f"{path}: no utterance is in every table ({sum(why.values())} "
                              "dropped); prepare the data dir again")
        _write_data(path, fixed, data.others)
        report = FixReport(kind, len(fixed.utt2spk), why)
    if report.dropped:
        log.warning("fix-data %s: %s", path, report.summary())
    else:
        log.info("fix-data %s: %s", path, report.summary())
    return report
