"""The ``model:`` section of a training config (see ``conf/train_*.yaml``).

Every hyper-parameter of the model family is named here with its default; the YAML files and
``key=value`` overrides fill it through ``sitool.config`` (unknown keys are errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sitool.config import in_domain

MODEL_TYPES = ("si", "se", "cascade", "joint")
FRONTENDS = ("ssl", "fbank")


@dataclass
class SSLConfig:
    """The SSL encoder."""

    model: str = "exp/ssl_tiny"          # HF id or local dir (save_pretrained format)
    freeze: Literal["all", "cnn", "none"] = "all"   # all: frozen; cnn: fine-tune the transformer
    frozen_layers: int = in_domain(">=0", 0)  # fine-tuning: also keep the lowest N transformer layers fixed
    layers: list[int] | None = None      # hidden states to aggregate (0 = CNN projection); None = all
    cache: str | None = None             # frozen SSL only: cache root, dump/ssl/<model_tag> (holds <set>/)
    spec_augment: bool = False           # HF time masking while fine-tuning (apply_spec_augment)
    gradient_checkpointing: bool = False  # fine-tuning: recompute each transformer layer in the
                                         # backward pass instead of keeping its activations
    # (HF LayerDrop is always off: a skipped layer would be missing from the hidden states.)


@dataclass
class FbankConfig:
    """``frontend: fbank``: log-mel filterbanks computed from the audio on the fly (the
    conventional-feature reference; no SSL)."""

    n_mels: int = in_domain(">=1", 40)   # mel bands (HTK mel scale, triangular filters)
    n_fft: int = in_domain(">=1", 400)   # window: 25 ms at 16 kHz (Hann, centred frames)
    hop: int = in_domain(">=1", 160)     # 10 ms: frame k is centred at k * hop samples
    f_min: float = in_domain(">=0", 20.0)  # Hz
    f_max: float = in_domain(">0", 8000.0)  # Hz
    log_floor: float = in_domain(">0", 1.0e-6)  # log(mel power + floor)
    normalise: Literal["utterance", "none"] = "utterance"   # utterance: each band to zero
                                         # mean, unit variance over the utterance's frames


@dataclass
class SIConfig:
    """The speech-inversion head: BiGRU stack -> linear -> targets, at the target frame rate."""

    gru_units: list[int] = in_domain(">=1", default_factory=lambda: [256, 128])  # units per direction, per layer
    dropout: float = in_domain("[0, 1)", 0.1)  # between GRU layers and before the output layer
    ppmc_weight: float = in_domain(">=0", 0.0)  # loss = MAE + ppmc_weight * (1 - PPMC); 0 = MAE only


@dataclass
class SEConfig:
    """The speech-enhancement head."""

    target: Literal["mask", "ssl"] = "mask"   # mask: spectral mask, loss to log1p|STFT(clean)|;
                                              # ssl: predict the frozen SSL's clean hidden states
    loss: Literal["log_mag", "si_sdr"] = "log_mag"  # target mask: MSE of log1p magnitudes, or
                                         # the negative SI-SDR of the resynthesised audio
                                         # (dB / 10, so 1 unit = 10 dB)
    n_fft: int = in_domain(">=1", 400)   # STFT size (25 ms at 16 kHz)
    hop: int = in_domain(">=1", 160)     # STFT hop (10 ms: 100 frames/s)
    stft_input: bool = True              # target mask: the head also reads log1p|STFT(noisy)|,
                                         # a path around the encoder; false: it reads the
                                         # shared SSL features only, so whatever the mask needs
                                         # must come through the encoder
    proj_dim: int = in_domain(">=1", 256)  # linear layer after [SSL ⊕ log1p|STFT(noisy)|]
    lstm_units: int = in_domain(">=1", 256)  # BLSTM units per direction
    lstm_layers: int = in_domain(">=1", 2)
    dropout: float = in_domain("[0, 1)", 0.1)
    weight: float = in_domain(">=0", 1.0)  # λ in the joint loss L_SI + λ·L_SE
    normalise_loss: bool = True          # target mask: divide the loss by the variance of the
                                         # clean log-magnitudes in the batch (the fraction of
                                         # variance unexplained), which puts L_SE on the scale
                                         # of L_SI on normalised targets, so λ = 1 weighs them
                                         # alike (unnormalised, L_SE is ~50x smaller here)
    skip_categories: list[str] = field(default_factory=list)  # conditions whose utterances
                                         # train SI only, no SE loss: any of clean, babble,
                                         # non-babble (the mix.tsv category; clean = no mix row)
    ssl_target_layer: int = -1           # target: ssl — which hidden state of the clean speech
    ssl_target_cache: list[str] = field(default_factory=list)  # target: ssl — cache dirs
                                         # (dump/ssl/<tag>/<clean set>) holding the clean utterances


@dataclass
class CascadeConfig:
    """``cascade``: a trained SE experiment enhances the input, the SI model reads the result."""

    se_exp: str | None = None            # exp dir of a trained `se` model (e.g. exp/train_se)
    se_checkpoint: Literal["best", "last"] = "best"
    se_model: ModelConfig | None = None  # filled in by training: the SE model's own model config


@dataclass
class ModelConfig:
    type: Literal["si", "se", "cascade", "joint"] = "si"
    frontend: Literal["ssl", "fbank"] = "ssl"   # fbank: log-mel features, ssl section unused
    ssl: SSLConfig = field(default_factory=SSLConfig)
    fbank: FbankConfig = field(default_factory=FbankConfig)
    si: SIConfig = field(default_factory=SIConfig)
    se: SEConfig = field(default_factory=SEConfig)
    cascade: CascadeConfig = field(default_factory=CascadeConfig)

    @property
    def has_si(self) -> bool:
        return self.type in ("si", "cascade", "joint")

    @property
    def has_se(self) -> bool:
        """True when the model itself trains an SE head (se, joint)."""
        return self.type in ("se", "joint")

    @property
    def uses_cache(self) -> bool:
        """Frozen SSL with a cache: training reads hidden states instead of running the SSL."""
        return (self.frontend == "ssl" and self.ssl.freeze == "all" and bool(self.ssl.cache)
                and self.type != "cascade")
