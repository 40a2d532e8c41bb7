"""Score one decode dir utterance by utterance, into files later aggregation reads.

``scores.tsv`` (SI): one row per utterance x target, so tables for any grouping or filter are
computed without touching the audio or the arrays again::

    set utt clean_utt category noise_type snr_db target unit frames ppmc status rmse

``ppmc`` is ``NA`` when the utterance is excluded for that target (status ``const_ref``, see
``sitool.scoring.metrics``); ``snr_db`` is ``inf`` for clean speech.

``se_scores.tsv`` (models with an SE head): one row per utterance and system, where system
``enhanced`` is the model's output and ``noisy`` the unprocessed input (noisy utterances only;
the noisy rows are shared between models decoding the same data dir)::

    set utt clean_utt category noise_type snr_db system pesq stoi si_sdr estoi pesq_nb csig cbak covl

(``pesq`` is wide-band; ``sitool.scoring.se_metrics`` defines ESTOI, PESQ-NB and the
composite CSIG/CBAK/COVL.)

Every file is cached: ``<name>.yaml`` beside it records a fingerprint of everything the scores
depend on (prediction files' bytes, the decode and data dir tables, reference files' size and
mtime, the scorer version); a matching fingerprint means the file is reused. ``--nj N --job J``
scores only shard J into ``score_parts/``; a later call without ``--job`` merges the parts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from sitool.audio import SAMPLE_RATE, load_audio
from sitool.datadir import FRAME_TOLERANCE_S, load_target_file
from sitool.errors import SitoolError
from sitool.io import atomic_write_text, read_yaml, write_yaml
from sitool.locking import output_lock
from sitool.parallel import THREAD_VARIABLES, check_job, shard
from sitool.scoring import metrics
from sitool.scoring.decodes import DecodeDir, is_decode_dir

log = logging.getLogger(__name__)

# Bump when a metric's definition changes: every cached score file is then recomputed.
SCORER_VERSION = 2     # 2: ESTOI, PESQ-NB and the composite measures added

CONDITION_COLUMNS = ["set", "utt", "clean_utt", "category", "noise_type", "snr_db"]
SI_COLUMNS = CONDITION_COLUMNS + ["target", "unit", "frames", "ppmc", "status", "rmse"]
SE_COLUMNS = CONDITION_COLUMNS + ["system", "pesq", "stoi", "si_sdr", "estoi", "pesq_nb",
                                   "csig", "cbak", "covl"]
SI_FILE = "scores.tsv"
SE_FILE = "se_scores.tsv"
NOISY_SE_FILE = "noisy_se_scores.tsv"
PARTS_DIR = "score_parts"
ENHANCED = "enhanced"
NOISY = "noisy"

# Enhanced audio may differ from the input by this much before it is an error.
AUDIO_TOLERANCE_SAMPLES = int(FRAME_TOLERANCE_S * SAMPLE_RATE) + 160


# ---------------------------------------------------------------- fingerprints

def _hash_text_file(h, path: Path) -> None:
    h.update(str(path.name).encode())
    h.update(path.read_bytes() if path.is_file() else b"<missing>")


def _hash_stat(h, path: str | os.PathLike) -> None:
    try:
        st = os.stat(path)
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    except OSError:
        h.update(f"{path}:<missing>".encode())


def _hash_data_dir(h, decode: DecodeDir, reference_files: str) -> None:
    """The reference side: data dir tables, plus size/mtime of its per-utterance files."""
    data = decode.data
    h.update(str(data.path.resolve()).encode())
    for name in ("utt2spk", "targets", "tv.scp", "mix.tsv", "wav.scp"):
        _hash_text_file(h, data.path / name)
    if reference_files == "targets":
        for utt in sorted(data.tv_scp):
            _hash_stat(h, data.tv_scp[utt])
    elif reference_files == "audio":
        for row in sorted(data.mix.values(), key=lambda r: r.utt):
            _hash_stat(h, row.clean_path)
            _hash_stat(h, row.noise_file)
        for utt in sorted(data.wav_scp):
            _hash_stat(h, data.wav_scp[utt])


def si_fingerprint(decode: DecodeDir) -> str:
    """Everything ``scores.tsv`` depends on; prediction files are hashed by content."""
    h = hashlib.sha256(f"si-v{SCORER_VERSION}".encode())
    for name in ("tv.scp", "targets", "decode.yaml"):
        _hash_text_file(h, decode.path / name)
    for utt in sorted(decode.tv_scp):
        path = Path(decode.tv_scp[utt])
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
    _hash_data_dir(h, decode, "targets")
    return h.hexdigest()


def se_fingerprint(decode: DecodeDir) -> str:
    """Everything ``se_scores.tsv`` depends on (enhanced wavs by size and mtime)."""
    h = hashlib.sha256(f"se-v{SCORER_VERSION}".encode())
    for name in ("enhanced.scp", "decode.yaml"):
        _hash_text_file(h, decode.path / name)
    for utt in sorted(decode.enhanced_scp):
        _hash_stat(h, decode.enhanced_scp[utt])
    _hash_data_dir(h, decode, "audio")
    return h.hexdigest()


def noisy_fingerprint(decode: DecodeDir) -> str:
    """What the noisy-input SE rows depend on: only the data dir, so models can share them."""
    h = hashlib.sha256(f"noisy-v{SCORER_VERSION}".encode())
    _hash_data_dir(h, decode, "audio")
    return h.hexdigest()


# ---------------------------------------------------------------- per-utterance rows

def _condition_fields(decode: DecodeDir, utt: str) -> dict:
    data = decode.data
    cond = data.condition(utt)
    row = data.mix.get(utt)
    return {
        "set": decode.set_name, "utt": utt,
        "clean_utt": row.clean_utt if row is not None else utt,
        "category": cond.category, "noise_type": cond.noise_type, "snr_db": cond.snr_db,
    }


def scored_targets(decode: DecodeDir) -> list[tuple[int, int, str, str]]:
    """``(prediction column, reference column, name, unit)`` for every target in both.

    Units and frame rates must agree; predicted targets the data dir lacks are not scored.
    """
    pred_info = decode.targets
    ref_info = decode.data.targets
    if ref_info is None:
        raise SitoolError(f"{decode.data.path / 'targets'}: missing; the reference data dir has "
                          "no targets to score against")
    if abs(pred_info.frame_rate - ref_info.frame_rate) > 1e-6:
        raise SitoolError(f"{decode.path / 'targets'}: frame rate {pred_info.frame_rate:g} Hz but "
                          f"the reference is at {ref_info.frame_rate:g} Hz")
    pairs = []
    for i, name in enumerate(pred_info.names):
        if name not in ref_info.names:
            continue
        j = ref_info.names.index(name)
        if pred_info.units[i] != ref_info.units[j]:
            raise SitoolError(f"{decode.path / 'targets'}: {name} is in {pred_info.units[i]} but "
                              f"the reference {decode.data.path / 'targets'} has {ref_info.units[j]}")
        pairs.append((i, j, name, pred_info.units[i]))
    if not pairs:
        raise SitoolError(f"{decode.path / 'targets'}: none of {pred_info.names} is among the "
                          f"reference targets {ref_info.names}")
    missing = [n for n in pred_info.names if n not in ref_info.names]
    if missing:
        log.info("%s: predicted target(s) %s have no reference; not scored", decode.path,
                 ", ".join(missing))
    return pairs


def si_rows(decode: DecodeDir, utt: str, pairs: Sequence[tuple[int, int, str, str]]) -> list[dict]:
    """The ``scores.tsv`` rows of one utterance: PPMC and RMSE per target."""
    pred_path = decode.tv_scp[utt]
    pred = load_target_file(pred_path, decode.targets)
    if not np.all(np.isfinite(pred)):
        raise SitoolError(f"{pred_path}: predictions contain NaN or Inf; re-run sitool decode")
    ref = decode.data.target_array(utt)
    frame_rate = decode.targets.frame_rate
    pred, ref = metrics.trim_to_shorter(pred, ref, frame_rate, where=str(pred_path))
    base = _condition_fields(decode, utt)
    rows = []
    for i, j, name, unit in pairs:
        if not np.all(np.isfinite(ref[:, j])):
            raise SitoolError(f"{decode.data.tv_scp[utt]}: reference {name} has NaN or Inf")
        corr = metrics.ppmc(pred[:, i], ref[:, j])
        rows.append({**base, "target": name, "unit": unit, "frames": len(pred),
                     "ppmc": corr.value, "status": corr.status,
                     "rmse": metrics.rmse(pred[:, i], ref[:, j])})
    return rows


def _audio_metrics(degraded: np.ndarray, clean: np.ndarray, where: str) -> dict:
    if abs(len(degraded) - len(clean)) > AUDIO_TOLERANCE_SAMPLES:
        raise SitoolError(f"{where}: {len(degraded)} samples but the clean reference has "
                          f"{len(clean)}; re-run sitool decode --overwrite")
    n = min(len(degraded), len(clean))
    degraded, clean = degraded[:n], clean[:n]
    if not np.any(clean):
        raise SitoolError(f"{where}: the clean reference is silent; SE metrics are undefined")
    from sitool.scoring import se_metrics

    nb = se_metrics.pesq_nb(degraded, clean)
    composite = se_metrics.composite(degraded, clean, pesq_value=nb)
    return {"pesq": metrics.pesq_wb(degraded, clean), "stoi": metrics.stoi(degraded, clean),
            "si_sdr": metrics.si_sdr(degraded, clean), "estoi": se_metrics.estoi(degraded, clean),
            "pesq_nb": nb, "csig": composite["csig"], "cbak": composite["cbak"],
            "covl": composite["covl"]}


def enhanced_rows(decode: DecodeDir, utt: str) -> list[dict]:
    """The ``se_scores.tsv`` row of one utterance's enhanced audio."""
    path = decode.enhanced_scp[utt]
    enhanced = load_audio(path, SAMPLE_RATE)
    scores = _audio_metrics(enhanced, decode.data.clean_speech(utt), path)
    return [{**_condition_fields(decode, utt), "system": ENHANCED, **scores}]


