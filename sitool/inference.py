"""Inference API: run a trained experiment on audio (used by ``sitool invert`` and ``decode``).

    from sitool.inference import load_inverter
    inverter = load_inverter("exp/train_joint")           # best checkpoint, CPU
    inverter = load_inverter("exported/joint")            # or a `sitool export` dir / Hub id
    result = inverter.invert(audio)                        # 16 kHz mono float32 [samples]
    result.targets        # [frames, n] in the targets' units, frame j at t = j / frame_rate
    result.enhanced       # [samples] enhanced audio (models with an SE stage), else None
    inverter.target_info  # TargetInfo: names, units, frame_rate (None for an SE-only model)

A prediction does not depend on which other utterances share its batch (up to float
rounding): the SSL runs per utterance and the recurrent heads use packed sequences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from sitool.audio import MIN_SSL_SAMPLES
from sitool.datadir import TargetInfo
from sitool.errors import SitoolError
from sitool.models.batch import Batch
from sitool.models.framerate import frames_for_samples
from sitool.training.batching import make_batches
from sitool.training.data import collate
from sitool.training.experiment import TrainedModel



@dataclass
class InversionResult:
    """``targets [frames, n]`` float32 in units (None for an SE-only model); ``enhanced
    [samples]`` float32 16 kHz (None when the model has no SE stage)."""

    targets: np.ndarray | None
    enhanced: np.ndarray | None


class Inverter:
    """A trained model ready to run on audio. Build it with :func:`load_inverter`."""

    def __init__(self, trained: TrainedModel, device: str | torch.device = "cpu",
                 batch_seconds: float = 60.0):
        self.trained = trained
        self.model = trained.model.eval()
        self.device = torch.device(device)
        self.batch_seconds = batch_seconds

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
    @torch.inference_mode()
    def predict(self, batch: Batch) -> list[InversionResult]:
        """Results for a collated batch (audio and/or cached SSL features)."""
        batch = batch.to(self.device)
        out = self.model(batch)
        targets: list[np.ndarray | None] = [None] * len(batch)
        if out.si is not None:
            si = out.si.float().cpu().numpy()
            normaliser = self.trained.normaliser
            targets = [normaliser.denormalise(si[b, :n]) for b, n in
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

    def invert_batch(self, audios: Sequence[np.ndarray]) -> list[InversionResult]:
        """Invert several recordings (16 kHz mono float32), batched by length; input order kept."""
        items = [self._item(a, i) for i, a in enumerate(audios)]
        results: list[InversionResult | None] = [None] * len(items)
        seconds = [len(it["wav"]) / 16000 for it in items]
        for group in make_batches(seconds, self.batch_seconds, max_utts=64):
            for i, result in zip(group, self.predict(collate([items[i] for i in group]))):
                results[i] = result
        return results

    def invert(self, audio: np.ndarray) -> InversionResult:
        """Invert one recording: 16 kHz mono float32 ``[samples]``."""
        return self.invert_batch([audio])[0]


def load_inverter(exp_dir: str | os.PathLike, checkpoint: str = "best",
                  device: str | torch.device = "cpu", batch_seconds: float = 60.0) -> Inverter:
    """Load ``exp_dir``'s ``best`` or ``last`` checkpoint (or a checkpoint file) for inference.

    ``exp_dir`` may also be a dir written by ``sitool export`` or the Hub id of one."""
    from sitool.export import load_model_source

    trained = load_model_source(exp_dir, checkpoint, device)
    return Inverter(trained, device, batch_seconds)
