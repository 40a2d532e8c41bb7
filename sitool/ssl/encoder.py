"""Load a transformers SSL speech model by HF id or local dir and expose its hidden states.

``load_ssl_encoder("microsoft/wavlm-large")`` and ``load_ssl_encoder("exp/ssl_tiny")`` behave
the same: the model is read with ``AutoModel.from_pretrained`` and its input normalisation
with ``AutoFeatureExtractor``. A model that is neither a local dir nor in the HF cache is fetched
from the hub; offline (``HF_HUB_OFFLINE=1``, or the hub unreachable: checked first, in a second,
instead of transformers' ~25 s of retries) it fails with one line saying what to do, naming
the in-recipe SSL model (``--profile cpu``) as the way to run without the hub.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from pathlib import Path
from typing import Literal, Sequence
from urllib.parse import urlparse

import torch
from torch import nn

from sitool.errors import SitoolError
from sitool.ssl.inputs import (FILTERBANK_TYPES, WAVEFORM_TYPES, FilterbankInputs, WaveformInputs,
                               frame_grid, is_filterbank_model, model_inputs)

log = logging.getLogger(__name__)

Freeze = Literal["all", "cnn", "none"]
SUPPORTED_TYPES = WAVEFORM_TYPES + FILTERBANK_TYPES


def load_ssl_config(name_or_path: str | os.PathLike):
    """The transformers config of an SSL model (cheap: no weights are read).

    Fails with one line when the model is neither a local dir nor in the HF cache, or is not
    a WavLM/HuBERT/wav2vec 2.0/w2v-BERT model."""
    from transformers import AutoConfig

    name_or_path = str(name_or_path)
    local = Path(name_or_path)
    if local.exists() and not (local / "config.json").is_file():
        raise SitoolError(f"{local}: not a transformers model dir (no config.json); "
                          "give a dir written by save_pretrained or an HF id")
    if not local.exists() and len(local.parts) > 1 and Path(local.parts[0]).is_dir():
        # "exp/ssl_tiny" where ./exp exists: a local path, not an HF id (no hub round trip)
        raise SitoolError(f"SSL model {name_or_path!r}: no such dir under {Path.cwd()}; it is "
                          "made by stage 3 (sitool pretrain-ssl), or give the right local dir "
                          "or an HF id")
    try:  # a local dir or the HF cache first: no network round trip
        config = AutoConfig.from_pretrained(name_or_path, local_files_only=True)
    except (OSError, ValueError):
        config = _config_from_hub(name_or_path)
    if config.model_type not in SUPPORTED_TYPES:
        raise SitoolError(f"SSL model {name_or_path!r}: model_type {config.model_type!r} is not "
                          f"supported (supported: {', '.join(SUPPORTED_TYPES)})")
    return config


# Said by every "the hub cannot give it" error: how to run without a hub model.
NO_HUB_HINT = ("or run without the hub: the in-recipe SSL model pretrained on your corpus "
               "(a recipe's ./run.sh --profile cpu; top-level ./run.sh --ssl-model '')")


def hub_address() -> tuple[str, int]:
    """(host, port) of the HF hub endpoint (``HF_ENDPOINT``, default huggingface.co)."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout`` seconds: without one,
    transformers retries for ~25 s before failing."""
    try:
        socket.create_connection(hub_address(), timeout=timeout).close()
    except OSError:
        return False
    return True


def _config_from_hub(name: str):
    """The config of ``name`` downloaded from the hub, or one line saying why it cannot be."""
    from transformers import AutoConfig

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise SitoolError(f"SSL model {name!r}: not found as a local dir or in the HF cache and "
                          f"the hub is disabled (HF_HUB_OFFLINE=1): download it elsewhere with "
                          f"`huggingface-cli download {name}` and pass the local dir, {NO_HUB_HINT}")
    if not hub_reachable():
        raise SitoolError(f"SSL model {name!r}: not found as a local dir or in the HF cache, and "
                          f"the hub ({hub_address()[0]}) cannot be reached: copy the model here "
                          f"and pass its local dir, {NO_HUB_HINT}")
    try:
        return AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as e:
        raise SitoolError(f"SSL model {name!r}: not found as a local dir or in the HF cache "
                          f"({type(e).__name__}); check the id, or pass a local dir written by "
                          f"save_pretrained, {NO_HUB_HINT}") from None


def _load_pretrained(name_or_path: str, pretrained: bool = True):
    """(model, inputs): the transformers model and how it reads audio
    (:class:`~sitool.ssl.inputs.WaveformInputs` or :class:`~sitool.ssl.inputs.FilterbankInputs`),
    from the feature-extractor config beside it."""
    from transformers import AutoFeatureExtractor, AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-file "Loading weights" bars clutter stage logs
    config = load_ssl_config(name_or_path)
    # pretrained=False: the architecture only (its weights come from elsewhere, e.g. an
    # exported model's model.safetensors)
    model = AutoModel.from_pretrained(name_or_path) if pretrained else AutoModel.from_config(config)
    try:
        extractor = AutoFeatureExtractor.from_pretrained(name_or_path)
    except (OSError, ValueError):
        extractor = None
    if extractor is None:
        log.warning("%s: no preprocessor_config.json; assuming %s", name_or_path,
                    "w2v-BERT 2.0's filterbank features (80 mel bins, per-utterance normalisation)"
                    if is_filterbank_model(config) else
                    "inputs are normalised (zero mean, unit variance)")
    return model, model_inputs(config, extractor)


class SSLEncoder(nn.Module):
    """A pretrained SSL speech model that returns the hidden states of selected layers.

    Layer 0 is the input of the first transformer layer (the projected CNN features);
    layer ``i`` is the output of transformer layer ``i``.
    """

    def __init__(self, model: nn.Module, inputs: WaveformInputs | FilterbankInputs, name: str):
        super().__init__()
        self.model = model
        self.inputs = inputs
        self.name = name
        config = model.config
        self.num_layers = config.num_hidden_layers + 1
        self.dim = config.hidden_size
        self.grid = frame_grid(config)
        self.sample_rate = 16000
        self.frame_rate = self.grid.frame_rate
        # Group-norm CNNs (base-size WavLM/HuBERT) were trained without attention masks on
        # padded batches; layer-norm ones (large) need the mask (transformers' own guidance).
        # w2v-BERT always gets its frame mask.
        self.use_attention_mask = (inputs.kind == "filterbank"
                                   or config.feat_extract_norm == "layer")
        self.freeze_mode: Freeze = "none"

    @property
    def front_end(self) -> nn.Module:
        """The part below the transformer: the conv feature encoder, or w2v-BERT's feature
        projection (frozen by ``freeze="cnn"``)."""
        if self.inputs.kind == "filterbank":
            return self.model.feature_projection
        return self.model.feature_extractor

    def set_freeze(self, mode: Freeze) -> None:
        """``all``: nothing trains; ``cnn``: the front end (:attr:`front_end`) is frozen; ``none``."""
        if mode not in ("all", "cnn", "none"):
            raise SitoolError(f"freeze must be all, cnn or none, got {mode!r}")
        self.freeze_mode = mode
        for p in self.model.parameters():
            p.requires_grad = mode != "all"
        if mode == "cnn":
            for p in self.front_end.parameters():
                p.requires_grad = False
        if mode == "all":
            self.model.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_mode == "all":
            self.model.eval()
        return self

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Number of SSL frames for inputs of ``lengths`` samples."""
        if self.inputs.kind == "filterbank":
            return torch.tensor([self.grid.frames(int(n)) for n in lengths], dtype=torch.long,
                                device=lengths.device)
        return self.model._get_feat_extract_output_lengths(lengths).to(torch.long)

    def prepare(self, wavs: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's keyword inputs for a zero-padded batch ``wavs [B, S]`` with ``lengths``
        valid samples: ``input_values`` (normalised samples) or ``input_features`` (stacked
        filterbanks), and ``attention_mask`` where the model takes one."""
        values, mask = self.inputs(wavs, lengths)
        key = "input_features" if self.inputs.kind == "filterbank" else "input_values"
        kwargs = {key: values}
        if self.use_attention_mask:
            kwargs["attention_mask"] = mask.long()
        return kwargs

    def forward(self, wavs: torch.Tensor, lengths: torch.Tensor,
                layers: Sequence[int] | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden states of ``layers`` (default all), each ``[B, T, D]``, and frame lengths ``[B]``.

        ``wavs`` is a zero-padded batch ``[B, samples]`` at 16 kHz; ``lengths`` its valid samples.
        """
        kwargs = self.prepare(wavs, lengths)
        with warnings.catch_warnings():
            # torch warns on every masked WavLM attention call (bool padding mask + float
            # position bias); the result is correct.
            warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask")
            out = self.model(**kwargs, output_hidden_states=True)
        states = list(out.hidden_states)
        if layers is not None:
            bad = [i for i in layers if not 0 <= i < len(states)]
            if bad:
                raise SitoolError(f"{self.name}: layer(s) {bad} out of range 0..{len(states) - 1}")
            states = [states[i] for i in layers]
        return states, self.frame_lengths(lengths)


def load_ssl_encoder(name_or_path: str | os.PathLike, freeze: Freeze = "all",
                     pretrained: bool = True) -> SSLEncoder:
    """Load an SSL encoder by HF id or local dir and apply ``freeze`` (all | cnn | none);
    ``pretrained=False`` builds the architecture with untrained weights."""
    name = str(name_or_path)
    model, inputs = _load_pretrained(name, pretrained)
    encoder = SSLEncoder(model, inputs, name)
    encoder.set_freeze(freeze)
    log.info("loaded SSL model %s (%s, %d layers incl. input, dim %d, %.0f frames/s)", name,
             model.config.model_type, encoder.num_layers, encoder.dim, encoder.frame_rate)
    return encoder
