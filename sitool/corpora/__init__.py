"""Corpus readers: each turns one corpus' on-disk layout into data dirs (DESIGN.md §3).

``synth/`` is the embedded VocalTractLab corpus; ``mocha``, ``mngu0``, ``hprc``, ``xrmb`` and
``generic`` read real articulatory corpora (see docs/corpora.md).
"""
