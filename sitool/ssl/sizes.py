"""Randomly initialised SSL encoders with the dimensions of the published models.

No weights can be downloaded here, but the memory and compute of WavLM-Base and -Large depend
only on their dimensions; :func:`random_wavlm` builds such an encoder in memory (nothing is
written), for benchmarks (``bench/gpu.py``) and for the test that keeps the Large path
working on a CPU.
"""

from __future__ import annotations

import torch

from sitool.ssl.encoder import SSLEncoder
from sitool.ssl.inputs import WaveformInputs

# transformers' WavLMConfig fields of microsoft/wavlm-base(-plus) and microsoft/wavlm-large
WAVLM_SIZES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, conv_dim=(512,) * 7, feat_extract_norm="group",
                 do_stable_layer_norm=False, conv_bias=False),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, conv_dim=(512,) * 7, feat_extract_norm="layer",
                  do_stable_layer_norm=True, conv_bias=True),
    # --small stand-ins of the same two kinds, for CPU runs in seconds
    "base-small": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=128, conv_dim=(32,) * 7, feat_extract_norm="group",
                       do_stable_layer_norm=False, conv_bias=False),
    "large-small": dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=192, conv_dim=(32,) * 7, feat_extract_norm="layer",
                        do_stable_layer_norm=True, conv_bias=True),
}


def random_wavlm(size: str, seed: int = 0, freeze: str = "all") -> SSLEncoder:
    """A WavLM encoder of ``size`` (a key of :data:`WAVLM_SIZES`) with random weights,
    normalising its input like the published models (zero mean, unit variance)."""
    from transformers import WavLMConfig, WavLMModel

    config = WavLMConfig(**WAVLM_SIZES[size])
    with torch.device("meta"):       # transformers' own init takes ~30 s for Large on a CPU
        model = WavLMModel(config)
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:          # weights: uniform with variance 1 / fan_in
                bound = (3.0 / p[0].numel()) ** 0.5
                p.uniform_(-bound, bound, generator=generator)
            elif name.endswith("weight") or name.endswith("gru_rel_pos_const"):
                p.fill_(1.0)         # norm scales, the relative-position gate constant
            else:
                p.zero_()            # biases, masked_spec_embed
        for buffer in model.buffers():
            buffer.zero_()
    model.eval()
    encoder = SSLEncoder(model, WaveformInputs(normalize=True), name=f"random-wavlm-{size}")
    encoder.set_freeze(freeze)
    return encoder
