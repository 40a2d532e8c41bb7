"""Writing the SSL feature cache (DESIGN.md §3): ``sitool cache-ssl`` runs the hidden states
of a frozen SSL model over a data dir into ``dump/ssl/<model_tag>/<set>/`` (the layout:
:mod:`sitool.ssl.cache_layout`; reading it: :mod:`sitool.ssl.cache_reader`).

Shards are fixed by the data (consecutive sorted utterances, ``shard_seconds`` of audio each),
not by the number of jobs, so ``--nj N --job J`` jobs write disjoint shard files whose union is
the same cache an unsharded run writes, and a run can be resumed with another ``--nj``. A shard
is written to ``.bin.partial`` and renamed when complete; its ``.done`` marker comes last, so a
killed run leaves only whole shards (kept) and at most one partial file per job (redone); a
run that fails with an error removes its partial shard at once, and when no shard is done,
its ``settings.yaml`` too, so nothing is left to block the next run.
A ``--job`` run writes only its shards. A run without ``--job`` (the rule of every sharded
stage: jobs, then one finishing call) extracts any shard still missing and then assembles
``index.tsv`` and ``meta.yaml`` (only that, when the jobs left nothing to do).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from sitool import __version__
from sitool.audio import SAMPLE_RATE
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.io import atomic_write_text, read_yaml, write_yaml
from sitool.locking import locks_output
from sitool.parallel import check_job, shard
from sitool.precision import autocast_name, resolve_precision
from sitool.ssl.cache_layout import CACHE_FORMAT, shard_name
from sitool.ssl.cache_stamps import (LEGACY_NOTE, compare_model_stamp, data_stamp,
                                      is_legacy_stamp, model_stamp, settings_hash)
from sitool.ssl.encoder import load_ssl_config, load_ssl_encoder
from sitool.ssl.inputs import frame_grid
from sitool.ssl.extract import (batch_by_length, cast_weights_for_autocast, cosine_fidelity,
                                default_batch_seconds, extract_hidden_states)

log = logging.getLogger(__name__)

DTYPES = ("float16", "float32")
FLOAT16_MAX = float(np.finfo(np.float16).max)
# Audio (seconds) used to measure the autocast-vs-fp32 similarity at the start of a job.
FIDELITY_SECONDS = 8.0


def parse_layers(spec: str | Sequence[int] | None) -> list[int] | None:
    """``"all"``/None → None (every layer); ``"0,6,12"`` or ``[0, 6, 12]`` → sorted unique ints."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return None
    if isinstance(spec, str):
        try:
            values = [int(v) for v in spec.split(",") if v.strip()]
        except ValueError:
            raise SitoolError(f"--layers must be 'all' or comma-separated integers like 0,6,12; "
                              f"got {spec!r}") from None
    else:
        values = [int(v) for v in spec]
    if not values or min(values) < 0:
        raise SitoolError(f"layers must be non-negative layer numbers, got {spec!r}")
    return sorted(set(values))


# --------------------------------------------------------------------------- shard plan


def plan_shards(utts: Sequence[str], durations: dict[str, float],
                shard_seconds: float) -> list[list[str]]:
    """Split sorted ``utts`` into consecutive shards of about ``shard_seconds`` of audio each
    (a shard closes before the utterance that would take it past the limit)."""
    if shard_seconds <= 0:
        raise SitoolError(f"shard_seconds must be > 0, got {shard_seconds}")
    shards: list[list[str]] = []
    current: list[str] = []
    total = 0.0
    for utt in utts:
        dur = durations[utt]
        if current and total + dur > shard_seconds:
            shards.append(current)
            current, total = [], 0.0
        current.append(utt)
        total += dur
    if current:
        shards.append(current)
    return shards


