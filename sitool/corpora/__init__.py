"""Stages 0-1: articulatory corpora and their data dirs (DESIGN.md §3).

* ``synth/``      the embedded VocalTractLab corpus: ``sitool synth-corpus`` makes it and
  ``sitool prepare synth`` turns it into data dirs
* ``mocha``, ``mngu0``, ``hprc``, ``usctimit``, ``xrmb``, ``carstens``, ``generic``
  readers of real corpora (docs/corpora.md): each lists a corpus' utterances and loads one
  at a time into a ``recording.Recording``
* ``build``       ``prepare_corpus``: a reader's recordings -> ``data/{train,dev,test}``
  (targets, source features, phone labels; ``sitool prepare <corpus>``)
* ``splits``      the train/dev/test split rules of real corpora
* ``est_track``, ``mview``, ``labels``  file formats the readers share (EST Track ``.ema``,
  MVIEW ``.mat``, phone label files)
"""
