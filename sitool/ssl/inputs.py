"""How an SSL model reads 16 kHz audio: its input tensors and its frame grid.

Two kinds of model are supported:

* **Waveform models** (WavLM, HuBERT, wav2vec 2.0) read samples, optionally normalised per
  utterance to zero mean and unit variance, through a strided conv feature encoder.
* **Filterbank models** (w2v-BERT, transformers' ``Wav2Vec2BertModel``, e.g.
  ``facebook/w2v-bert-2.0``) read 80-bin Kaldi-style log-mel filterbanks (25 ms window, 10 ms
  shift), normalised per utterance and mel bin, with pairs of frames stacked (160 values per
  20 ms frame), computed by the model's own ``SeamlessM4TFeatureExtractor``.

Either way model frame ``i`` covers samples ``[hop * i, hop * i + field)`` (:class:`FrameGrid`):
320 and 400 for the usual conv encoder, 320 and 560 for stacked filterbanks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError

WAVEFORM_TYPES = ("wavlm", "hubert", "wav2vec2")
FILTERBANK_TYPES = ("wav2vec2-bert",)
FBANK_WINDOW, FBANK_SHIFT = 400, 160    # SeamlessM4TFeatureExtractor's fixed framing (samples)


@dataclass(frozen=True)
class FrameGrid:
    """Frame ``i`` covers samples ``[hop * i, hop * i + field)`` at 16 kHz."""

    hop: int
    field: int

    @property
    def frame_rate(self) -> float:
        return SAMPLE_RATE / self.hop

    @property
    def offset_s(self) -> float:
        """Centre of frame 0 in seconds."""
        return (self.field - 1) / 2 / SAMPLE_RATE

    def frames(self, num_samples: int) -> int:
        """Frames of an input of ``num_samples`` (0 when shorter than one frame)."""
        return 0 if num_samples < self.field else (num_samples - self.field) // self.hop + 1

    def centres_s(self, num_frames: int) -> np.ndarray:
        """Times (s) of the centres of the first ``num_frames`` frames."""
        return (np.arange(num_frames) * self.hop + self.field / 2) / SAMPLE_RATE


def is_filterbank_model(config) -> bool:
    return config.model_type in FILTERBANK_TYPES


def fbank_stride(config) -> int:
    """Filterbank frames stacked per model frame (w2v-BERT: 160 inputs = 2 x 80 mel bins)."""
    stride, rest = divmod(config.feature_projection_input_dim, 80)
    if rest or stride < 1:
        raise SitoolError(f"{config.model_type}: feature_projection_input_dim "
                          f"{config.feature_projection_input_dim} is not a multiple of 80 mel bins")
    return stride


def frame_grid(config) -> FrameGrid:
    """The frame grid of a transformers SSL config (no weights needed)."""
    if is_filterbank_model(config):
        stride = fbank_stride(config)
        return FrameGrid(hop=FBANK_SHIFT * stride,
                         field=FBANK_WINDOW + FBANK_SHIFT * (stride - 1))
    hop, field = 1, 1
    for kernel, step in zip(config.conv_kernel, config.conv_stride):
        field += (kernel - 1) * hop
        hop *= step
    return FrameGrid(hop=hop, field=field)


class WaveformInputs:
    """Samples, zero-padded, optionally normalised per utterance over its valid samples."""

    kind = "waveform"

    def __init__(self, normalize: bool):
        self.normalize = normalize

    def __call__(self, wavs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``wavs [B, S]``, ``lengths [B]`` → (``input_values [B, S]``, sample mask ``[B, S]``)."""
        steps = torch.arange(wavs.shape[1], device=wavs.device)
        mask = steps[None, :] < lengths[:, None]
        if self.normalize:
            valid = mask.to(wavs.dtype)
            count = valid.sum(1, keepdim=True).clamp(min=1)
            mean = (wavs * valid).sum(1, keepdim=True) / count
            var = (((wavs - mean) * valid) ** 2).sum(1, keepdim=True) / count
            wavs = (wavs - mean) / torch.sqrt(var + 1e-7)
        return wavs * mask, mask


class FilterbankInputs:
    """Stacked log-mel filterbanks from the model's ``SeamlessM4TFeatureExtractor``.

    Each utterance is featurised alone (its per-utterance normalisation never sees padding);
    no gradient flows into the audio (none is needed: the features have no parameters).
    """

    kind = "filterbank"

    def __init__(self, extractor, grid: FrameGrid):
        self.extractor = extractor
        self.grid = grid

    def __call__(self, wavs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``wavs [B, S]``, ``lengths [B]`` → (``input_features [B, T, 160]``, frame mask
        ``[B, T]``), ``T`` = the most frames of the batch."""
        frames = [self.grid.frames(int(n)) for n in lengths]
        if min(frames) < 1:
            raise SitoolError(f"an utterance of {int(lengths.min())} samples is shorter than one "
                              f"SSL frame ({self.grid.field} samples)")
        audio = [wavs[b, :int(n)].detach().float().cpu().numpy() for b, n in enumerate(lengths)]
        out = self.extractor(audio, sampling_rate=SAMPLE_RATE, padding=True,
                             return_attention_mask=True, return_tensors="pt")
        total = max(frames)
        features = out["input_features"][:, :total].to(wavs.device, wavs.dtype)
        mask = out["attention_mask"][:, :total].to(wavs.device).bool()
        if mask.sum(1).tolist() != frames:
            raise SitoolError(f"feature extractor {type(self.extractor).__name__}: frame counts "
                              f"{mask.sum(1).tolist()} differ from the expected {frames}")
        return features * mask[..., None], mask


def default_filterbank_extractor(config):
    """The feature extractor of ``facebook/w2v-bert-2.0`` for a model that ships none."""
    from transformers import SeamlessM4TFeatureExtractor

    return SeamlessM4TFeatureExtractor(feature_size=80, num_mel_bins=80, sampling_rate=SAMPLE_RATE,
                                       stride=fbank_stride(config), padding_value=1.0)


def model_inputs(config, extractor=None):
    """How a model of the transformers ``config`` reads audio, from its feature extractor;
    without one, what its kind ships with (w2v-BERT 2.0's filterbanks; normalised samples)."""
    if is_filterbank_model(config):
        return FilterbankInputs(extractor or default_filterbank_extractor(config),
                                frame_grid(config))
    return WaveformInputs(bool(getattr(extractor, "do_normalize", True)))
