"""A tiny randomly initialised SSL model dir (WavLM, HuBERT or w2v-BERT, ``save_pretrained`` format)
that ``load_ssl_encoder`` loads offline like a hub model, built and saved by
``sitool.ssl.pretrain``'s own builder and saver."""

from __future__ import annotations

import os
from pathlib import Path

from transformers.utils import logging as hf_logging

from sitool.ssl.pretrain import (PretrainModelConfig, random_model, save_hf_model,
                                 transformers_config)


def make_tiny_ssl_model(out: str | os.PathLike, arch: str = "wavlm", hidden: int = 32,
                        layers: int = 2, conv_dim: int = 16, seed: int = 0,
                        feat_extract_norm: str = "group") -> Path:
    """Write a tiny randomly initialised SSL model dir (``save_pretrained`` format).

    ``arch`` is ``wavlm``, ``hubert`` or ``w2v-bert``. The conv feature encoder keeps the standard 7 layers
    (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2 → 320 samples, 50 frames/s at 16 kHz) with
    ``conv_dim`` channels each; the transformer has ``layers`` layers of width ``hidden`` (2
    attention heads, feed-forward ``2 * hidden``). ``feat_extract_norm="group"`` makes it
    Base-style (group-norm conv encoder, post-LN transformer, run without an attention mask,
    as microsoft/wavlm-base), ``"layer"`` Large-style, as ``sitool pretrain-ssl`` builds them.
    The dir also holds a ``Wav2Vec2FeatureExtractor`` config (``do_normalize=True``), so
    ``load_ssl_encoder(out)`` loads it offline like a hub model. A ``w2v-bert`` model is a
    Conformer of the same width and depth on stacked filterbanks, with a
    ``SeamlessM4TFeatureExtractor`` config (``conv_dim`` and ``feat_extract_norm`` do not apply).
    Returns ``out``.
    """
    if arch not in ("wavlm", "hubert", "w2v-bert"):
        raise ValueError(f"arch must be 'wavlm', 'hubert' or 'w2v-bert', got {arch!r}")
    if feat_extract_norm not in ("group", "layer"):
        raise ValueError(f"feat_extract_norm must be 'group' or 'layer', got {feat_extract_norm!r}")
    hf_logging.disable_progress_bar()
    config = transformers_config(PretrainModelConfig(
        arch=arch, hidden_size=hidden, num_layers=layers, num_heads=2,
        intermediate_size=2 * hidden, conv_dim=conv_dim, conv_pos_kernel=16, conv_pos_groups=2,
        conformer_kernel=5))
    if feat_extract_norm == "group" and arch != "w2v-bert":
        config.feat_extract_norm = "group"
        config.do_stable_layer_norm = config.conv_bias = False
    out = Path(out)
    save_hf_model(random_model(config, seed).eval(), out)
    return out
