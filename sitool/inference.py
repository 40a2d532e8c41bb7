"""Inference API: run a trained experiment on audio (used by ``sitool invert`` and ``decode``).

    from sitool.inference import load_inverter
    inverter = load_inverter("exp/train_joint")           # best checkpoint, CPU
    inverter = load_inverter("exported/joint")            # or a `sitool export` dir / Hub id
    result = inverter.invert(audio)                        # 16 kHz mono float32 [samples]
    result.targets        # [frames, n] in the targets' units, frame j at t = j / frame_rate
    result.enhanced       # [samples] enhanced audio (models with an SE stage), else None
    inverter.target_info  # TargetInfo: names, units, frame_rate (None for an SE-only model)

A model trained with ``data.normalise: speaker`` predicts speaker-centred targets; they are
de-normalised with the statistics of ``speaker`` (``load_inverter(..., speaker="s1")``, a
training speaker), or of each utterance's speaker when :meth:`Inverter.predict` is given
them and the model knows them, else with the global offset (the mean of the training
speakers' means): values relative to the training speakers' mean origin.

A prediction does not depend on which other utterances share its batch (up to float
rounding): the SSL runs per utterance and the recurrent heads use packed sequences.

Audio longer than ``chunk_seconds`` (default 20 s) runs as overlapping chunks of that length
joined by a cross-fade (``sitool.chunking``), so memory stays bounded whatever the length;
``chunk_seconds=0`` runs every recording whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from tqdm import tqdm

from sitool.audio import MIN_SSL_SAMPLES, SAMPLE_RATE
from sitool.chunking import ChunkPlan, Stitcher, check_chunking, chunk_alignment, plan_chunks
from sitool.datadir import TargetInfo
from sitool.errors import SitoolError
from sitool.models.batch import Batch
from sitool.models.framerate import frames_for_samples
from sitool.precision import allow_tf32, autocast, resolve_precision
from sitool.training.batching import make_batches
from sitool.training.data import collate
from sitool.training.experiment import TrainedModel

DEFAULT_CHUNK_SECONDS = 20.0
DEFAULT_OVERLAP_SECONDS = 4.0


@dataclass
class InversionResult:
    """``targets [frames, n]`` float32 in units (None for an SE-only model); ``enhanced
    [samples]`` float32 16 kHz (None when the model has no SE stage)."""

    targets: np.ndarray | None
    enhanced: np.ndarray | None


class Inverter:
    """A trained model ready to run on audio. Build it with :func:`load_inverter`."""

    def __init__(self, trained: TrainedModel, device: str | torch.device = "cpu",
                 batch_seconds: float = 60.0, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                 overlap_seconds: float = DEFAULT_OVERLAP_SECONDS, progress: bool = False,
                 precision: str | None = None, speaker: str | None = None):
        self.trained = trained
        self.speaker = check_speaker(trained, speaker)
        self.model = trained.model.eval()
        self.device = torch.device(device)
        self.batch_seconds = batch_seconds
        self.window = int(round(chunk_seconds * SAMPLE_RATE))
        self.overlap = int(round(overlap_seconds * SAMPLE_RATE))
        stride = int(round(SAMPLE_RATE / self.model.geometry.frame_rate))
        info = self.target_info
        self.align = chunk_alignment(info.frame_rate if info else None, stride)
        check_chunking(self.window, self.overlap, self.align)
        self.progress = progress
        self.precision = resolve_precision(precision or trained.config.precision, self.device)
        allow_tf32(self.device)
        if self.precision != "fp32" and self.device.type == "cpu":
            # the CPU fast path of sitool.ssl.extract: SSL weights stored in 16 bit once
            # (inference only: this model is never trained or saved again)
            from sitool.models.frontend import SSLFrontend
            from sitool.ssl.extract import cast_weights_for_autocast

            for module in self.model.modules():     # the model's SSL (and a cascade's SE stage's)
                if isinstance(module, SSLFrontend) and module.encoder is not None:
                    cast_weights_for_autocast(module.encoder, self.precision)

    @property
    def target_info(self) -> TargetInfo | None:
        """Names, units and frame rate of ``InversionResult.targets`` (None: SE-only model)."""
        return self.trained.normaliser.info if self.trained.normaliser else None

    @property
    def has_se(self) -> bool:
        """True when results carry enhanced audio (SE mask head or cascade)."""
        return self.model.enhances_audio

    @property
    def model_type(self) -> str:
        return self.trained.config.model.type

    # -- running ----------------------------------------------------------------------------
    def predict(self, batch: Batch,
                speakers: Sequence[str | None] | None = None) -> list[InversionResult]:
        """Results for a collated batch (audio and/or cached SSL features); utterances longer
        than the chunk window (audio input) run in chunks. ``speakers`` (one per utterance)
        choose the de-normalisation of a per-speaker model (default: ``self.speaker``)."""
        speakers = list(speakers) if speakers is not None else [self.speaker] * len(batch)
        long = []
        if batch.feats is None and batch.wav is not None and self.window > 0:
            long = [b for b, n in enumerate(batch.wav_lengths.tolist()) if n > self.window]
        if not long:
            return self._predict(batch, speakers)
        results: list[InversionResult | None] = [None] * len(batch)
        short = [b for b in range(len(batch)) if b not in long]
        if short:
            items = [self._item(batch.wav[b, :int(batch.wav_lengths[b])].cpu().numpy(), b)
                     for b in short]
            short_speakers = [speakers[b] for b in short]
            for b, result in zip(short, self._predict(collate(items), short_speakers)):
                results[b] = result
        for b in long:
            n = int(batch.wav_lengths[b])
            results[b] = self._predict_chunked(batch.wav[b, :n].cpu().numpy(), batch.utts[b],
                                               speakers[b])
        return results

    def _predict_chunked(self, audio: np.ndarray, name: str,
                         speaker: str | None = None) -> InversionResult:
        """One long recording in overlapping chunks, joined by the cross-fade."""
        plan: ChunkPlan = plan_chunks(len(audio), self.window, self.overlap, self.align)
        info = self.target_info
        targets = (Stitcher(plan, info.frame_rate, frames_for_samples(len(audio), info.frame_rate))
                   if info is not None else None)
        enhanced = Stitcher(plan) if self.has_se else None
        per_batch = max(1, int(self.batch_seconds * SAMPLE_RATE // (self.window + self.align)))
        with tqdm(total=len(plan), desc=f"{name} ({len(audio) / SAMPLE_RATE / 60:.1f} min)",
                  unit="chunk", disable=not self.progress, leave=False) as bar:
            for first in range(0, len(plan), per_batch):
                indices = range(first, min(len(plan), first + per_batch))
                items = [self._item(audio[plan.starts[k]:plan.ends[k]], k) for k in indices]
                for k, result in zip(indices, self._predict(collate(items),
                                                            [speaker] * len(indices))):
                    if targets is not None:
                        targets.add(k, result.targets)
                    if enhanced is not None:
                        enhanced.add(k, result.enhanced)
                bar.update(len(indices))
        return InversionResult(targets.result() if targets is not None else None,
                               enhanced.result() if enhanced is not None else None)

    @torch.inference_mode()
    def _predict(self, batch: Batch, speakers: Sequence[str | None]) -> list[InversionResult]:
        batch = batch.to(self.device)
        with autocast(self.precision, self.device):
            out = self.model(batch)
        targets: list[np.ndarray | None] = [None] * len(batch)
        if out.si is not None:
            si = out.si.float().cpu().numpy()
            normaliser = self.trained.normaliser
            targets = [normaliser.denormalise(si[b, :n], speakers[b]) for b, n in
                       enumerate(out.si_lengths.tolist())]
        enhanced: list[np.ndarray | None] = [None] * len(batch)
        if self.has_se:
            wav = out.enhanced if out.enhanced is not None else self.model.enhance(batch, out)
            wav = wav.float().cpu().numpy()
            enhanced = [wav[b, :n].copy() for b, n in enumerate(batch.wav_lengths.tolist())]
        return [InversionResult(t, e) for t, e in zip(targets, enhanced)]

    def _item(self, audio: np.ndarray, index: int) -> dict:
        audio = np.asarray(audio)
        if audio.ndim != 1:
            raise SitoolError(f"audio #{index}: expected mono [samples], got shape {audio.shape}")
        if audio.size < MIN_SSL_SAMPLES:
            raise SitoolError(f"audio #{index}: {audio.size} samples; at least {MIN_SSL_SAMPLES} "
                              "(25 ms at 16 kHz) are needed")
        if not np.all(np.isfinite(audio)):
            raise SitoolError(f"audio #{index}: contains NaN or Inf samples")
        item = {"utt": str(index), "wav": audio.astype(np.float32, copy=False)}
        if self.target_info is not None:
            item["si_frames"] = frames_for_samples(audio.size, self.target_info.frame_rate)
        return item

    def invert_batch(self, audios: Sequence[np.ndarray],
                     names: Sequence[str] | None = None) -> list[InversionResult]:
        """Invert several recordings (16 kHz mono float32), batched by length; input order kept.
        ``names`` label the progress of long recordings (default: their index)."""
        items = [self._item(a, i) for i, a in enumerate(audios)]
        for item, name in zip(items, names or []):
            item["utt"] = str(name)
        results: list[InversionResult | None] = [None] * len(items)
        seconds = [len(it["wav"]) / 16000 for it in items]
        for group in make_batches(seconds, self.batch_seconds, max_utts=64):
            for i, result in zip(group, self.predict(collate([items[i] for i in group]))):
                results[i] = result
        return results

    def invert(self, audio: np.ndarray) -> InversionResult:
        """Invert one recording: 16 kHz mono float32 ``[samples]``."""
        return self.invert_batch([audio])[0]


def check_speaker(trained: TrainedModel, speaker: str | None) -> str | None:
    """``speaker`` when ``trained`` has per-speaker statistics for it; one-line error otherwise."""
    if speaker is None:
        return None
    normaliser = trained.normaliser
    if normaliser is None:
        raise SitoolError(f"--speaker {speaker}: {trained.checkpoint} has no SI head (SE only); "
                          "drop --speaker")
    if normaliser.kind != "speaker":
        raise SitoolError(f"--speaker {speaker}: {trained.checkpoint} was trained with "
                          f"data.normalise: {normaliser.kind} (no per-speaker statistics); "
                          "drop --speaker")
    if speaker not in normaliser.speaker_means:
        raise SitoolError(f"--speaker {speaker}: not a training speaker of {trained.checkpoint}; "
                          f"known speakers: {', '.join(sorted(normaliser.speaker_means))} (or "
                          "drop --speaker: values relative to their mean origin)")
    return speaker


def load_inverter(exp_dir: str | os.PathLike, checkpoint: str = "best",
                  device: str | torch.device = "cpu", batch_seconds: float = 60.0,
                  chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                  overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
                  progress: bool = False, precision: str | None = None,
                  speaker: str | None = None) -> Inverter:
    """Load ``exp_dir``'s ``best`` or ``last`` checkpoint (or a checkpoint file) for inference.

    Audio longer than ``chunk_seconds`` runs in chunks overlapping by ``overlap_seconds``
    (``chunk_seconds=0``: whole); ``progress`` shows a bar over the chunks of such audio.
    ``precision`` (auto, fp32, bf16, fp16; None: the experiment's ``precision``) sets the
    SSL's autocast (``sitool.precision``); on CPU, bf16 also stores the SSL weights in bf16.
    ``speaker``: a training speaker of a ``data.normalise: speaker`` model whose statistics
    de-normalise every output (None: the global offset; see the module doc).

    ``exp_dir`` may also be a dir written by ``sitool export`` or the Hub id of one."""
    from sitool.export import load_model_source

    trained = load_model_source(exp_dir, checkpoint, device)
    return Inverter(trained, device, batch_seconds, chunk_seconds, overlap_seconds, progress,
                    precision, speaker)
