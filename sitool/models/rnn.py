"""Bidirectional recurrent layers on padded batches, exact per utterance.

``nn.GRU``/``nn.LSTM`` with packed sequences are exact but, on CPU, their backward pass
zero-fills a gradient of the whole packed input at every time step (cost grows with T²).
Here each direction is a unidirectional RNN on a plain padded tensor: the forward direction
reads the padding only after an utterance's last frame, and the backward direction reads each
utterance reversed *within its length* (padding still at the end). Valid outputs therefore
equal those of a packed bidirectional RNN, and the cost stays linear in T.
"""

from __future__ import annotations

import torch
from torch import nn


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each ``x[b, :lengths[b]]`` in time (``x [B, T, D]``); padding stays in place."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return torch.gather(x, 1, index[..., None].expand(-1, -1, x.shape[2]))


class BiRNNLayer(nn.Module):
    """One bidirectional GRU or LSTM layer: ``[B, T, in_dim]`` → ``[B, T, 2 * units]``
    (forward ⊕ backward direction); outputs beyond each length are zero."""

    def __init__(self, kind: str, in_dim: int, units: int):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[kind]
        self.forward_rnn = rnn(in_dim, units, batch_first=True)
        self.backward_rnn = rnn(in_dim, units, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ahead, _ = self.forward_rnn(x)
        behind, _ = self.backward_rnn(reverse_padded(x, lengths))
        out = torch.cat([ahead, reverse_padded(behind, lengths)], dim=-1)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        return out * valid[..., None].to(out.dtype)


class BiRNN(nn.Module):
    """A stack of :class:`BiRNNLayer` with dropout between layers; ``units[k]`` per direction."""

    def __init__(self, kind: str, in_dim: int, units: list[int] | tuple[int, ...],
                 dropout: float = 0.0):
        super().__init__()
        dims = [in_dim] + [2 * u for u in units]
        self.layers = nn.ModuleList(BiRNNLayer(kind, dims[i], u) for i, u in enumerate(units))
        self.dropout = nn.Dropout(dropout)
        self.out_dim = dims[-1]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.dropout(x)
            x = layer(x, lengths)
        return x