class _Writer:
    """Everything one ``cache_ssl`` call needs to know while writing shards."""

    def __init__(self, out_dir: Path, settings: dict, settings_hash: str):
        self.out_dir = out_dir
        self.shard_dir = out_dir / "shards"
        self.settings = settings
        self.hash = settings_hash

    def paths(self, index: int) -> dict[str, Path]:
        stem = self.shard_dir / shard_name(index)
        return {"bin": stem.with_suffix(".bin"), "tsv": stem.with_suffix(".tsv"),
                "done": stem.with_suffix(".done"),
                "partial": stem.with_suffix(".bin.partial")}

    def finished(self, index: int) -> dict | None:
        """The done marker of shard ``index`` if the shard is complete and current, else None."""
        paths = self.paths(index)
        if not paths["done"].is_file():
            return None
        try:
            done = read_yaml(paths["done"])
        except SitoolError:
            return None
        if done.get("settings_hash") != self.hash:
            return None
        if not paths["bin"].is_file() or paths["bin"].stat().st_size != done.get("bytes"):
            return None
        if not paths["tsv"].is_file():
            return None
        return done

    def remove(self, index: int) -> None:
        for path in self.paths(index).values():
            path.unlink(missing_ok=True)


def _differences(old: dict, new: dict) -> list[str]:
    keys = ("ssl_model", "model_stamp", "layers", "dtype", "autocast", "shard_seconds",
            "data_stamp", "num_utts")
    return [k if k != "model_stamp" else f"{k} (the model's weights or config changed)"
            for k in keys if old.get(k) != new.get(k)]


def _make_command(settings: dict, out_dir: Path) -> str:
    data_dir = Path(settings["data_dir"])
    layers = settings["layers"]
    parts = ["sitool cache-ssl", f"--ssl-model {settings['ssl_model']}"]
    if layers != "all":
        parts.append("--layers " + ",".join(map(str, layers)))
    if settings["dtype"] != "float16":
        parts.append(f"--dtype {settings['dtype']}")
    parts.append(f"--precision {settings['autocast'] or 'fp32'}")
    if out_dir.name == data_dir.name:
        parts += [str(data_dir), f"--out {out_dir.parent}"]
        return " ".join(parts)
    return (f"sitool.ssl.cache_writer.cache_ssl({settings['ssl_model']!r}, {str(data_dir)!r}, "
            f"{str(out_dir)!r})")


def _load_shard_audio(data: DataDir, utts: Sequence[str], min_samples: int) -> list[np.ndarray]:
    wavs = []
    for utt in utts:
        wav = data.audio(utt)
        data.check_duration(utt, len(wav))
        if wav.ndim != 1:
            raise SitoolError(f"{data.path}: utterance {utt!r}: audio must be mono, got shape "
                              f"{wav.shape}")
        if len(wav) < min_samples:
            raise SitoolError(f"{data.path}: utterance {utt!r} has {len(wav)} samples, fewer than "
                              f"the SSL model's {min_samples}-sample receptive field; drop it "
                              "from the data dir")
        if not np.all(np.isfinite(wav)):
            raise SitoolError(f"{data.path}: utterance {utt!r}: audio contains NaN or Inf")
        wavs.append(wav)
    return wavs


def _to_storage(state: torch.Tensor, dtype: str, utt: str) -> np.ndarray:
    array = state.numpy()
    if dtype == "float16":
        peak = float(np.abs(array).max()) if array.size else 0.0
        if not np.isfinite(peak) or peak > FLOAT16_MAX:
            raise SitoolError(f"utterance {utt!r}: hidden states reach |x| = {peak:.3g}, beyond "
                              "the float16 range; cache with --dtype float32")
    elif not np.all(np.isfinite(array)):
        raise SitoolError(f"utterance {utt!r}: the SSL model produced NaN/Inf hidden states")
    return np.ascontiguousarray(array.astype(dtype, copy=False))


