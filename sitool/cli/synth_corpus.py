"""Stage 0 of the default recipe: ``sitool synth-corpus`` (the embedded VocalTractLab corpus).

Its stage-2 counterpart, the embedded noise set, is ``sitool synth-noise``
(``sitool.cli.synth_noise``)."""

from __future__ import annotations

import click

from sitool.cli.options import no_progress_option


@click.command("synth-corpus")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Corpus directory to make or resume (e.g. corpus/synth).")
@click.option("--num-utts", default=90, show_default=True, type=click.IntRange(min=1),
              help="Total number of utterances, spread evenly over the speakers.")
@click.option("--speakers", "speaker_counts", default="8,1,2,4", show_default=True,
              help="Speakers per split: TRAIN,DEV,TEST,BABBLE (babble talkers only make babble "
                   "noise). The default is the fixed table of 15 speakers.")
@click.option("--oral-scale", default="0.92,1.05", show_default=True,
              help="MIN,MAX of the speakers' oral scale (lips, mandible, palate; JD3 = 1).")
@click.option("--pharynx-scale", default="0.85,1.10", show_default=True,
              help="MIN,MAX of the speakers' pharynx scale (pharynx, larynx, vocal folds).")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1),
              help="Parallel synthesis worker processes.")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Random seed: phone sequences, durations and F0 contours.")
@click.option("--min-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.2),
              help="Shortest utterance, seconds.")
@click.option("--max-seconds", default=3.0, show_default=True, type=click.FloatRange(min=0.2),
              help="Longest utterance, seconds.")
@click.option("--state-step", default=1, show_default=True, type=click.IntRange(1, 8),
              help="Synthesise the audio from every k-th VocalTractLab tract state (1: every "
                   "2.5 ms state; 2: 5 ms apart, ~27 % less worker CPU, log-mel spectra "
                   "correlate 0.997 with k = 1). The targets use every state.")
@click.option("--overwrite", is_flag=True, help="Delete the corpus directory and remake it.")
@no_progress_option
def synth_corpus(out: str, num_utts: int, speaker_counts: str, oral_scale: str,
                 pharynx_scale: str, nj: int, seed: int, min_seconds: float,
                 max_seconds: float, state_step: int, overwrite: bool,
                 no_progress: bool) -> None:
    """Synthesise the articulatory corpus with VocalTractLab into OUT.

    Random phone sequences of JD3's inventory, per speaker anatomy and F0 range; audio at
    16 kHz, tract variables at 100 Hz measured on the model's geometry, exact phone
    alignments. Finished utterances are kept: rerunning resumes a killed run and retries
    failed utterances. With other --speakers or anatomy ranges the speakers are generated
    (spread over the ranges, alternating m/f per split) and written to speakers.tsv. Layout
    and target definitions: docs/corpus.md.
    """
    from sitool.corpora.synth.corpus import make_corpus
    from sitool.corpora.synth.speakers import make_speakers, parse_counts, parse_range

    speakers = make_speakers(parse_counts(speaker_counts),
                             parse_range(oral_scale, "--oral-scale"),
                             parse_range(pharynx_scale, "--pharynx-scale"))
    make_corpus(out, num_utts=num_utts, nj=nj, seed=seed, overwrite=overwrite,
                speakers=speakers, seconds=(min_seconds, max_seconds), progress=not no_progress,
                state_step=state_step)
