"""Real articulatory corpus -> ``data/{train,dev,test[,babble_talkers]}`` (stage 1 for every
real corpus: ``sitool prepare <corpus>``).

``prepare_corpus(reader, root, out, split, options)`` runs two passes over the corpus:

1. Each utterance is loaded by the corpus reader. Its audio is checked (an empty or
   multichannel file is a "bad audio" skip; audio a reader holds in memory is resampled to
   16 kHz, scaled below full scale when it clips, and written to ``wav/<utt>.wav``; a file at
   another rate than 16 kHz gets a 16 kHz copy ``wav/<utt>.wav``, float WAV holding the samples
   loading it would give, so training never resamples it). The
   target frames (to the last sensor sample at ``options.frame_rate``) are matched against
   the audio's duration: a mismatch up to ``FRAME_TOLERANCE_S`` is kept; up to
   ``options.max_length_mismatch_s`` the longer side is trimmed - the targets directly, the
   audio by writing a trimmed copy; more drops the utterance. Then the sensors the targets
   need are checked for gaps (``options.max_gap_s``: shorter gaps are interpolated; a longer
   one, or a track starting later than that into the audio, drops the utterance; a tongue
   sensor only the palate estimate uses is left out instead) and resampled to those frames
   (anti-aliased, see ``sitool.articulation.resample``). Every skip is counted by reason
   and logged; an unreadable file is an "unreadable" skip (``options.strict``: an error).
2. Per speaker (not for a generic corpus' own columns): the axes are oriented (x forwards,
   y up); for tract variables the palate is the corpus' trace or estimated from the tongue
   sensors' upper envelope; the LP origin is the median x of the reader's ``lp_reference``
   track (the upper incisors where the corpus has them) or 0. Utterances are assigned to sets
   by ``splits.assign_sets`` (those no rule assigns are left out). Then each utterance's
   targets are computed - tract variables (``--targets tv``), oriented sensor coordinates
   (``ema``), or a generic corpus' own columns (``columns``) - plus source features from the
   audio (F0, periodicity, aperiodicity; ``options.source_features``), and written as float32
   ``.npy`` (non-finite targets are a skip). Phone labels are cut to the audio that is kept
   (``within_audio``).

Outputs: ``<out>/{train,dev,test[,babble_talkers]}/`` data dirs (each written atomically; an
empty set is not written, with a warning), and ``<media>/`` (default
``<out>/<corpus>_media/``) holding ``tv/<utt>.npy``, audio the data dirs point at when the
corpus' own file is not used as it is (``wav/<utt>.wav``), the palate used per speaker
(``palate_<speaker>.csv``, oriented frame, mm) and ``prepare_report.yaml`` (counts, skips and
their reasons, palate sources). A finished run (train, dev and test written) is reused unless
``options.overwrite``.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sitool.articulation.geometry import (TONGUE_SENSORS, TV_DESCRIPTIONS, TV_NAMES,
                                          TV_SENSORS, TV_UNITS, Orientation, find_orientation,
                                          tract_variables)
from sitool.articulation.palate import Palate, estimate_palate
from sitool.articulation.resample import frame_count, interpolate_gaps, resample_track
from sitool.articulation.source import (SOURCE_DESCRIPTIONS, SOURCE_NAMES, SOURCE_UNITS,
                                        source_features)
from sitool.audio import SAMPLE_RATE, audio_info, load_audio, resample, write_audio
from sitool.corpora.recording import EMA_SENSORS, CorpusReader, Recording, RecordingRef
from sitool.corpora.splits import SETS, SplitRule, assign_sets
from sitool.datadir import FRAME_TOLERANCE_S, PhoneSegment, TargetInfo, write_data_dir
from sitool.errors import SitoolError
from sitool.io import atomic_save_npy, atomic_write_text, write_yaml
from sitool.locking import locks_output

log = logging.getLogger(__name__)

TARGET_KINDS = ("tv", "ema", "columns")
SENSOR_DESCRIPTIONS = {"UL": "upper lip", "LL": "lower lip", "JAW": "lower incisors (jaw)",
                       "TT": "tongue tip", "TM": "tongue blade/mid", "TD": "tongue dorsum"}


@dataclass
class PrepareOptions:
    """Settings of ``prepare_corpus`` (the CLI options of ``sitool prepare <corpus>``)."""

    targets: str = "tv"                   # tv | ema | columns (generic corpora's own columns)
    source_features: bool = True          # append F0, periodicity, aperiodicity
    frame_rate: float = 100.0             # Hz of the written targets
    max_gap_s: float = 0.1                # longer sensor gaps drop the utterance
    max_length_mismatch_s: float = 0.5    # longer audio/target mismatches drop the utterance
    f0_min: float = 60.0
    f0_max: float = 400.0
    strict: bool = False                  # unreadable utterance files are errors, not skips
    overwrite: bool = False
    media_dir: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        if self.targets not in TARGET_KINDS:
            raise SitoolError(f"--targets {self.targets!r}: use one of {', '.join(TARGET_KINDS)}")
        if not self.frame_rate > 0:
            raise SitoolError(f"--frame-rate must be > 0, got {self.frame_rate}")
        if not (self.max_gap_s >= 0 and self.max_length_mismatch_s >= 0):
            raise SitoolError("--max-gap-ms and --max-length-mismatch must be >= 0")


@dataclass
class PrepareReport:
    """What a run produced: utterances per set, skips by reason, palate source per speaker."""

    sets: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    palates: dict[str, str] = field(default_factory=dict)
    reused: bool = False

    @property
    def num_skipped(self) -> int:
        return sum(len(utts) for utts in self.skipped.values())


@dataclass
class _Prepared:
    """Pass-1 result for one utterance: tracks at the target rate, audio, labels."""

    utt: str
    speaker: str
    n_frames: int
    sensors: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    columns: np.ndarray | None
    audio_path: Path
    duration: float
    text: str | None
    phones: list[PhoneSegment] | None


class _Skip(Exception):
    """An utterance that is left out, with the reason (a counted, logged skip)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def set_dirs_done(out: Path) -> bool:
    return all((out / name / "utt2spk").is_file() for name in ("train", "dev", "test"))


