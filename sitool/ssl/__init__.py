"""Self-supervised speech encoders (WavLM / HuBERT / wav2vec 2.0 via transformers)."""

from sitool.ssl.encoder import SSLEncoder, load_ssl_encoder

__all__ = ["SSLEncoder", "load_ssl_encoder"]
