"""Exact batched extraction of SSL hidden states from a frozen encoder.

A padded batch through an SSL model is not the same as each utterance alone: base-size
WavLM/HuBERT/wav2vec 2.0 normalise the first conv layer over time (GroupNorm), so zero
padding changes every frame. Extraction here therefore runs the conv feature encoder on each
utterance unpadded (its cost is linear in length, batching gains little) and only the
transformer on a padded batch with an attention mask, which is exact: every frame equals the
single-utterance forward pass up to float rounding. w2v-BERT's filterbank inputs are
computed per utterance anyway; its Conformer gets the padded batch with its frame mask (the
attention ignores padded frames, the convolution module zeroes them and is causal).

Autocast (``bf16`` on CPU; ``fp16`` or ``bf16`` on GPU) runs the matmuls and convolutions in
16-bit; :func:`cosine_fidelity` measures how close that stays to fp32.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from sitool.errors import SitoolError
from sitool.ssl.encoder import SSLEncoder

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# torch warns on every masked attention call of transformers' WavLM (bool padding mask plus a
# float position bias); the result is correct, the warning only clutters logs.
MASK_WARNING = "Support for mismatched key_padding_mask"


def autocast_context(autocast: str | None, device: torch.device):
    """``torch.autocast`` for ``autocast`` in (None, "bf16", "fp16") on ``device``."""
    if autocast is None:
        return contextlib.nullcontext()
    if autocast not in AUTOCAST_DTYPES:
        raise SitoolError(f"autocast must be bf16 or fp16 (or unset), got {autocast!r}")
    return torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[autocast])


class _GivenFeatures(nn.Module):
    """Stands in for a model's conv feature encoder and returns features computed earlier."""

    def __init__(self, features: torch.Tensor):
        super().__init__()
        self.features = features

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.features


@contextlib.contextmanager
def _precomputed_features(model: nn.Module, features: torch.Tensor) -> Iterator[None]:
    """Make ``model.feature_extractor`` return ``features`` ``[B, C, T]`` for one call."""
    original = model.feature_extractor
    model.feature_extractor = _GivenFeatures(features)
    try:
        yield
    finally:
        model.feature_extractor = original


@contextlib.contextmanager
def _uncached_positions(model: nn.Module) -> Iterator[None]:
    """Drop position tables that a model caches between calls (w2v-BERT's rotary embedding
    keeps the last length's cos/sin) before and after an extraction: a table made under
    inference mode would break the backward pass of a training step of the same length, and
    one made under autocast would be reused, in 16 bit, by an fp32 call."""
    caches = [m for m in model.modules() if hasattr(m, "cached_rotary_positional_embedding")]

    def clear():
        for module in caches:
            module.cached_rotary_positional_embedding = None
            module.cached_sequence_length = None

    clear()
    try:
        yield
    finally:
        clear()


@contextlib.contextmanager
def _truncated_encoder(model: nn.Module, last_layer: int) -> Iterator[None]:
    """Run only transformer layers 1..``last_layer`` (layers after the last one asked for
    do not change the earlier hidden states)."""
    layers = model.encoder.layers
    if last_layer >= len(layers):
        yield
        return
    model.encoder.layers = nn.ModuleList(list(layers)[:last_layer])
    try:
        yield
    finally:
        model.encoder.layers = layers


def cast_weights_for_autocast(encoder: SSLEncoder, autocast: str | None) -> None:
    """Store the weights of the Linear and Conv1d layers in the autocast dtype, in place.

    Under autocast these layers cast their fp32 weights to 16 bit on every call; casting
    once gives bit-identical outputs and saves that copy (~7 % of a WavLM-Base forward on
    CPU). Weight-normalised convolutions (the positional convolution) have their weight
    computed once from its norm and direction, in fp32, and then cast: under autocast the
    same 16-bit weight reached the convolution, recomputed on every call (another ~10 % of
    the bf16 forward on CPU). Norm layers keep fp32. Afterwards the encoder is for inference
    only (no weight norm left to train) and must be run under the same autocast.
    """
    if autocast is None:
        return
    from torch.nn.utils import parametrize

    dtype = AUTOCAST_DTYPES[autocast]
    for module in encoder.model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            for name in list(getattr(module, "parametrizations", {})):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
            module.to(dtype)


def default_batch_seconds(device: torch.device) -> float:
    """Padded audio per batch: 0 on CPU (each utterance alone: on CPU batching gains nothing,
    padding wastes compute, and transformers' WavLM attention turns its projections into
    per-frame matrix products for batches > 1), 120 s on GPU."""
    return 0.0 if device.type == "cpu" else 120.0


def _device(encoder: SSLEncoder) -> torch.device:
    return next(encoder.parameters()).device


