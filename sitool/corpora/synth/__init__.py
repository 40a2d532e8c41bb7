"""The embedded synthetic articulatory corpus, made with VocalTractLab (DESIGN.md §6).

Random phone sequences are turned into VocalTractLab gestural scores, then into tract and
glottis parameter trajectories, then into audio; the tract variables are measured on the
model's own tube geometry, so the ground truth is exact. See ``docs/corpus.md``.

Licence isolation: ``vocaltractlab-cython`` (and the VocalTractLab library and JD3 speaker it
ships) is GPL-3.0. This package, and within it only ``vtl.py`` (imported by ``synthesis.py``
and the worker process in ``worker.py``), is the one place in sitool that imports it. The rest
of sitool never imports it: the corpus driver (``corpus.py``, ``pool.py``) runs synthesis in
separate worker processes, and everything downstream reads the corpus from disk.

Modules: ``phones`` (phone inventory, random syllable sequences), ``speakers`` (speaker table,
utterance plan), ``anatomy`` (speaker anatomies, articulation adaptation), ``prosody`` (F0
contours, voicing), ``targets`` (tract-variable definitions), ``vtl`` (the VocalTractLab
calls), ``synthesis`` (one utterance), ``worker`` (a synthesis worker process), ``pool``
(worker processes, retries), ``layout`` (the corpus directory: paths, ``utts.tsv``,
``phones/``, ``failed/``), ``corpus`` (the whole corpus: ``sitool synth-corpus``),
``prepare`` (data dirs: ``sitool prepare synth``).
"""