def noisy_rows(decode: DecodeDir, utt: str) -> list[dict]:
    """The noisy-input row of one utterance (none for a clean utterance: it is its own reference)."""
    if utt not in decode.data.mix:
        return []
    scores = _audio_metrics(decode.data.audio(utt), decode.data.clean_speech(utt),
                            f"{decode.data.path}/mix.tsv ({utt})")
    return [{**_condition_fields(decode, utt), "system": NOISY, **scores}]


# ---------------------------------------------------------------- TSV files

def _format_value(value) -> str:
    if value is None:
        return "NA"
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    return str(value)


def format_rows(rows: Sequence[dict], columns: Sequence[str]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_format_value(row[c]) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def read_score_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``scores.tsv`` / ``se_scores.tsv`` (``NA`` = missing, ``inf`` = clean SNR)."""
    path = Path(path)
    if not path.is_file():
        raise SitoolError(f"{path}: not found; run sitool score")
    df = pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False,
                     dtype={"utt": str, "clean_utt": str, "set": str, "category": str,
                            "noise_type": str, "target": str, "unit": str, "status": str,
                            "system": str})
    df["snr_db"] = df["snr_db"].astype(float)
    return df


def _cache_valid(path: Path, fingerprint: str) -> bool:
    meta = path.with_suffix(".yaml")
    if not (path.is_file() and meta.is_file()):
        return False
    try:
        return read_yaml(meta).get("fingerprint") == fingerprint
    except SitoolError:
        return False


def _write_cached(path: Path, text: str, fingerprint: str, extra: dict) -> None:
    atomic_write_text(path, text)
    write_yaml(path.with_suffix(".yaml"), {"fingerprint": fingerprint,
                                           "scorer_version": SCORER_VERSION, **extra})


def _part_path(decode: DecodeDir, filename: str, nj: int, job: int) -> Path:
    stem = Path(filename).stem
    return decode.path / PARTS_DIR / f"{stem}.{job}-of-{nj}.tsv"


def _merge_parts(decode: DecodeDir, filename: str, fingerprint: str) -> str | None:
    """The merged text of a complete, current set of shard files, or None."""
    parts_dir = decode.path / PARTS_DIR
    stem = Path(filename).stem
    if not parts_dir.is_dir():
        return None
    by_nj: dict[int, dict[int, Path]] = {}
    for path in parts_dir.glob(f"{stem}.*-of-*.tsv"):
        job_nj = path.name[len(stem) + 1:-len(".tsv")]
        try:
            job, nj = (int(x) for x in job_nj.split("-of-"))
        except ValueError:
            continue
        if _cache_valid(path, fingerprint):
            by_nj.setdefault(nj, {})[job] = path
    for nj, jobs in sorted(by_nj.items()):
        if set(jobs) == set(range(1, nj + 1)):
            texts = [jobs[j].read_text(encoding="utf-8").splitlines(keepends=True)
                     for j in range(1, nj + 1)]
            return texts[0][0] + "".join(line for t in texts for line in t[1:])
    return None


@contextlib.contextmanager
def _single_threaded_children():
    """Worker processes started inside inherit one BLAS/OpenMP thread each (nj workers on nj
    cores; several threads per worker only contend)."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: "1" for k in THREAD_VARIABLES})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _rows_for(compute: Callable[[DecodeDir, str], list[dict]], decode: DecodeDir,
              utts: Sequence[str], nj: int, desc: str) -> list[dict]:
    rows: list[dict] = []
    if nj > 1 and len(utts) > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        chunks = [list(utts[i::nj]) for i in range(nj)]
        with _single_threaded_children(), \
                ProcessPoolExecutor(max_workers=nj, mp_context=context) as pool:
            futures = [pool.submit(_rows_for, compute, decode, chunk, 1, "") for chunk in chunks]
            per_chunk = [f.result() for f in futures]
        by_utt: dict[str, list[dict]] = {}
        for chunk_rows in per_chunk:
            for row in chunk_rows:
                by_utt.setdefault(row["utt"], []).append(row)
        return [row for utt in utts for row in by_utt.get(utt, [])]
    for utt in tqdm(utts, desc=desc, unit="utt", disable=not desc, leave=False):
        rows.extend(compute(decode, utt))
    return rows


