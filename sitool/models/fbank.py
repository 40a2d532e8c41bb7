"""The log-mel filterbank front end (``model.frontend: fbank``): the conventional-feature
reference that every SSL model must beat (as SUPERB reports FBANK).

Features are computed from the audio on the fly (noisy sets are materialised from their
``mix.tsv``), per utterance, so an utterance's features do not depend on its batch: a centred
Hann-windowed STFT (frame ``k`` at ``k * hop`` samples, the target grid at 100 Hz for the
default 10 ms hop), power spectrum, triangular HTK-mel filters, ``log(power + floor)`` and, by
default, per-utterance mean and variance normalisation of each band.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sitool.audio import SAMPLE_RATE
from sitool.models.config import FbankConfig
from sitool.models.frontend import SSLGeometry
from sitool.models.spectral import STFT


def fbank_geometry(cfg: FbankConfig) -> SSLGeometry:
    """One "layer" of ``n_mels`` features at ``16000 / hop`` Hz, frame ``k`` centred at ``k / rate``."""
    return SSLGeometry(num_layers=1, dim=cfg.n_mels, frame_rate=SAMPLE_RATE / cfg.hop, offset_s=0.0)


def mel_filters(cfg: FbankConfig) -> torch.Tensor:
    """``[n_fft // 2 + 1, n_mels]`` triangular filters on the HTK mel scale."""
    import torchaudio.functional as AF

    return AF.melscale_fbanks(cfg.n_fft // 2 + 1, cfg.f_min, cfg.f_max, cfg.n_mels, SAMPLE_RATE,
                              norm=None, mel_scale="htk")


def normalise_utterances(feats: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Each utterance's bands to zero mean and unit variance over its ``frames`` valid frames
    (``feats [B, T, D]``); padding frames become zero."""
    valid = (torch.arange(feats.shape[1], device=feats.device)[None, :]
             < frames.to(feats.device)[:, None]).to(feats.dtype)[..., None]
    count = valid.sum(1, keepdim=True).clamp(min=1)
    mean = (feats * valid).sum(1, keepdim=True) / count
    var = (((feats - mean) * valid) ** 2).sum(1, keepdim=True) / count
    return (feats - mean) / torch.sqrt(var + 1e-5) * valid


class FbankFrontend(nn.Module):
    """Log-mel features ``[1, B, T, n_mels]`` (one "layer") with valid frames ``[B]``.

    Same interface as :class:`sitool.models.frontend.SSLFrontend` where models use it
    (``geometry``, ``layers``, ``frozen``, ``from_audio``); it has no trainable parameters and
    nothing to load."""

    def __init__(self, cfg: FbankConfig):
        super().__init__()
        self.cfg = cfg
        self.geometry = fbank_geometry(cfg)
        self.layers = [0]
        self.stft = STFT(cfg.n_fft, cfg.hop)
        self.register_buffer("filters", mel_filters(cfg), persistent=False)

    @property
    def frozen(self) -> bool:
        return True

    def describe(self) -> str:
        c = self.cfg
        return (f"log-mel fbank ({c.n_mels} bands, {c.n_fft / 16:g}/{c.hop / 16:g} ms, "
                f"normalise {c.normalise})")

    def from_audio(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``wav [B, S]`` (16 kHz, zero-padded), ``lengths [B]`` samples → (features, frames)."""
        frames = self.stft.num_frames(lengths).to(wav.device)
        power = self.stft.magnitude(wav.float(), lengths).pow(2)
        feats = torch.log(power @ self.filters.to(power.device) + self.cfg.log_floor)
        if self.cfg.normalise == "utterance":
            feats = normalise_utterances(feats, frames)
        else:
            valid = torch.arange(feats.shape[1], device=feats.device)[None, :] < frames[:, None]
            feats = feats * valid[..., None].to(feats.dtype)
        return feats[None].to(wav.dtype), frames

    @torch.no_grad()
    def features(self, wav: np.ndarray) -> np.ndarray:
        """One utterance's features ``[frames, n_mels]`` (float32) from 16 kHz mono audio."""
        x = torch.as_tensor(np.asarray(wav, dtype=np.float32))[None]
        feats, frames = self.from_audio(x, torch.tensor([x.shape[1]]))
        return feats[0, 0, :int(frames[0])].numpy()
