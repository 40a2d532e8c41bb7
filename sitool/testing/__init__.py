"""Test support: small inputs for every stage, written on the fly, for the test suite and the
benchmarks (production code never imports this package).

- ``data_dirs``: clean data dirs of toy utterances (3 toy targets, or the nine TVs).
- ``noisy_dirs``: noise files and noisy data dirs (``mix.tsv``) over a clean data dir.
- ``decode_dirs``: decode dirs with predictions of a chosen correlation with the reference.
- ``corpus_formats``: tiny raw corpora in the exact on-disk formats of the real corpora.
- ``ssl_model``: a tiny random WavLM/HuBERT model dir.
- ``training_setup``: a tiny SSL model plus toy train/dev dirs, and a tiny training config.
- ``joint_training``: a joint model around an in-memory encoder, a synthetic batch, a few steps.
- ``stand_in_inverter``: an inverter whose outputs are a known function of its audio, and a
  stand-in ``sitool.inference`` that loads it.
"""
