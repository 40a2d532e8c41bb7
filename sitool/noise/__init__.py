"""Stage 2: noise sources, babble, and deterministic SNR mixing.

Modules:

* ``snr``        the one SNR definition (ITU-T P.56 active speech level vs noise RMS)
* ``mixing``     ``mix.tsv`` rows and ``materialise(row)``: a mixture is a pure function of its row
* ``procedural`` seeded non-babble noise generators (white, pink, brown, hum, engine, ...)
* ``babble``     babble from several talkers' utterances, level-normalised per talker
* ``synth``      ``sitool synth-noise``: the embedded noise set (no downloads)
* ``sources``    noise data dirs ``data/noise_<split>/`` and the disjoint train/dev/test split
* ``readers``    MUSAN, DEMAND, NOISEX-92, any audio dir, and the synth-noise output
* ``mixer``      ``sitool mix``: test grids and random multi-condition draws -> noisy data dirs
* ``figure``     the noisy-example spectrogram figure (``sitool plot-mix``)
"""
