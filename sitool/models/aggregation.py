"""Layer aggregation: a learned softmax-weighted sum of layer-normalised SSL hidden states."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerAggregation(nn.Module):
    """Combine ``num_layers`` hidden states ``[L, B, T, D]`` into one ``[B, T, D]``.

    Each layer is normalised with a parameter-free LayerNorm over D (so layers of different
    scales compete fairly), then the layers are summed with weights ``softmax(w)``; ``w`` starts
    at zero (equal weights). Each head owns one instance.
    """

    def __init__(self, num_layers: int, dim: int):
        super().__init__()
        self.num_layers = num_layers
        self.dim = dim
        self.logits = nn.Parameter(torch.zeros(num_layers))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if states.shape[0] != self.num_layers or states.shape[-1] != self.dim:
            raise ValueError(f"expected [{self.num_layers}, B, T, {self.dim}] hidden states, "
                             f"got {list(states.shape)}")
        normed = F.layer_norm(states, (self.dim,))
        weights = torch.softmax(self.logits, dim=0).to(normed.dtype)
        return torch.einsum("l,lbtd->btd", weights, normed)

    def layer_weights(self) -> list[float]:
        """The current softmax weights, one per layer (for logging)."""
        return torch.softmax(self.logits.detach(), dim=0).tolist()


class SingleLayer(nn.Module):
    """The aggregation of a front end with one feature stream (``frontend: fbank``):
    ``[1, B, T, D]`` → ``[B, T, D]`` unchanged (the features are normalised already)."""

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if states.shape[0] != 1:
            raise ValueError(f"expected [1, B, T, D] features, got {list(states.shape)}")
        return states[0]

    def layer_weights(self) -> list[float]:
        return [1.0]
