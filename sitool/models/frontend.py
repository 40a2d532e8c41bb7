"""The SSL front end of every model: hidden states from the stage-3 cache or from the encoder.

``SSLGeometry`` describes the SSL model without loading its weights (read from its
``config.json``), so a model trained from the cache knows its layers, width and frame timing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from sitool.errors import SitoolError
from sitool.models.config import SSLConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SSLGeometry:
    """Shape and timing of an SSL model's hidden states.

    ``num_layers`` counts layer 0 (the CNN projection); ``frame_rate`` in Hz; SSL frame ``i`` is
    centred at ``i / frame_rate + offset_s`` seconds.
    """

    num_layers: int
    dim: int
    frame_rate: float
    offset_s: float

    @classmethod
    def from_hf_config(cls, config) -> "SSLGeometry":
        from sitool.ssl.inputs import frame_grid

        grid = frame_grid(config)
        return cls(num_layers=config.num_hidden_layers + 1, dim=config.hidden_size,
                   frame_rate=grid.frame_rate, offset_s=grid.offset_s)

    @classmethod
    def from_pretrained(cls, name_or_path: str) -> "SSLGeometry":
        from sitool.ssl.encoder import load_ssl_config

        return cls.from_hf_config(load_ssl_config(name_or_path))


def resolve_layers(layers: list[int] | None, num_layers: int, what: str = "ssl.layers") -> list[int]:
    """Absolute layer indices (None = all; negative counts from the top)."""
    if layers is None:
        return list(range(num_layers))
    out = []
    for i in layers:
        j = i + num_layers if i < 0 else i
        if not 0 <= j < num_layers:
            raise SitoolError(f"{what}: layer {i} out of range for an SSL model with "
                              f"{num_layers} hidden states (0..{num_layers - 1})")
        out.append(j)
    if len(set(out)) != len(out):
        raise SitoolError(f"{what}: duplicate layers in {layers}")
    return out


def load_encoder(cfg: SSLConfig, pretrained: bool = True):
    """Load the SSL encoder with the config's freeze mode, SpecAugment and gradient
    checkpointing settings (:func:`configure_encoder`; ``pretrained=False``: the architecture
    only, for weights loaded afterwards)."""
    from sitool.ssl.encoder import load_ssl_encoder

    return configure_encoder(load_ssl_encoder(cfg.model, freeze=cfg.freeze, pretrained=pretrained),
                             cfg)
def configure_encoder(encoder, cfg: SSLConfig):
    """Apply ``cfg``'s training settings to a loaded encoder (in place; returns it).

    LayerDrop is switched off: transformers then omits the skipped layers' hidden states, which
    would shift the layers the aggregation weights refer to. ``gradient_checkpointing``
    recomputes each transformer layer in the backward pass (a fine-tuned encoder's activation
    memory drops from one set per layer to about one layer's, at the cost of a second
    forward pass of the encoder during the backward pass)."""
    encoder.set_freeze(cfg.freeze)
    if cfg.frozen_layers:
        freeze_lowest_layers(encoder, cfg.frozen_layers, cfg.freeze)
    hf_config = encoder.model.config
    hf_config.layerdrop = 0.0
    hf_config.apply_spec_augment = cfg.spec_augment
    if cfg.gradient_checkpointing:
        if cfg.freeze == "all":
            log.info("ssl.gradient_checkpointing: the encoder is frozen (nothing to recompute)")
        else:
            model = encoder.model
            if hasattr(model, "activation_checkpointing_enable"):   # transformers >= 5.2x
                model.activation_checkpointing_enable({"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(
                    gradient_checkpointing_kwargs={"use_reentrant": False})
    masked = getattr(encoder.model, "masked_spec_embed", None)
    if masked is not None and not cfg.spec_augment:
        masked.requires_grad = False   # unused without SpecAugment; keeps DDP's bookkeeping exact
    return encoder


def freeze_lowest_layers(encoder, count: int, freeze: str) -> None:
    """Keep the lowest ``count`` transformer (Conformer) layers of a fine-tuned encoder fixed,
    so that fine-tuning moves only the layers above them (``ssl.frozen_layers``)."""
    layers = encoder.model.encoder.layers
    if not 0 <= count <= len(layers):
        raise SitoolError(f"ssl.frozen_layers: {count} is not in 0..{len(layers)} (the "
                          f"transformer layers of {encoder.name})")
    if freeze == "all":
        log.info("ssl.frozen_layers: the encoder is frozen anyway (ssl.freeze: all)")
        return
    for layer in list(layers)[:count]:
        for p in layer.parameters():
            p.requires_grad = False


class SSLFrontend(nn.Module):
    """Hidden states ``[L, B, T, D]`` of the configured layers, with valid frames ``[B]``.

    ``encoder`` may be None for a frozen model trained from the cache; it is then needed only
    to run on audio. A frozen encoder, and any encoder in eval mode, runs through
    ``sitool.ssl.extract.extract_hidden_states`` (the code that fills the cache): each
    utterance's result is independent of the other utterances in its batch and equals the
    cached states up to the cache's fp16 rounding. A fine-tuned encoder in training runs as
    one padded batch with gradients.
    """

    def __init__(self, cfg: SSLConfig, geometry: SSLGeometry, encoder=None):
        super().__init__()
        self.cfg = cfg
        self.geometry = geometry
        self.layers = resolve_layers(cfg.layers, geometry.num_layers)
        self.encoder = encoder

    @property
    def frozen(self) -> bool:
        return self.cfg.freeze == "all"

    def attach_encoder(self, encoder) -> None:
        self.encoder = encoder

    def from_audio(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``wav [B, S]`` (16 kHz, zero-padded), ``lengths [B]`` samples → (states, frames)."""
        if self.encoder is None:
            raise SitoolError(f"SSL model {self.cfg.model}: not loaded (model built for cache input)")
        if self.training and not self.frozen:
            states, frames = self.encoder(wav, lengths, self.layers)
            return torch.stack(states), frames
        from sitool.ssl.extract import extract_hidden_states

        wavs = [wav[b, :int(lengths[b])].detach().cpu().numpy() for b in range(len(wav))]
        per_utt = extract_hidden_states(self.encoder, wavs, self.layers)
        frames = torch.tensor([s.shape[1] for s in per_utt], device=wav.device)
        stacked = wav.new_zeros(len(self.layers), wav.shape[0], int(frames.max()), self.geometry.dim)
        for b, states in enumerate(per_utt):
            stacked[:, b, :states.shape[1]] = states.to(wav.device)
        return stacked, frames