def required_sensors(kind: str) -> tuple[str, ...]:
    return {"tv": TV_SENSORS, "ema": EMA_SENSORS, "columns": ()}[kind]


def target_info(kind: str, options: PrepareOptions, column_names: list[str],
                column_units: list[str], corpus: str) -> TargetInfo:
    """The ``targets`` file for a target kind (+ source features when enabled)."""
    if kind == "tv":
        names, units, desc = list(TV_NAMES), list(TV_UNITS), dict(TV_DESCRIPTIONS)
    elif kind == "ema":
        names, units, desc = [], [], {}
        for sensor in EMA_SENSORS:
            for axis, meaning in (("x", "front-back position, forwards positive"),
                                  ("y", "vertical position, up positive")):
                names.append(f"{sensor}_{axis}")
                units.append("mm")
                desc[f"{sensor}_{axis}"] = f"{SENSOR_DESCRIPTIONS[sensor]}: {meaning} (mm)"
    else:
        names, units = list(column_names), list(column_units)
        desc = {name: f"{corpus} target column {name}" for name in names}
    if options.source_features:
        names += list(SOURCE_NAMES)
        units += list(SOURCE_UNITS)
        desc.update(SOURCE_DESCRIPTIONS)
    return TargetInfo(names=names, units=units, frame_rate=options.frame_rate,
                      descriptions=desc,
                      normalisation="none (stored in units; training computes statistics on "
                                    "its train set)")


def _fill_and_resample(rec: Recording, kind: str, options: PrepareOptions,
                       n_frames: int) -> tuple[dict, dict, np.ndarray | None]:
    """Gap-check, fill and resample the tracks the targets need (raises _Skip)."""
    max_gap = options.max_gap_s
    if rec.times[0] > max_gap:
        raise _Skip("long gap", f"the articulatory track starts {rec.times[0]:.3f} s into the "
                                f"audio (> {max_gap} s)")
    wanted = list(required_sensors(kind))
    if kind == "tv":
        wanted += [s for s in TONGUE_SENSORS if s in rec.sensors and s not in wanted]
    missing = [s for s in required_sensors(kind) if s not in rec.sensors]
    if missing:
        raise SitoolError(f"{rec.utt}: reader gave no sensor(s) {', '.join(missing)} (a generic "
                          "corpus names them under 'sensors:' in generic.yaml)")
    sensors = {}
    for name in wanted:
        filled, longest = interpolate_gaps(rec.sensors[name], rec.times)
        gap_s = int(longest.max()) / rec.rate
        if gap_s > max_gap:
            if name in required_sensors(kind):
                whole = int(longest.max()) == len(rec.times)
                detail = "missing throughout" if whole else f"a {gap_s:.3f} s gap"
                raise _Skip("long gap", f"sensor {name}: {detail} (> {max_gap} s)")
            continue                          # optional sensor (palate estimate only)
        sensors[name] = resample_track(filled, rec.times, options.frame_rate, n_frames)
    reference = {}
    for name, track in rec.reference.items():
        filled, longest = interpolate_gaps(track, rec.times)
        if int(longest.max()) / rec.rate <= max_gap:
            reference[name] = resample_track(filled, rec.times, options.frame_rate, n_frames)
    columns = None
    if kind == "columns":
        if rec.columns is None:
            raise SitoolError(f"{rec.utt}: reader gave no target columns")
        filled, longest = interpolate_gaps(rec.columns, rec.times)
        worst = int(np.argmax(longest))
        if longest[worst] / rec.rate > max_gap:
            raise _Skip("long gap", f"column {rec.column_names[worst]}: a "
                                    f"{longest[worst] / rec.rate:.3f} s gap (> {max_gap} s)")
        columns = resample_track(filled, rec.times, options.frame_rate, n_frames)
    return sensors, reference, columns


