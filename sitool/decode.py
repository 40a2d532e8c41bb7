"""Stage 5: ``sitool decode`` — predicted targets (and enhanced audio) for data dirs.

For each data dir ``data/<set>`` it writes ``exp/<tag>/decode/<set>/``::

    tv/<utt>.npy          float32 [frames, n] predicted targets in their units, frame j at j / rate
    tv.scp                <utt> <absolute path of the .npy>
    targets               TargetInfo of the predictions (names, units, frame_rate)
    enhanced/<utt>.wav    enhanced audio (models with an SE stage), float WAV, 16 kHz
    enhanced.scp          <utt> <absolute path of the .wav>
    decode.yaml           data_dir, exp, checkpoint, model type, num_utts, input source;
                          for a ``data.normalise: speaker`` model, ``normalisation``: which
                          speakers got their own statistics and which the global offset
    .work/                per-job progress markers

``--nj N --job J`` decodes the J-th of N contiguous slices of the utterances and writes
nothing else; a call with ``--nj N`` and no ``--job`` decodes any slice still missing and
then writes the tables above (``tv.scp``, ``targets``, ``enhanced.scp``, ``decode.yaml``), so a
set is complete exactly when ``decode.yaml`` exists (the rule of every sharded stage). Per-utterance
outputs are written atomically; a killed job resumes where it stopped (outputs made by
another checkpoint are never reused).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Sequence

from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from sitool.audio import write_audio
from sitool.datadir import DataDir, TargetInfo
from sitool.errors import SitoolError
from sitool.inference import (DEFAULT_CHUNK_SECONDS, DEFAULT_OVERLAP_SECONDS, Inverter,
                              load_inverter)
from sitool.io import atomic_save_npy, read_yaml, write_table, write_yaml
from sitool.locking import output_lock
from sitool.parallel import check_job, shard
from sitool.ssl.cache_reader import SSLCache
from sitool.training.batching import make_batches
from sitool.training.data import DataNeeds, UtteranceDataset, check_cache, collate

log = logging.getLogger(__name__)


def decode_dir(exp_dir: str | os.PathLike, data_dir: str | os.PathLike) -> Path:
    return Path(exp_dir) / "decode" / Path(data_dir).name


def _cache_usable(inverter: Inverter, data: DataDir) -> Path | None:
    """The set's cache dir when the model may read its SSL features from it."""
    cfg = inverter.trained.config.model
    if not cfg.uses_cache:
        return None
    path = Path(cfg.ssl.cache) / data.name
    if not (path / "meta.yaml").is_file():
        return None
    try:
        cache = SSLCache(path)
        check_cache(cache, cfg.ssl.model, inverter.model.frontend.layers,
                    inverter.model.geometry.dim)
    except SitoolError as e:
        log.warning("%s: not using the SSL cache (%s)", data.path, e)
        return None
    try:
        cache.check_data(data)  # features of other audio would give silently wrong outputs
    except SitoolError as e:
        raise SitoolError(f"{e} (or decode from the audio with --no-cache)") from None
    if any(u not in cache for u in data.utts):
        log.warning("%s: cache %s lacks some utterances; running the SSL on the fly", data.path, path)
        return None
    return path