def _write_shard(writer: _Writer, index: int, utts: Sequence[str], wavs: Sequence[np.ndarray],
                 encoder, layers: list[int], dtype: str, autocast: str | None,
                 batch_seconds: float, progress: tqdm, fidelity: dict | None) -> None:
    """Extract and write one shard: ``.bin.partial`` → ``.bin``, then ``.tsv``, then ``.done``."""
    paths = writer.paths(index)
    writer.remove(index)
    sha = hashlib.sha256()
    rows, offset, size = [], 0, 0
    try:
        with open(paths["partial"], "wb") as f:
            for batch in batch_by_length([len(w) for w in wavs], batch_seconds):
                states = extract_hidden_states(encoder, [wavs[i] for i in batch], layers,
                                               autocast)
                for i, state in zip(batch, states):
                    block = _to_storage(state, dtype, utts[i])
                    data = block.tobytes()
                    f.write(data)
                    sha.update(data)
                    size += len(data)
                    rows.append((utts[i], offset, block.shape[1]))
                    offset += block.shape[1]
                    progress.update(1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(paths["partial"], paths["bin"])
        atomic_write_text(paths["tsv"], "".join(f"{u}\t{o}\t{n}\n" for u, o, n in rows))
        done = {"shard": index, "utts": len(rows), "frames": offset, "bytes": size,
                "sha256": sha.hexdigest(), "settings_hash": writer.hash}
        if fidelity is not None:
            done["autocast_fidelity"] = fidelity
        write_yaml(paths["done"], done)
    except OSError as e:
        writer.remove(index)  # the partial shard goes at once
        raise _write_error(paths["bin"], e) from None


def _write_error(path: Path, error: OSError) -> SitoolError:
    """One line for a write that failed (a full disk, no permission)."""
    return SitoolError(f"{path}: cannot write the SSL cache ({error.strerror or error}); free "
                       "disk space or choose another --out, then rerun (the shards done so far "
                       "are kept)")


def _measure_fidelity(encoder, wavs: Sequence[np.ndarray], layers: list[int],
                      autocast: str) -> dict:
    """Cosine similarity of autocast hidden states to fp32 on up to FIDELITY_SECONDS of audio."""
    chosen, total = [], 0
    for wav in wavs:
        if chosen and total + len(wav) > FIDELITY_SECONDS * SAMPLE_RATE:
            break
        chosen.append(wav)
        total += len(wav)
    reference = extract_hidden_states(encoder, chosen, layers, None)
    other = extract_hidden_states(encoder, chosen, layers, autocast)
    result = cosine_fidelity(reference, other)
    result["seconds"] = round(total / SAMPLE_RATE, 2)
    level = logging.WARNING if result["min_layer"] < 0.99 else logging.INFO
    log.log(level, "autocast %s vs fp32 on %.1f s of audio: cosine similarity mean %.4f, worst "
            "layer %.4f%s", autocast, result["seconds"], result["mean"], result["min_layer"],
            "" if level == logging.INFO else " (below 0.99: consider caching without --autocast)")
    return result


def _finalize(writer: _Writer, shards: list[list[str]], encoder_info: dict) -> bool:
    """Write ``index.tsv`` and ``meta.yaml`` if every shard is done; True when complete."""
    dones = [writer.finished(i + 1) for i in range(len(shards))]
    if not all(dones):
        return False
    rows = []
    for i, utts in enumerate(shards, 1):
        lines = writer.paths(i)["tsv"].read_text().splitlines()
        entries = [line.split("\t") for line in lines if line]
        if sorted(e[0] for e in entries) != sorted(utts):
            raise SitoolError(f"{writer.paths(i)['tsv']}: utterances disagree with the shard "
                              "plan; rerun with --overwrite")
        rows.extend((u, i, int(o), int(n)) for u, o, n in entries)
    rows.sort()
    settings = writer.settings
    fidelities = [d["autocast_fidelity"] for d in dones if "autocast_fidelity" in d]
    meta = {
        "format": CACHE_FORMAT,
        "ssl_model": settings["ssl_model"],
        "model_type": encoder_info["model_type"],
        "model_stamp": settings["model_stamp"],
        "layers": encoder_info["layers"],
        "frame_rate": encoder_info["frame_rate"],
        "dim": encoder_info["dim"],
        "dtype": settings["dtype"],
        "autocast": settings["autocast"],
        "autocast_fidelity": (min(fidelities, key=lambda f: f["min_layer"]) if fidelities
                              else None),
        "layout": "per utterance one C-order block [n_layers, frames, dim] in shards/<shard>.bin",
        "num_utts": len(rows),
        "num_frames": int(sum(r[3] for r in rows)),
        "data_dir": settings["data_dir"],
        "data_stamp": settings["data_stamp"],
        "settings_hash": writer.hash,
        "shards": [{"name": shard_name(i), "utts": d["utts"], "frames": d["frames"],
                    "bytes": d["bytes"], "sha256": d["sha256"]}
                   for i, d in enumerate(dones, 1)],
        "sitool_version": __version__,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    atomic_write_text(writer.out_dir / "index.tsv",
                      "".join(f"{u}\t{s}\t{o}\t{n}\n" for u, s, o, n in rows))
    write_yaml(writer.out_dir / "meta.yaml", meta)
    log.info("SSL cache complete: %s (%d utts, %d shards, %.1f MB)", writer.out_dir, len(rows),
             len(shards), sum(d["bytes"] for d in dones) / 1e6)
    return True


def _model_info(config, layers: list[int]) -> dict:
    """What meta.yaml records about the model, from its transformers config."""
    return {"model_type": config.model_type, "layers": layers,
            "frame_rate": float(frame_grid(config).frame_rate), "dim": int(config.hidden_size)}


def _clear(out_dir: Path, writer: _Writer | None, own: Sequence[int] | None) -> None:
    """--overwrite: remove the whole cache (own=None) or only the meta/index and own shards."""
    if own is None:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        return
    for name in ("meta.yaml", "index.tsv"):
        (out_dir / name).unlink(missing_ok=True)
    for index in own:
        writer.remove(index)


def _check_existing(writer: _Writer, overwrite: bool, own: Sequence[int] | None) -> bool:
    """Deal with what is already in the cache dir; True when a complete, current cache is
    there to reuse. ``own``: this job's shards (None: all). Raises on a cache (complete or
    partial) made with other settings unless ``overwrite``, which clears it first."""
    out_dir = writer.out_dir
    meta_path, settings_path = out_dir / "meta.yaml", out_dir / "settings.yaml"
    if overwrite:
        _clear(out_dir, writer, own)
        return False
    old = read_yaml(settings_path) if settings_path.is_file() else {}
    if old and old.get("settings_hash") != writer.hash and _restamp(writer, old):
        old = writer.settings
    if meta_path.is_file():
        if read_yaml(meta_path).get("settings_hash") == writer.hash:
            log.info("%s: SSL cache already complete, reusing it (--overwrite redoes it)", out_dir)
            return True
        raise SitoolError(f"{out_dir}: an SSL cache made with other settings is there (differs "
                          f"in: {', '.join(_differences(old, writer.settings)) or 'format'}); "
                          "pass --overwrite to redo it or choose another --out")
    if old and old.get("settings_hash") != writer.hash and any(writer.shard_dir.glob("*.done")):
        raise SitoolError(f"{out_dir}: a partial SSL cache with other settings is there "
                          f"(differs in: {', '.join(_differences(old, writer.settings))}); pass "
                          "--overwrite to start again")
    return False


def _restamp(writer: _Writer, old: dict) -> bool:
    """Move a cache whose ``settings.yaml`` has an old-format model stamp (config.json and
    file sizes, written before the weight digest) to the stamp of the weights, when the model
    still matches the old stamp and nothing else differs; True when re-stamped (logged).
    The shard markers and meta.yaml go first, settings.yaml last, so a kill midway leaves a
    cache that the next run re-stamps again."""
    model = writer.settings["ssl_model"]
    if not is_legacy_stamp(old.get("model_stamp")) or \
            compare_model_stamp(old["model_stamp"], model)[0] != "legacy" or \
            settings_hash({**old, "model_stamp": writer.settings["model_stamp"]}) != writer.hash:
        return False
    for marker in sorted(writer.shard_dir.glob("*.done")):
        done = read_yaml(marker)
        if done.get("settings_hash") == old.get("settings_hash"):
            write_yaml(marker, {**done, "settings_hash": writer.hash})
    meta_path = writer.out_dir / "meta.yaml"
    if meta_path.is_file():
        meta = read_yaml(meta_path)
        if meta.get("settings_hash") == old.get("settings_hash"):
            write_yaml(meta_path, {**meta, "model_stamp": writer.settings["model_stamp"],
                                   "settings_hash": writer.hash})
    write_yaml(writer.out_dir / "settings.yaml", writer.settings)
    log.warning("%s: %s; re-stamped with the digest of %s's weights (%s), taking the cache as "
                "made by them (if that model was re-pretrained since, redo it: --overwrite)",
                writer.out_dir, LEGACY_NOTE, model, writer.settings["model_stamp"])
    return True


def _log_plan(writer: _Writer, shards: list[list[str]], own: list[int], todo: list[int],
              durations: dict[str, float], info: dict, where: str) -> None:
    """Log the work and the disk estimate before extraction; refuse when the disk is short."""
    n_layers, dim = len(info["layers"]), info["dim"]
    bytes_per_second = (info["frame_rate"] * n_layers * dim
                        * np.dtype(writer.settings["dtype"]).itemsize)
    total_seconds = sum(durations[u] for utts in shards for u in utts)
    todo_seconds = sum(durations[u] for i in todo for u in shards[i - 1])
    log.info("%s%s: %d utts, %s of audio in %d shard(s); this job: %d of %d shard(s) to do "
             "(%s). Disk: ~%s for the set (%d layers x %d dims x %s x %.0f frames/s)",
             writer.out_dir, where, writer.settings["num_utts"], _hours(total_seconds),
             len(shards), len(todo), len(own), _hours(todo_seconds),
             _bytes(total_seconds * bytes_per_second), n_layers, dim,
             writer.settings["dtype"], info["frame_rate"])
    free = shutil.disk_usage(writer.out_dir).free
    if todo_seconds * bytes_per_second > free:
        need = _bytes(todo_seconds * bytes_per_second)
        raise SitoolError(f"{writer.out_dir}: the cache needs ~{need} but only {_bytes(free)} "
                          "are free there; free space, cache fewer "
                          "layers (--layers, or --config to keep only those the configs use) or "
                          "write it elsewhere (--out)")


def _extract_shards(writer: _Writer, data: DataDir, shards: list[list[str]], todo: list[int],
                    ssl_model: str, layers: list[int], batch_seconds: float | None,
                    autocast: str | None, device: str | None, progress: bool,
                    where: str) -> None:
    """Load the model and write the shards ``todo``; the next shard's audio is loaded (noisy
    sets: mixed) in a background thread while the current one is extracted."""
    torch_device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    encoder = load_ssl_encoder(ssl_model, freeze="all").to(torch_device)
    if batch_seconds is None:
        batch_seconds = default_batch_seconds(torch_device)
    min_samples = encoder.grid.field      # fewest input samples that give one frame
    fidelity_pending = autocast is not None
    total = sum(len(shards[i - 1]) for i in todo)
    with tqdm(total=total, desc=f"cache-ssl {data.name}{where}", unit="utt",
              disable=not progress) as bar, ThreadPoolExecutor(1) as pool:
        future = pool.submit(_load_shard_audio, data, shards[todo[0] - 1], min_samples)
        for k, index in enumerate(todo):
            wavs = future.result()
            if k + 1 < len(todo):
                future = pool.submit(_load_shard_audio, data, shards[todo[k + 1] - 1],
                                     min_samples)
            fidelity = None
            if fidelity_pending:
                fidelity = _measure_fidelity(encoder, wavs, layers, autocast)
                fidelity_pending = False
                cast_weights_for_autocast(encoder, autocast)
            _write_shard(writer, index, shards[index - 1], wavs, encoder, layers,
                         writer.settings["dtype"], autocast, batch_seconds, bar, fidelity)


@locks_output("out_dir")
def cache_ssl(ssl_model: str, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
              layers: list[int] | None = None, dtype: str = "float16", nj: int = 1,
              job: int | None = None, batch_seconds: float | None = None,
              autocast: str | None = None, overwrite: bool = False, shard_seconds: float = 60.0,
              device: str | None = None, progress: bool = True,
              precision: str | None = None) -> Path:
    """Cache the hidden states of ``ssl_model`` for every utterance of ``data_dir``.

    ``out_dir`` is the set's cache dir (``dump/ssl/<model_tag>/<set>``). ``layers``: model
    layer numbers to keep (0 = projected CNN features; default all). ``dtype``: on-disk
    float16 (default) or float32. ``nj``/``job``: this call writes only shard job ``job`` of
    ``nj`` (1-based); ``job=None`` does every shard still missing. ``batch_seconds``: padded
    audio per forward batch (None: 0 = one utterance at a time on CPU, 120 s on GPU; see
    ``sitool.ssl.extract.default_batch_seconds``). ``autocast``: ``bf16``/``fp16`` compute
    (the similarity to fp32 is measured at the start and recorded in ``meta.yaml``).
    ``shard_seconds``: audio per shard. ``device``: torch device (default: cuda when
    available, else cpu); batching and device change float rounding only.
    ``precision`` (auto, fp32, bf16, fp16; ``sitool.precision``), when given, sets ``autocast``
    for the device (auto: bf16 on GPUs that support it, fp32 on CPU).
    Returns ``out_dir``; the cache is complete (``meta.yaml``) once all jobs have finished.
    """
    check_job(nj, job)
    if precision is not None:
        autocast = autocast_name(resolve_precision(
            precision, device or ("cuda" if torch.cuda.is_available() else "cpu")))
    if dtype not in DTYPES:
        raise SitoolError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if autocast not in (None, "bf16", "fp16"):
        raise SitoolError(f"autocast must be bf16 or fp16 (or unset), got {autocast!r}")
    if batch_seconds is not None and batch_seconds < 0:
        raise SitoolError(f"batch_seconds must be >= 0, got {batch_seconds}")
    layers = parse_layers(layers)
    data = DataDir(data_dir)
    data.require("utt2spk", "utt2dur", made_by="sitool prepare (or sitool mix for noisy sets)")
    utts = data.check_utterances()
    durations = data.utt2dur
    missing = [u for u in utts if u not in durations]
    if missing:
        raise SitoolError(f"{data.path}/utt2dur: no duration for {len(missing)} utterance(s), "
                          f"e.g. {missing[0]!r}")
    model_config = load_ssl_config(ssl_model)  # a missing model fails here, before any write
    num_layers = model_config.num_hidden_layers + 1
    chosen = list(range(num_layers)) if layers is None else layers
    bad = [i for i in chosen if i >= num_layers]
    if bad:
        raise SitoolError(f"--layers {bad}: {ssl_model} has layers 0..{num_layers - 1}")
    info = _model_info(model_config, chosen)
    out_dir = Path(out_dir)
    shards = plan_shards(utts, durations, shard_seconds)
    settings = {
        "format": CACHE_FORMAT,
        "ssl_model": str(ssl_model),
        "model_stamp": model_stamp(str(ssl_model)),
        "layers": "all" if layers is None else layers,
        "dtype": dtype,
        "autocast": autocast,
        "shard_seconds": float(shard_seconds),
        "data_dir": str(data.path.resolve()),
        "data_stamp": data_stamp(data),
        "num_utts": len(utts),
        "num_shards": len(shards),
    }
    settings["settings_hash"] = settings_hash(settings)
    settings["command"] = _make_command(settings, out_dir)
    writer = _Writer(out_dir, settings, settings["settings_hash"])
    all_shards = list(range(1, len(shards) + 1))
    own = all_shards if job is None else shard(all_shards, nj, job)
    where = "" if job is None else f" (job {job}/{nj})"
    if _check_existing(writer, overwrite, None if job is None else own):
        return out_dir
    settings_path = out_dir / "settings.yaml"
    try:
        writer.shard_dir.mkdir(parents=True, exist_ok=True)
        if not settings_path.is_file() or read_yaml(settings_path) != settings:
            write_yaml(settings_path, settings)
    except OSError as e:
        raise _write_error(settings_path, e) from None

    todo = [i for i in own if writer.finished(i) is None]
    _log_plan(writer, shards, own, todo, durations, info, where)
    if todo:
        try:
            _extract_shards(writer, data, shards, todo, str(ssl_model), chosen, batch_seconds,
                            autocast, device, progress, where)
        except BaseException:
            _remove_leftovers(writer, todo)
            raise
    if job is not None:
        done = sum(writer.finished(i) is not None for i in all_shards)
        log.info("%s%s: this job's shards are done; %d of %d shards done overall. `%s` (no "
                 "--job) writes the index once every job has finished.", out_dir, where, done,
                 len(shards), settings["command"])
        return out_dir
    try:
        complete = _finalize(writer, shards, info)
    except OSError as e:
        raise _write_error(out_dir / "meta.yaml", e) from None
    if not complete:
        raise SitoolError(f"{out_dir}: a shard is unfinished after extracting every shard")
    return out_dir


def _remove_leftovers(writer: _Writer, todo: Sequence[int]) -> None:
    """After a failed run: remove the partial shards of ``todo``; when no shard at all is
    done, remove settings.yaml and the empty dirs too, so nothing blocks the next run."""
    for index in todo:
        writer.paths(index)["partial"].unlink(missing_ok=True)
    if any(writer.shard_dir.glob("*.done")):
        return
    (writer.out_dir / "settings.yaml").unlink(missing_ok=True)
    for folder in (writer.shard_dir, writer.out_dir):
        try:
            folder.rmdir()
        except OSError:  # not empty: files that are not ours
            break


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _bytes(size: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.1f} kB"