def _audio(rec: Recording, media: Path) -> tuple[Path, float]:
    """The utterance's audio file and duration; in-memory audio is written to the media dir."""
    if rec.audio is not None:
        signal, rate = rec.audio
        signal = np.asarray(signal, dtype=np.float32)
        if signal.size == 0 or not np.all(np.isfinite(signal)):
            raise _Skip("bad audio", "empty or non-finite audio samples")
        peak = float(np.max(np.abs(signal)))
        if peak > 1.0:
            signal = signal * (0.99 / peak)
        signal = resample(signal, rate, SAMPLE_RATE)
        path = media / "wav" / f"{rec.utt}.wav"
        write_audio(path, signal, SAMPLE_RATE)
        return path.resolve(), len(signal) / SAMPLE_RATE
    if rec.audio_path is None:
        raise SitoolError(f"{rec.utt}: reader gave no audio")
    try:
        info = audio_info(rec.audio_path)
    except SitoolError as e:
        raise _Skip("bad audio", str(e)) from None
    if info.channels != 1:
        raise _Skip("bad audio", f"{rec.audio_path}: {info.channels} channels, expected mono")
    if info.frames == 0:
        raise _Skip("bad audio", f"{rec.audio_path}: audio file is empty")
    if info.samplerate != SAMPLE_RATE:
        try:
            signal = load_audio(rec.audio_path, SAMPLE_RATE)
        except SitoolError as e:
            raise _Skip("bad audio", str(e)) from None
        path = media / "wav" / f"{rec.utt}.wav"
        write_audio(path, signal, SAMPLE_RATE, subtype="FLOAT")
        return path.resolve(), len(signal) / SAMPLE_RATE
    return Path(rec.audio_path).resolve(), info.frames / info.samplerate


def _match_lengths(rec: Recording, n_frames: int, audio_path: Path, duration: float,
                   options: PrepareOptions, media: Path) -> tuple[int, Path, float]:
    """Reconcile target frames and audio duration (module docstring); raises _Skip."""
    rate = options.frame_rate
    excess = n_frames / rate - duration
    if abs(excess) <= FRAME_TOLERANCE_S:
        return n_frames, audio_path, duration
    if abs(excess) > options.max_length_mismatch_s:
        raise _Skip("length mismatch", f"targets last {n_frames / rate:.3f} s, audio "
                                       f"{duration:.3f} s (> {options.max_length_mismatch_s} s)")
    if excess > 0:
        return max(1, int(round(duration * rate))), audio_path, duration
    signal = load_audio(audio_path, SAMPLE_RATE)
    keep = int(round(n_frames / rate * SAMPLE_RATE))
    trimmed = media / "wav" / f"{rec.utt}.wav"
    write_audio(trimmed, signal[:keep], SAMPLE_RATE,
                subtype="FLOAT" if audio_info(audio_path).subtype == "FLOAT" else "PCM_16")
    log.debug("%s: audio trimmed to the targets' %.3f s", rec.utt, keep / SAMPLE_RATE)
    return n_frames, trimmed.resolve(), keep / SAMPLE_RATE


def _pass_one(rec: Recording, options: PrepareOptions, media: Path) -> _Prepared:
    n_frames = frame_count(float(rec.times[-1]), options.frame_rate)
    audio_path, duration = _audio(rec, media)
    n_frames, audio_path, duration = _match_lengths(rec, n_frames, audio_path, duration,
                                                    options, media)
    sensors, reference, columns = _fill_and_resample(rec, options.targets, options, n_frames)
    return _Prepared(utt=rec.utt, speaker=rec.speaker, n_frames=n_frames, sensors=sensors,
                     reference=reference, columns=columns, audio_path=audio_path,
                     duration=duration, text=rec.text, phones=rec.phones)