def _score_table(decode: DecodeDir, filename: str, columns: Sequence[str], fingerprint: str,
                 utts: Sequence[str], compute: Callable[[DecodeDir, str], list[dict]],
                 overwrite: bool, nj: int, job: int | None, progress: bool) -> Path | None:
    """Write (or reuse) one cached score table; with ``job``, only that shard's part file."""
    check_job(nj, job)
    out = decode.path / filename
    desc = f"{decode.tag}/{decode.set_name} {Path(filename).stem}" if progress else ""
    if job is not None:
        part = _part_path(decode, filename, nj, job)
        if not overwrite and _cache_valid(part, fingerprint):
            log.info("%s: up to date, reused", part)
            return part
        rows = _rows_for(compute, decode, shard(list(utts), nj, job), 1, desc)
        _write_cached(part, format_rows(rows, columns), fingerprint, {"nj": nj, "job": job})
        return part
    if not overwrite and _cache_valid(out, fingerprint):
        log.info("%s: up to date, reused", out)
        return out
    merged = None if overwrite else _merge_parts(decode, filename, fingerprint)
    if merged is not None:
        log.info("%s: merged from %s shards", out, PARTS_DIR)
        text = merged
    else:
        text = format_rows(_rows_for(compute, decode, utts, nj, desc), columns)
    _write_cached(out, text, fingerprint, {"decode_dir": str(decode.path),
                                           "data_dir": str(decode.data.path)})
    log.info("%s: scored %d utterances", out, len(utts))
    return out


