"""Stage 2: noise sources, babble, and deterministic SNR mixing.

The ``mix.tsv`` row format and ``materialise(row)`` are part of the data contract:
``sitool.mixture``.

Modules:

* ``snr``        the one SNR definition (ITU-T P.56 active speech level vs noise RMS)
* ``procedural`` seeded non-babble noise generators (white, pink, brown, hum, engine, ...)
* ``babble``     babble from several talkers' utterances, level-normalised per talker
* ``synth``      ``sitool synth-noise``: the embedded noise set (no downloads)
* ``sources``    noise data dirs ``data/noise_<split>/`` and the disjoint train/dev/test split
* ``readers``    MUSAN, DEMAND, NOISEX-92 (with ISTS/ICRA), any audio dir, babble from a speech
                 data dir, and the synth-noise output
* ``noisy_sets`` ``sitool mix``: test grids and random multi-condition draws -> noisy data dirs
* ``figure``     the noisy-example spectrogram figure (``sitool plot-mix``)
"""