def _speaker_geometry(prepared: list[_Prepared], reader: CorpusReader, root: Path,
                      media: Path, report: PrepareReport, need_palate: bool
                      ) -> tuple[dict[str, Orientation], dict[str, Palate], dict[str, float]]:
    by_speaker: dict[str, list[_Prepared]] = defaultdict(list)
    for item in prepared:
        by_speaker[item.speaker].append(item)
    corpus_palates = reader.palates(root, sorted(by_speaker)) if need_palate else {}
    orientations, palates, lp_reference = {}, {}, {}
    for spk, items in sorted(by_speaker.items()):
        pooled = {name: np.concatenate([it.sensors[name] for it in items if name in it.sensors])
                  for name in {n for it in items for n in it.sensors}}
        orientation = find_orientation(pooled, what=f"speaker {spk}")
        orientations[spk] = orientation
        ref_name = reader.lp_reference
        refs = [it.reference[ref_name] for it in items if ref_name and ref_name in it.reference]
        lp_reference[spk] = float(np.median(orientation.apply(np.concatenate(refs))[:, 0])) \
            if refs else 0.0
        if not need_palate:
            continue
        if spk in corpus_palates:
            palate = Palate(orientation.apply(corpus_palates[spk]), "corpus palate trace")
        else:
            tongue = [orientation.apply(pooled[name]) for name in TONGUE_SENSORS if name in pooled]
            palate = estimate_palate(np.concatenate(tongue), speaker=spk)
        palates[spk] = palate
        report.palates[spk] = palate.source
        rows = "".join(f"{x:.3f},{y:.3f}\n" for x, y in palate.points)
        atomic_write_text(media / f"palate_{spk}.csv", "x_mm,y_mm\n" + rows)
        log.info("speaker %s: palate %s (%.1f mm long); axes flipped x=%s y=%s", spk,
                 palate.source, palate.length, orientation.flip_x, orientation.flip_y)
    return orientations, palates, lp_reference


def _targets(item: _Prepared, kind: str, orientation: Orientation | None, palate: Palate | None,
             lp_reference: float) -> np.ndarray:
    if kind == "columns":
        return item.columns
    oriented = {name: orientation.apply(track) for name, track in item.sensors.items()}
    if kind == "tv":
        return tract_variables(oriented, palate, lp_reference)
    return np.concatenate([oriented[name] for name in EMA_SENSORS], axis=1)


def _load_all(reader: CorpusReader, refs: list[RecordingRef], options: PrepareOptions,
              media: Path, report: PrepareReport) -> tuple[list[_Prepared], list[str], list[str]]:
    prepared: list[_Prepared] = []
    column_names: list[str] = []
    column_units: list[str] = []
    first_error = None
    for ref in tqdm(refs, desc=f"{reader.name}: read", unit="utt"):
        try:
            rec = reader.load(ref)
            if options.targets == "columns":
                if not column_names:
                    column_names, column_units = rec.column_names, rec.column_units
                elif rec.column_names != column_names:
                    raise SitoolError(f"{ref.utt}: target columns {rec.column_names} differ "
                                      f"from the first utterance's {column_names}")
            prepared.append(_pass_one(rec, options, media))
        except _Skip as skip:
            report.skipped[skip.reason].append(ref.utt)
            log.warning("%s: skipped (%s): %s", ref.utt, skip.reason, skip)
        except SitoolError as e:
            if options.strict:
                raise
            first_error = first_error or str(e)
            report.skipped["unreadable"].append(ref.utt)
            log.warning("%s: skipped (unreadable): %s", ref.utt, e)
    if not prepared:
        reasons = ", ".join(f"{reason}: {len(u)}" for reason, u in report.skipped.items())
        raise SitoolError(f"{reader.name}: no usable utterance out of {len(refs)} ({reasons})"
                          + (f"; first error: {first_error}" if first_error else ""))
    return prepared, column_names, column_units


