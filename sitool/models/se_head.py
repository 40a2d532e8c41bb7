"""Speech-enhancement heads: a spectral mask (``target: mask``) or a predictor of the clean
speech's SSL hidden states (``target: ssl``)."""

from __future__ import annotations

import torch
from torch import nn

from sitool.models.rnn import BiRNN


class MaskSEHead(nn.Module):
    """[SSL features ⊕ log1p|STFT(noisy)|] per STFT frame → linear → BLSTM stack → sigmoid mask;
    with ``stft_input=False`` the SSL features alone.

    Input ``feats [B, F, ssl_dim]`` (SSL frames already resampled to the STFT frames) and
    ``log_mag [B, F, bins]`` (``None`` without ``stft_input``); output ``mask [B, F, bins]``
    in (0, 1).
    """

    def __init__(self, ssl_dim: int, bins: int, proj_dim: int = 256, lstm_units: int = 256,
                 lstm_layers: int = 2, dropout: float = 0.1, stft_input: bool = True):
        super().__init__()
        self.stft_input = stft_input
        self.proj = nn.Linear(ssl_dim + (bins if stft_input else 0), proj_dim)
        self.lstm = BiRNN("lstm", proj_dim, [lstm_units] * lstm_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.lstm.out_dim, bins)

    def forward(self, feats: torch.Tensor, log_mag: torch.Tensor | None,
                lengths: torch.Tensor) -> torch.Tensor:
        if self.stft_input != (log_mag is not None):
            raise ValueError(f"this mask head {'needs' if self.stft_input else 'takes no'} "
                             f"log1p|STFT(noisy)| input")
        x = torch.relu(self.proj(feats if log_mag is None else torch.cat([feats, log_mag], dim=-1)))
        x = self.lstm(x, lengths)
        return torch.sigmoid(self.out(self.dropout(x)))


class SSLTargetSEHead(nn.Module):
    """SSL features ``[B, T, dim]`` → BLSTM stack → linear → ``[B, T, dim]``: an estimate of the
    (layer-normalised) hidden state that the frozen SSL gives for the clean speech."""

    def __init__(self, ssl_dim: int, lstm_units: int = 256, lstm_layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.lstm = BiRNN("lstm", ssl_dim, [lstm_units] * lstm_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.lstm.out_dim, ssl_dim)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.lstm(feats, lengths)))