def _waveform_forward(encoder: SSLEncoder, wavs: Sequence[np.ndarray], last_layer: int,
                      device: torch.device):
    """Conv feature encoder per utterance, transformer on the padded batch."""
    model = encoder.model
    features, lengths = [], []
    for wav in wavs:
        x = torch.as_tensor(np.asarray(wav, dtype=np.float32), device=device)[None]
        length = torch.tensor([x.shape[1]], device=device)
        inputs = encoder.prepare(x, length)["input_values"]
        features.append(model.feature_extractor(inputs)[0])  # [C, T]
        lengths.append(x.shape[1])
    frames = [f.shape[1] for f in features]
    batch = torch.zeros(len(wavs), features[0].shape[0], max(frames), device=device,
                        dtype=features[0].dtype)
    for i, f in enumerate(features):
        batch[i, :, :f.shape[1]] = f
    # The model derives frame masks from sample-level mask sums (lengths).
    steps = torch.arange(max(lengths), device=device)
    mask = (steps[None, :] < torch.tensor(lengths, device=device)[:, None]).long()
    with _precomputed_features(model, batch), _truncated_encoder(model, max(1, last_layer)), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=MASK_WARNING)
        out = model(torch.zeros(len(wavs), 1, device=device), attention_mask=mask,
                    output_hidden_states=True)
    return out, frames


def _filterbank_forward(encoder: SSLEncoder, wavs: Sequence[np.ndarray], last_layer: int,
                        device: torch.device):
    """Filterbanks per utterance, the Conformer on the padded batch with its frame mask."""
    lengths = torch.tensor([len(w) for w in wavs], device=device)
    batch = torch.zeros(len(wavs), int(lengths.max()), device=device)
    for i, wav in enumerate(wavs):
        batch[i, :len(wav)] = torch.as_tensor(np.asarray(wav, dtype=np.float32), device=device)
    kwargs = encoder.prepare(batch, lengths)
    with _truncated_encoder(encoder.model, max(1, last_layer)):
        out = encoder.model(**kwargs, output_hidden_states=True)
    return out, encoder.frame_lengths(lengths).tolist()


@torch.inference_mode()
def extract_hidden_states(encoder: SSLEncoder, wavs: Sequence[np.ndarray],
                          layers: Sequence[int] | None = None,
                          autocast: str | None = None) -> list[torch.Tensor]:
    """Hidden states of ``wavs`` (16 kHz mono float arrays) as one batch.

    Returns one float32 CPU tensor ``[n_layers, frames, dim]`` per utterance, ``n_layers`` =
    ``len(layers)`` (default all, layer 0 = projected CNN features), ``frames`` = the model's
    frame count for the utterance's length (50 frames/s for the usual 320-sample stride).
    Equal, up to float rounding, to running each utterance alone through ``encoder``.
    Not thread-safe (the model's conv feature encoder is swapped out during the call): use
    processes, not threads, to run several extractions at once.
    """
    if not wavs:
        return []
    all_layers = list(range(encoder.num_layers))
    layers = all_layers if layers is None else list(layers)
    bad = [i for i in layers if i not in all_layers]
    if bad:
        raise SitoolError(f"{encoder.name}: layer(s) {bad} out of range "
                          f"0..{encoder.num_layers - 1}")
    device = _device(encoder)
    with autocast_context(autocast, device), _uncached_positions(encoder.model):
        if encoder.inputs.kind == "filterbank":
            out, frames = _filterbank_forward(encoder, wavs, max(layers), device)
        else:
            out, frames = _waveform_forward(encoder, wavs, max(layers), device)
    states = out.hidden_states
    stacked = torch.stack([states[i] for i in layers], dim=1).float()  # [B, L, T, D]
    return [stacked[b, :, :n].cpu() for b, n in enumerate(frames)]


def batch_by_length(num_samples: Sequence[int], batch_seconds: float,
                    sample_rate: int = 16000) -> list[list[int]]:
    """Group utterance indices into batches of similar length.

    Indices are sorted by length (longest first) and cut so that a batch's padded size
    (``len(batch) * longest``) stays within ``batch_seconds`` of audio; an utterance longer
    than that forms a batch on its own.
    """
    order = sorted(range(len(num_samples)), key=lambda i: (-num_samples[i], i))
    limit = batch_seconds * sample_rate
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * num_samples[batches[-1][0]] <= limit:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def cosine_fidelity(reference: Sequence[torch.Tensor], other: Sequence[torch.Tensor]) -> dict:
    """Frame-wise cosine similarity of ``other`` to ``reference`` (lists of ``[L, T, D]``).

    Returns ``{"mean": m, "min_layer": l}``: ``mean`` over all frames and layers, and
    ``min_layer`` the lowest per-layer mean (the worst layer).
    """
    sims = []
    for ref, oth in zip(reference, other):
        sims.append(torch.nn.functional.cosine_similarity(ref.float(), oth.float(), dim=-1,
                                                          eps=1e-6))  # [L, T]
    per_layer = torch.cat(sims, dim=1).mean(dim=1)
    return {"mean": round(float(per_layer.mean()), 6),
            "min_layer": round(float(per_layer.min()), 6)}
