"""The padded mini-batch every model consumes (built by ``sitool.training.data.collate``)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class Batch:
    """A padded batch; fields a model does not need are None.

    ``wav [B, S]`` input audio at 16 kHz with ``wav_lengths [B]`` samples; ``feats [L, B, T, D]``
    cached SSL hidden states with ``feat_lengths [B]`` frames; ``clean_wav [B, S]`` the clean
    reference aligned with ``wav``; ``clean_feats [B, T, D]`` the frozen SSL's hidden state of
    the clean speech (``se.target: ssl``); ``targets [B, T, n]`` normalised targets and
    ``si_frames [B]`` the number of target-rate frames to predict (and to score) per utterance;
    ``categories`` each utterance's condition category (clean, babble, non-babble) for the SE loss.
    """

    utts: list[str]
    wav: torch.Tensor | None = None
    wav_lengths: torch.Tensor | None = None
    feats: torch.Tensor | None = None
    feat_lengths: torch.Tensor | None = None
    clean_wav: torch.Tensor | None = None
    clean_feats: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    si_frames: torch.Tensor | None = None
    categories: list[str] | None = None

    def to(self, device: torch.device | str) -> "Batch":
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in moved.items():
            if isinstance(value, torch.Tensor):
                moved[name] = value.to(device, non_blocking=True)
        return Batch(**moved)

    def __len__(self) -> int:
        return len(self.utts)

    def audio_seconds(self) -> float:
        """Total (unpadded) audio in the batch, seconds; from SSL frames when only cached."""
        if self.wav_lengths is not None:
            return float(self.wav_lengths.sum()) / 16000
        if self.feat_lengths is not None:
            return float(self.feat_lengths.sum()) * 320 / 16000
        return 0.0
