"""A tiny randomly initialised SSL model dir (WavLM or HuBERT, ``save_pretrained`` format)
that ``load_ssl_encoder`` loads offline like a hub model."""

from __future__ import annotations

import os
from pathlib import Path

from sitool.audio import SAMPLE_RATE


def make_tiny_ssl_model(out: str | os.PathLike, arch: str = "wavlm", hidden: int = 32,
                        layers: int = 2, conv_dim: int = 16, seed: int = 0,
                        feat_extract_norm: str = "group") -> Path:
    """Write a tiny randomly initialised SSL model dir (``save_pretrained`` format).

    ``arch`` is ``wavlm`` or ``hubert``. The conv feature encoder keeps the standard 7 layers
    (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2 → 320 samples, 50 frames/s at 16 kHz) with
    ``conv_dim`` channels each; the transformer has ``layers`` layers of width ``hidden``.
    The dir also holds a ``Wav2Vec2FeatureExtractor`` config (``do_normalize=True``), so
    ``load_ssl_encoder(out)`` loads it offline like a hub model. Returns ``out``.
    """
    import torch
    from transformers import (HubertConfig, HubertModel, Wav2Vec2FeatureExtractor, WavLMConfig,
                              WavLMModel)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    out = Path(out)
    common = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, conv_dim=(conv_dim,) * 7,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        feat_extract_norm=feat_extract_norm, do_stable_layer_norm=feat_extract_norm == "layer",
        conv_bias=feat_extract_norm == "layer",
    )
    if arch == "wavlm":
        config, model_cls = WavLMConfig(num_buckets=32, max_bucket_distance=200, **common), WavLMModel
    elif arch == "hubert":
        config, model_cls = HubertConfig(**common), HubertModel
    else:
        raise ValueError(f"arch must be 'wavlm' or 'hubert', got {arch!r}")
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.save_pretrained(out)
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE,
                                         padding_value=0.0, do_normalize=True,
                                         return_attention_mask=feat_extract_norm == "layer")
    extractor.save_pretrained(out)
    return out
