"""The speech-inversion head: a bidirectional GRU stack and a linear output layer."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from sitool.models.rnn import BiRNN


class SIHead(nn.Module):
    """``[B, T, in_dim]`` features at the target frame rate → ``[B, T, n_targets]``.

    GRU layer ``k`` has ``units[k]`` units per direction (e.g. 256 → 128). Each utterance's
    output depends only on its own valid frames.
    """

    def __init__(self, in_dim: int, n_targets: int, units: Sequence[int] = (256, 128),
                 dropout: float = 0.1):
        super().__init__()
        if not units:
            raise ValueError("SI head needs at least one GRU layer")
        self.rnn = BiRNN("gru", in_dim, list(units), dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.rnn.out_dim, n_targets)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.rnn(x, lengths)))