class _SetDecoder:
    """Decoding of one data dir into its decode dir, one job slice at a time."""

    def __init__(self, inverter: Inverter, data_dir: str | os.PathLike, out: Path,
                 exp_dir: Path, checkpoint: str, use_cache: bool, batch_seconds: float,
                 progress: bool):
        self.inverter = inverter
        self.data = DataDir(data_dir)
        self.data.require("utt2spk", "utt2dur")
        self.out = out
        self.exp_dir = exp_dir
        self.checkpoint = checkpoint
        self.ckpt_id = inverter.trained.checkpoint_id
        self.has_targets = inverter.target_info is not None
        self.has_enhanced = inverter.has_se
        self.cache = _cache_usable(inverter, self.data) if use_cache else None
        self.batch_seconds = batch_seconds
        self.progress = progress
        self.work = out / ".work"

    # -- paths --------------------------------------------------------------------------------
    def tv_path(self, utt: str) -> Path:
        return self.out / "tv" / f"{utt}.npy"

    def wav_path(self, utt: str) -> Path:
        return self.out / "enhanced" / f"{utt}.wav"

    def marker(self, nj: int, job: int) -> Path:
        return self.work / f"job{job}of{nj}.done"

    def started(self, nj: int, job: int) -> Path:
        return self.work / f"job{job}of{nj}.checkpoint"

    def outputs(self, utt: str) -> list[Path]:
        return ([self.tv_path(utt)] if self.has_targets else []) + \
               ([self.wav_path(utt)] if self.has_enhanced else [])

    # -- state --------------------------------------------------------------------------------
    def complete(self) -> bool:
        meta = self.out / "decode.yaml"
        if not meta.is_file():
            return False
        info = read_yaml(meta)
        return (info.get("checkpoint_id") == self.ckpt_id
                and info.get("num_utts") == len(self.data.utts))

    def _clear(self, utts: Sequence[str], nj: int, job: int) -> None:
        for name in ("decode.yaml", "tv.scp", "enhanced.scp", "targets"):
            (self.out / name).unlink(missing_ok=True)
        for utt in utts:
            for path in self.outputs(utt):
                path.unlink(missing_ok=True)
        self.marker(nj, job).unlink(missing_ok=True)

    # -- work ---------------------------------------------------------------------------------
    def run_job(self, nj: int, job: int, overwrite: bool) -> None:
        mine = shard(self.data.utts, nj, job)
        started = self.started(nj, job)
        previous = started.read_text().strip() if started.is_file() else None
        meta = self.out / "decode.yaml"
        stale = meta.is_file() and read_yaml(meta).get("checkpoint_id") != self.ckpt_id
        if overwrite or stale or (previous is not None and previous != self.ckpt_id):
            if stale or previous not in (None, self.ckpt_id):
                log.info("%s: outputs of another checkpoint are there; redoing them", self.out)
            self._clear(mine, nj, job)
        marker = self.marker(nj, job)
        if marker.is_file() and read_yaml(marker).get("checkpoint_id") == self.ckpt_id:
            return
        self.work.mkdir(parents=True, exist_ok=True)
        started.write_text(self.ckpt_id + "\n")
        todo = [u for u in mine if not all(p.is_file() for p in self.outputs(u))]
        if len(todo) < len(mine):
            log.info("%s job %d/%d: %d of %d utterances already decoded", self.out, job, nj,
                     len(mine) - len(todo), len(mine))
        if todo:
            self._decode(todo, f"decode {self.data.name}" + (f" ({job}/{nj})" if nj > 1 else ""))
        write_yaml(marker, {"checkpoint_id": self.ckpt_id, "num_utts": len(mine)})

    def _decode(self, utts: Sequence[str], desc: str) -> None:
        cfg = self.inverter.trained.config
        needs = DataNeeds.for_model(cfg.model, use_cache=self.cache is not None, training=False)
        dataset = UtteranceDataset(
            [self.data.path], needs, cache_root=str(self.cache.parent) if self.cache else None,
            layers=self.inverter.model.frontend.layers, ssl_model=cfg.model.ssl.model,
            ssl_dim=self.inverter.model.geometry.dim, normaliser=self.inverter.trained.normaliser)
        index = {utt: i for i, (_, utt) in enumerate(dataset.items)}
        chosen = [index[u] for u in utts]
        durations = [dataset.durations[i] for i in chosen]
        batches = make_batches(durations, self.batch_seconds, max_utts=64)
        loader = DataLoader(Subset(dataset, chosen), batch_sampler=batches, collate_fn=collate)
        with tqdm(total=len(utts), desc=desc, unit="utt", disable=not self.progress) as bar:
            utt2spk = self.data.utt2spk
            for batch in loader:
                speakers = [utt2spk.get(utt) for utt in batch.utts]
                for utt, result in zip(batch.utts, self.inverter.predict(batch, speakers)):
                    if result.targets is not None:
                        atomic_save_npy(self.tv_path(utt), result.targets)
                    if result.enhanced is not None:
                        write_audio(self.wav_path(utt), result.enhanced, subtype="FLOAT")
                bar.update(len(batch))

    def normalisation(self) -> dict | None:
        """What de-normalised a per-speaker model's predictions (None: global statistics)."""
        normaliser = self.inverter.trained.normaliser
        if normaliser is None or normaliser.kind != "speaker":
            return None
        speakers = sorted(set(self.data.utt2spk.values()))
        own = [s for s in speakers if normaliser.knows(s)]
        unseen = [s for s in speakers if not normaliser.knows(s)]
        if unseen:
            log.info("%s: speakers %s are not training speakers: their predictions are relative "
                     "to the training speakers' mean origin (compare shapes, not absolute "
                     "positions)", self.out, ", ".join(unseen))
        return {"kind": "speaker", "own_statistics": own, "global_offset": unseen,
                "rule": "normalise: speaker; a training speaker's predictions get its own mean "
                        "added back; an unseen speaker's get the mean of the training speakers' "
                        "means: values relative to the training speakers' mean origin; compare "
                        "shapes (PPMC), not absolute positions (RMSE includes the offset)"}

    def finalize(self, nj: int) -> bool:
        """Write the set's tables when every job's slice is done; True when complete."""
        for job in range(1, nj + 1):
            marker = self.marker(nj, job)
            if not marker.is_file() or read_yaml(marker).get("checkpoint_id") != self.ckpt_id:
                return False
        utts = self.data.utts
        missing = [u for u in utts for p in self.outputs(u) if not p.is_file()]
        if missing:
            raise SitoolError(f"{self.out}: outputs missing for {len(missing)} utterance(s) "
                              f"(e.g. {missing[0]!r}) although every job finished; rerun with "
                              "--overwrite")
        normalisation = self.normalisation()
        if self.has_targets:
            write_table(self.out / "tv.scp", {u: self.tv_path(u).resolve() for u in utts})
            info = self.inverter.target_info
            note = "none (predictions de-normalised to the targets' units)"
            if normalisation is not None:
                note = ("none (predictions de-normalised to the targets' units; per-speaker "
                        "model: speakers unseen in training are relative to the training "
                        "speakers' mean origin, see decode.yaml)")
            TargetInfo(names=list(info.names), units=list(info.units), frame_rate=info.frame_rate,
                       descriptions=dict(info.descriptions),
                       normalisation=note).write(self.out / "targets")
        if self.has_enhanced:
            write_table(self.out / "enhanced.scp", {u: self.wav_path(u).resolve() for u in utts})
        trained = self.inverter.trained
        extra = {"normalisation": normalisation} if normalisation is not None else {}
        write_yaml(self.out / "decode.yaml", {
            "data_dir": str(self.data.path.resolve()),
            "exp": str(self.exp_dir),
            "checkpoint": self.checkpoint,
            "checkpoint_path": str(trained.checkpoint.resolve()),
            "checkpoint_epoch": trained.epoch,
            "checkpoint_id": self.ckpt_id,
            "model_type": trained.config.model.type,
            "frontend": trained.config.model.frontend,
            "num_utts": len(utts),
            "targets": self.has_targets,
            "enhanced": self.has_enhanced,
            "ssl_input": f"cache {self.cache}" if self.cache else "on the fly",
            **extra,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        })
        log.info("%s: decoded %d utterances%s", self.out, len(utts),
                 " (+ enhanced audio)" if self.has_enhanced else "")
        return True