def _check_utts(decode: DecodeDir, utts: Sequence[str], scp: str) -> None:
    unknown = [u for u in utts if u not in decode.data.utt2spk]
    if unknown:
        raise SitoolError(f"{decode.path / scp}: {len(unknown)} utterance(s) not in its data dir "
                          f"{decode.data.path} (e.g. {unknown[0]!r}); decode dir and data dir disagree")
    missing = len(decode.data.utts) - len(utts)
    if missing > 0:
        log.warning("%s: %d of %d utterances of %s have no entry; scoring the %d present",
                    decode.path / scp, missing, len(decode.data.utts), decode.data.path, len(utts))


def score_si(decode: DecodeDir, overwrite: bool = False, nj: int = 1,
             job: int | None = None, progress: bool = True) -> Path:
    """Write (or reuse) ``scores.tsv`` of one decode dir; returns its path (or the part's)."""
    utts = sorted(decode.tv_scp)
    _check_utts(decode, utts, "tv.scp")
    pairs = scored_targets(decode)
    return _score_table(decode, SI_FILE, SI_COLUMNS, si_fingerprint(decode), utts,
                        _SIRows(tuple(pairs)), overwrite, nj, job, progress)


class _SIRows:
    """Picklable ``(decode, utt) -> rows`` for the SI table (for process pools)."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __call__(self, decode: DecodeDir, utt: str) -> list[dict]:
        return si_rows(decode, utt, self.pairs)


def _shared_noisy_scores(decode: DecodeDir, fingerprint: str) -> Path | None:
    """A current ``noisy_se_scores.tsv`` of the same data dir in another experiment, if any."""
    exp_root = decode.exp_dir.parent
    for other in sorted(exp_root.glob(f"*/decode/{decode.set_name}/{NOISY_SE_FILE}")):
        if other.parent != decode.path and is_decode_dir(other.parent) \
                and _cache_valid(other, fingerprint):
            return other
    return None


def score_se(decode: DecodeDir, overwrite: bool = False, nj: int = 1,
             job: int | None = None, progress: bool = True) -> list[Path]:
    """Write (or reuse) ``se_scores.tsv`` and ``noisy_se_scores.tsv`` of a decode dir with an SE head."""
    if not decode.has_enhanced:
        return []
    utts = sorted(decode.enhanced_scp)
    _check_utts(decode, utts, "enhanced.scp")
    out = [_score_table(decode, SE_FILE, SE_COLUMNS, se_fingerprint(decode), utts,
                        enhanced_rows, overwrite, nj, job, progress)]
    fingerprint = noisy_fingerprint(decode)
    noisy_path = decode.path / NOISY_SE_FILE
    shared = None if overwrite or job is not None else _shared_noisy_scores(decode, fingerprint)
    if shared is not None and not _cache_valid(noisy_path, fingerprint):
        log.info("%s: noisy-input scores reused from %s", noisy_path, shared)
        _write_cached(noisy_path, shared.read_text(encoding="utf-8"), fingerprint,
                      {"copied_from": str(shared)})
        out.append(noisy_path)
    else:
        out.append(_score_table(decode, NOISY_SE_FILE, SE_COLUMNS, fingerprint, utts,
                                noisy_rows, overwrite, nj, job, progress))
    return out


def score_decode_dir(decode: DecodeDir, overwrite: bool = False, nj: int = 1,
                     job: int | None = None, se: bool = True,
                     progress: bool = True) -> list[Path]:
    """Score one decode dir: SI when it has predicted targets, SE when it has enhanced audio
    (and ``se``); ``progress``: a progress bar per table. Holds the decode dir's lock (its
    job shard's with ``job``) meanwhile: one writer per decode dir."""
    with output_lock(decode.path, nj, job):
        paths = [score_si(decode, overwrite, nj, job, progress)] if decode.has_targets else []
        if se:
            paths += score_se(decode, overwrite, nj, job, progress)
    return paths