@locks_output("out")
def prepare_corpus(reader: CorpusReader, root: str | os.PathLike, out: str | os.PathLike,
                   split: SplitRule | None = None,
                   options: PrepareOptions | None = None) -> PrepareReport:
    """Write ``<out>/{train,dev,test[,babble_talkers]}`` from a real corpus (module docstring)."""
    root, out = Path(root), Path(out)
    options = options or PrepareOptions()
    split = split or SplitRule(default_dev_speakers=reader.default_dev_speakers,
                               default_test_speakers=reader.default_test_speakers)
    report = PrepareReport()
    if set_dirs_done(out) and not options.overwrite:
        log.info("%s: data dirs in %s exist; reusing them (--overwrite to redo)", reader.name, out)
        report.reused = True
        return report
    media = Path(options.media_dir) if options.media_dir else out / f"{reader.name}_media"
    refs = reader.find(root)
    if len({ref.utt for ref in refs}) != len(refs):
        raise SitoolError(f"{root}: utterance ids are not unique")
    log.info("%s: %d utterances of %d speakers under %s", reader.name, len(refs),
             len({ref.speaker for ref in refs}), root)

    prepared, column_names, column_units = _load_all(reader, refs, options, media, report)
    kind = options.targets
    orientations, palates, lp_reference = ({}, {}, {}) if kind == "columns" else \
        _speaker_geometry(prepared, reader, root, media, report, need_palate=kind == "tv")
    assignment = assign_sets({item.utt: item.speaker for item in prepared}, split)
    info = target_info(kind, options, column_names, column_units, reader.name)

    tables: dict[str, dict[str, dict]] = {name: defaultdict(dict) for name in SETS}
    for item in tqdm(prepared, desc=f"{reader.name}: targets", unit="utt"):
        if item.utt not in assignment:
            continue
        spk = item.speaker
        targets = _targets(item, kind, orientations.get(spk), palates.get(spk),
                           lp_reference.get(spk, 0.0))
        if options.source_features:
            audio = load_audio(item.audio_path, SAMPLE_RATE)
            source = source_features(audio, SAMPLE_RATE, options.frame_rate, item.n_frames,
                                     options.f0_min, options.f0_max)
            targets = np.concatenate([targets, source], axis=1)
        targets = np.asarray(targets, dtype=np.float32)
        if not np.all(np.isfinite(targets)):
            report.skipped["non-finite targets"].append(item.utt)
            log.warning("%s: skipped (non-finite targets)", item.utt)
            continue
        npy = media / "tv" / f"{item.utt}.npy"
        atomic_save_npy(npy, targets)
        table = tables[assignment[item.utt]]
        table["utt2spk"][item.utt] = spk
        table["utt2dur"][item.utt] = item.duration
        table["wav.scp"][item.utt] = str(item.audio_path)
        table["tv.scp"][item.utt] = str(npy.resolve())
        if item.text:
            table["text"][item.utt] = item.text
        if item.phones:
            table["phones"][item.utt] = within_audio(item.phones, item.duration)

    _write_sets(out, tables, info, report, reader.name)
    _write_report(media / "prepare_report.yaml", reader.name, root, options, report)
    skipped = ", ".join(f"{reason} {len(utts)}" for reason, utts in report.skipped.items())
    log.info("%s: wrote %s; skipped %d%s", reader.name,
             ", ".join(f"{name} {n}" for name, n in report.sets.items()), report.num_skipped,
             f" ({skipped})" if skipped else "")
    return report


def within_audio(phones: list[PhoneSegment], duration: float) -> list[PhoneSegment]:
    """The phone segments cut to the audio's ``duration``: later segments dropped, the last
    one ending at the audio's end (labels often run past trimmed or shorter audio)."""
    return [PhoneSegment(s.start, min(s.end, duration), s.phone)
            for s in phones if s.start < duration]


def _write_sets(out: Path, tables: dict, info: TargetInfo, report: PrepareReport,
                corpus: str) -> None:
    for name in SETS:
        table = tables[name]
        utts = table["utt2spk"]
        if not utts:
            if name != "babble_talkers":
                log.warning("%s: set %s is empty (see the split rules in docs/corpora.md)",
                            corpus, name)
            continue
        text = table["text"] if len(table["text"]) == len(utts) else None
        if table["text"] and text is None:
            log.info("%s/%s: only %d of %d utterances have text; no text file", corpus, name,
                     len(table["text"]), len(utts))
        write_data_dir(out / name, utt2spk=utts, utt2dur=table["utt2dur"],
                       wav_scp=table["wav.scp"], tv_scp=table["tv.scp"], targets=info,
                       text=text, phones=table["phones"] or None)
        report.sets[name] = len(utts)


def _write_report(path: Path, corpus: str, root: Path, options: PrepareOptions,
                  report: PrepareReport) -> None:
    write_yaml(path, {
        "corpus": corpus,
        "root": str(root.resolve()),
        "targets": options.targets,
        "source_features": options.source_features,
        "frame_rate": options.frame_rate,
        "max_gap_s": options.max_gap_s,
        "max_length_mismatch_s": options.max_length_mismatch_s,
        "sets": dict(report.sets),
        "skipped": {reason: sorted(utts) for reason, utts in report.skipped.items()},
        "palates": dict(report.palates),
    })
