"""Self-supervised speech encoders (WavLM / HuBERT / wav2vec 2.0 via transformers), their
feature cache (``cache_layout``, ``cache_stamps``, ``cache_writer``, ``cache_reader``), exact
batched extraction (``extract``), in-recipe pretraining (``pretrain``) and a linear probe of
their features (``probe``)."""

from sitool.ssl.encoder import SSLEncoder, load_ssl_config, load_ssl_encoder

__all__ = ["SSLEncoder", "load_ssl_config", "load_ssl_encoder"]