def decode(exp_dir: str | os.PathLike, data_dirs: Sequence[str | os.PathLike], *, nj: int = 1,
           job: int | None = None, checkpoint: str = "best", overwrite: bool = False,
           device: str = "cpu", use_cache: bool = True, batch_seconds: float = 60.0,
           progress: bool = True, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
           overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
           precision: str | None = None) -> list[Path]:
    """Decode ``data_dirs`` with ``exp_dir``'s model into ``exp_dir/decode/<set>/``.

    Utterances longer than ``chunk_seconds`` (audio input) run in chunks overlapping by
    ``overlap_seconds`` (``sitool.inference``; 0: whole). ``precision``: None = the
    experiment's.
    ``job=None`` runs every job slice still missing in this process, then writes the tables;
    ``job=J`` only slice J. Returns the decode dirs.
    """
    check_job(nj, job)
    from sitool.export import decode_home

    model = exp_dir
    exp_dir = decode_home(exp_dir)        # an exported dir or a Hub id works too
    names = [Path(d).name for d in data_dirs]
    if len(set(names)) != len(names):
        raise SitoolError(f"data dirs with the same set name would share a decode dir: {names}")
    for d in data_dirs:
        data = DataDir(d)
        data.require("utt2spk", "utt2dur")
        data.check_utterances()
    inverter = load_inverter(model, checkpoint, device, batch_seconds, chunk_seconds,
                             overlap_seconds, precision=precision)
    outs = []
    jobs = range(1, nj + 1) if job is None else [job]
    for data_dir in data_dirs:
        out = decode_dir(exp_dir, data_dir)
        decoder = _SetDecoder(inverter, data_dir, out, exp_dir, checkpoint, use_cache,
                              batch_seconds, progress)
        outs.append(out)
        with output_lock(out, nj, job):       # one writer per decode dir (per job slice)
            if not overwrite and decoder.complete():
                log.info("%s: already decoded with this checkpoint; --overwrite redoes it", out)
                continue
            log.info("%s -> %s (%s, %s)", data_dir, out, inverter.model_type,
                     f"SSL from cache {decoder.cache}" if decoder.cache else "SSL on the fly")
            for j in jobs:
                decoder.run_job(nj, j, overwrite)
            if job is not None:
                log.info("%s: job %d/%d done; `sitool decode` with --nj %d and no --job writes "
                         "the tables once every job has finished", out, job, nj, nj)
            elif not decoder.finalize(nj):
                raise SitoolError(f"{out}: a job slice is unfinished after decoding every slice")
    return outs
