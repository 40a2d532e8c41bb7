"""The four models of DESIGN.md §4, assembled from one config:

* ``si``      SSL → layer aggregation → SI head (baseline; clean or multi-condition training);
              with ``frontend: fbank`` log-mel filterbanks → SI head (the conventional reference)
* ``se``      SSL → layer aggregation → SE head
* ``cascade`` a trained ``se`` model enhances the input; SSL → SI head on the enhanced audio
* ``joint``   one SSL encoder (usually fine-tuned) shared by an SI head and an SE head;
              loss L_SI + λ·L_SE

SI outputs are normalised targets (``sitool.training.normalisation`` maps them to units).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError
from sitool.models.aggregation import LayerAggregation, SingleLayer
from sitool.models.batch import Batch
from sitool.models.config import ModelConfig
from sitool.models.framerate import resample_frames
from sitool.models.fbank import FbankFrontend, fbank_geometry
from sitool.models.frontend import SSLFrontend, SSLGeometry, load_encoder
from sitool.models.losses import masked_mae, masked_mse, masked_variance, ppmc_loss, si_sdr
from sitool.models.se_head import MaskSEHead, SSLTargetSEHead
from sitool.models.si_head import SIHead
from sitool.models.spectral import STFT
from sitool.precision import full_precision

log = logging.getLogger(__name__)


@dataclass
class ModelOutput:
    """What one forward pass produced (fields of heads the model lacks are None).

    ``si [B, T, n]`` normalised targets over ``si_lengths [B]`` frames; ``mask [B, F, bins]``
    and the noisy complex spectrum ``noisy_spec`` over ``spec_lengths [B]`` STFT frames;
    ``ssl_pred [B, T, D]`` over ``ssl_lengths [B]`` SSL frames (``se.target: ssl``);
    ``enhanced [B, S]`` the cascade's enhanced input audio.
    """

    si: torch.Tensor | None = None
    si_lengths: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    noisy_spec: torch.Tensor | None = None
    spec_lengths: torch.Tensor | None = None
    ssl_pred: torch.Tensor | None = None
    ssl_lengths: torch.Tensor | None = None
    enhanced: torch.Tensor | None = None


class InversionModel(nn.Module):
    """One model of the family. Build it with :func:`build_model`."""

    def __init__(self, cfg: ModelConfig, geometry: SSLGeometry, n_targets: int,
                 target_rate: float, encoder=None, enhancer: "InversionModel | None" = None):
        super().__init__()
        self.cfg = cfg
        self.geometry = geometry
        self.n_targets = n_targets
        self.target_rate = target_rate
        if cfg.frontend == "fbank":
            self.frontend = FbankFrontend(cfg.fbank)
        else:
            self.frontend = SSLFrontend(cfg.ssl, geometry, encoder)
        n_layers, dim = len(self.frontend.layers), geometry.dim
        if cfg.has_si:
            self.si_agg = (SingleLayer() if cfg.frontend == "fbank"
                           else LayerAggregation(n_layers, dim))
            self.si_head = SIHead(dim, n_targets, cfg.si.gru_units, cfg.si.dropout)
        if cfg.has_se:
            self.se_agg = LayerAggregation(n_layers, dim)
            se = cfg.se
            if se.target == "mask":
                self.stft = STFT(se.n_fft, se.hop)
                self.se_head = MaskSEHead(dim, self.stft.bins, se.proj_dim, se.lstm_units,
                                          se.lstm_layers, se.dropout, se.stft_input)
            else:
                self.se_head = SSLTargetSEHead(dim, se.lstm_units, se.lstm_layers, se.dropout)
        self.enhancer = enhancer
        if enhancer is not None:
            enhancer.requires_grad_(False)
            enhancer.eval()

    # -- what the model produces ------------------------------------------------------------
    @property
    def enhances_audio(self) -> bool:
        """True when the model yields enhanced audio (SE mask head, or a cascade)."""
        return (self.cfg.has_se and self.cfg.se.target == "mask") or self.enhancer is not None

    def train(self, mode: bool = True):
        super().train(mode)
        if self.enhancer is not None:
            self.enhancer.eval()      # the cascade's SE stage is fixed
        return self

    # -- forward ----------------------------------------------------------------------------
    def hidden_states(self, batch: Batch, wav: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[L, B, T, D]`` hidden states and frames: cached ones if the batch has them."""
        if wav is None and batch.feats is not None:
            return batch.feats, batch.feat_lengths
        if wav is None:
            wav = batch.wav
        if wav is None:
            raise SitoolError("batch has neither audio nor cached SSL features")
        return self.frontend.from_audio(wav, batch.wav_lengths)

    def forward(self, batch: Batch) -> ModelOutput:
        out = ModelOutput()
        wav = None
        if self.enhancer is not None:
            with torch.no_grad():
                wav = self.enhancer.enhance(batch)
            out.enhanced = wav
        states, frames = self.hidden_states(batch, wav)
        with full_precision(states.device):    # only the SSL runs under autocast (precision)
            self._heads_forward(out, states.float(), frames, batch)
        return out

    def _heads_forward(self, out: ModelOutput, states: torch.Tensor, frames: torch.Tensor,
                       batch: Batch) -> None:
        if self.cfg.has_si:
            if batch.si_frames is None:
                raise SitoolError("batch lacks si_frames (frames to predict per utterance)")
            feats = resample_frames(self.si_agg(states), frames, int(batch.si_frames.max()),
                                    self.geometry.frame_rate, self.target_rate,
                                    self.geometry.offset_s)
            out.si = self.si_head(feats, batch.si_frames)
            out.si_lengths = batch.si_frames
        if self.cfg.has_se:
            feats = self.se_agg(states)
            if self.cfg.se.target == "mask":
                self._mask_forward(out, feats, frames, batch)
            else:
                out.ssl_pred = self.se_head(feats, frames)
                out.ssl_lengths = frames

    def _mask_forward(self, out: ModelOutput, feats: torch.Tensor, frames: torch.Tensor,
                      batch: Batch) -> None:
        if batch.wav is None:
            raise SitoolError("the SE mask head needs the input audio in the batch")
        spec = self.stft.complex(batch.wav, batch.wav_lengths)
        spec_lengths = self.stft.num_frames(batch.wav_lengths)
        up = resample_frames(feats, frames, spec.shape[1], self.geometry.frame_rate,
                             self.stft.frame_rate(SAMPLE_RATE), self.geometry.offset_s)
        log_mag = torch.log1p(spec.abs()) if self.cfg.se.stft_input else None
        out.mask = self.se_head(up, log_mag, spec_lengths)
        out.noisy_spec = spec
        out.spec_lengths = spec_lengths

    def enhance(self, batch: Batch, out: ModelOutput | None = None) -> torch.Tensor:
        """Enhanced audio ``[B, S]`` (zero beyond each ``wav_lengths``): mask × noisy magnitude
        with the noisy phase."""
        if not (self.cfg.has_se and self.cfg.se.target == "mask"):
            raise SitoolError(f"a {self.cfg.type!r} model with se.target "
                              f"{self.cfg.se.target!r} does not produce enhanced audio")
        if out is None or out.mask is None:
            states, frames = self.hidden_states(batch)
            out = ModelOutput()
            with full_precision(states.device):
                self._mask_forward(out, self.se_agg(states.float()), frames, batch)
        return self.stft.resynthesise(out.mask * out.noisy_spec.abs(), out.noisy_spec,
                                      batch.wav_lengths)

    # -- losses -----------------------------------------------------------------------------
    def si_loss(self, out: ModelOutput, batch: Batch) -> torch.Tensor:
        ref = batch.targets[:, :out.si.shape[1]]
        loss = masked_mae(out.si, ref, out.si_lengths)
        if self.cfg.si.ppmc_weight > 0:
            loss = loss + self.cfg.si.ppmc_weight * ppmc_loss(out.si, ref, out.si_lengths)
        return loss

    def se_loss(self, out: ModelOutput, batch: Batch) -> torch.Tensor:
        """The SE loss over the batch's utterances outside ``se.skip_categories``; zero (still
        part of the graph) when the batch has none."""
        if out.mask is not None and batch.clean_wav is None:
            raise SitoolError("the SE mask loss needs the clean reference audio in the batch")
        if out.mask is None and batch.clean_feats is None:
            raise SitoolError("the SE ssl-target loss needs the clean hidden states in the batch")
        pred = out.mask if out.mask is not None else out.ssl_pred
        kept = self._se_utterances(batch)
        if not kept:
            return pred.sum() * 0.0
        keep = torch.tensor(kept, device=pred.device)   # indices: no device-to-host sync
        if out.mask is not None:
            if self.cfg.se.loss == "si_sdr":
                enhanced = self.enhance(batch, out)
                return -si_sdr(enhanced[keep], batch.clean_wav[keep],
                               batch.wav_lengths[keep]).mean() / 10
            clean = torch.log1p(self.stft.magnitude(batch.clean_wav, batch.wav_lengths))[keep]
            est = torch.log1p(out.mask * out.noisy_spec.abs())[keep]
            lengths = out.spec_lengths[keep]
            loss = masked_mse(est, clean, lengths)
            if self.cfg.se.normalise_loss:
                loss = loss / masked_variance(clean, lengths).detach().clamp(min=1e-8)
            return loss
        frames = min(out.ssl_pred.shape[1], batch.clean_feats.shape[1])
        ref = F.layer_norm(batch.clean_feats[keep, :frames], (self.geometry.dim,))
        lengths = out.ssl_lengths[keep].clamp(max=frames)
        return masked_mae(out.ssl_pred[keep, :frames], ref, lengths)

    def _se_utterances(self, batch: Batch) -> list[int]:
        """Positions in the batch of the utterances whose condition is not in
        ``se.skip_categories``."""
        skipped = self.cfg.se.skip_categories
        if not skipped:
            return list(range(len(batch)))
        if batch.categories is None:
            raise SitoolError("model.se.skip_categories needs each utterance's category in the batch")
        return [i for i, category in enumerate(batch.categories) if category not in skipped]

    def loss(self, out: ModelOutput, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its parts (``si``, ``se``) as floats for logging."""
        parts: dict[str, torch.Tensor] = {}
        if self.cfg.has_si:
            parts["si"] = self.si_loss(out, batch)
        if self.cfg.has_se:
            parts["se"] = self.se_loss(out, batch)
        if self.cfg.type == "joint":
            total = parts["si"] + self.cfg.se.weight * parts["se"]
        else:
            total = sum(parts.values())
        return total, {k: float(v.detach()) for k, v in parts.items()}

    # -- checkpoints ------------------------------------------------------------------------
    def _frozen_prefixes(self) -> list[str]:
        prefixes = []
        if self.frontend.frozen:
            prefixes.append("frontend.encoder.")
        if self.enhancer is not None:
            prefixes += ["enhancer." + p for p in self.enhancer._frozen_prefixes()]
        return prefixes

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """The state to save: everything except frozen SSL encoders (rebuilt from ``ssl.model``)."""
        skip = tuple(self._frozen_prefixes())
        return {k: v.detach().cpu() for k, v in self.state_dict().items() if not k.startswith(skip)}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
        skip = tuple(self._frozen_prefixes())
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(skip)]
        if result.unexpected_keys or missing:
            raise SitoolError(f"{source}: does not match the model in config.yaml "
                              f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")


def build_model(cfg: ModelConfig, n_targets: int, target_rate: float, *,
                load_ssl: bool = True) -> InversionModel:
    """Build a model from its config.

    ``load_ssl=False`` skips loading the SSL weights (frozen models trained from the cache);
    attach them later with ``model.frontend.attach_encoder(load_encoder(cfg.ssl))``. A cascade
    rebuilds its SE stage from ``cfg.cascade.se_model``; its weights come with the checkpoint.
    """
    if cfg.frontend == "fbank":
        if cfg.type != "si":
            raise SitoolError(f"model.frontend fbank is for type si (got {cfg.type!r})")
        return InversionModel(cfg, fbank_geometry(cfg.fbank), n_targets, target_rate)
    geometry = SSLGeometry.from_pretrained(cfg.ssl.model)
    encoder = load_encoder(cfg.ssl) if load_ssl else None
    enhancer = None
    if cfg.type == "cascade":
        if not cfg.cascade.se_model:
            raise SitoolError("model.cascade.se_model is empty: a cascade is trained from a "
                              "trained se experiment (set model.cascade.se_exp)")
        se_cfg = cfg.cascade.se_model
        if se_cfg.type != "se" or se_cfg.se.target != "mask":
            raise SitoolError("model.cascade: the SE stage must be an 'se' model with "
                              "se.target: mask (it has to produce enhanced audio)")
        enhancer = build_model(se_cfg, n_targets=0, target_rate=target_rate, load_ssl=True)
    return InversionModel(cfg, geometry, n_targets, target_rate, encoder, enhancer)
