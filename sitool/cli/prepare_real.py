"""Stage 1 for real corpora: ``sitool prepare {mocha,mngu0,hprc,usctimit,xrmb,carstens,generic}``.

These subcommands register on the ``prepare`` group of ``sitool.cli.prepare``; each is a thin
shell over ``sitool.corpora.build.prepare_corpus`` with the corpus' reader.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from sitool.corpora import hprc, mngu0, mocha, usctimit, xrmb
from sitool.corpora.build import PrepareOptions, PrepareReport, prepare_corpus
from sitool.corpora.recording import CorpusReader
from sitool.corpora.splits import SplitRule


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def common_options(default_targets: str):
    """The options every real-corpus ``prepare`` subcommand takes."""

    def decorate(func):
        options = [
            click.option("--root", required=True, type=click.Path(file_okay=False),
                         help="Corpus root (see docs/corpora.md for the expected layout)."),
            click.option("--out", default="data", show_default=True,
                         type=click.Path(file_okay=False),
                         help="Where data/{train,dev,test} are written."),
            click.option("--targets", type=click.Choice(["tv", "ema"]), default=default_targets,
                         show_default=True,
                         help="tv: tract variables; ema: sensor coordinates (generic: the "
                              "files' own columns)."),
            click.option("--source-features/--no-source-features", default=True,
                         show_default=True, help="Append F0, periodicity, aperiodicity."),
            click.option("--dev-speakers", default="", help="Comma-separated dev speakers."),
            click.option("--test-speakers", default="", help="Comma-separated test speakers."),
            click.option("--babble-speakers", default="",
                         help="Comma-separated speakers held out as babble talkers "
                              "(data/babble_talkers)."),
            click.option("--split-file", type=click.Path(dir_okay=False), default=None,
                         help="Table '<utt> <set>' overriding every split rule."),
            click.option("--max-gap-ms", type=float, default=100.0, show_default=True,
                         help="Longer sensor gaps drop the utterance (shorter: interpolated)."),
            click.option("--max-length-mismatch", type=float, default=0.5, show_default=True,
                         help="Seconds of audio/target length difference beyond which an "
                              "utterance is dropped (below: the longer side is trimmed)."),
            click.option("--frame-rate", type=float, default=100.0, show_default=True,
                         help="Target frame rate (Hz)."),
            click.option("--media-dir", type=click.Path(file_okay=False), default=None,
                         help="Where target .npy files go [default: OUT/<corpus>_media]."),
            click.option("--strict", is_flag=True,
                         help="Fail on the first unreadable utterance instead of skipping it."),
            click.option("--overwrite", is_flag=True, help="Redo existing data dirs."),
        ]
        return functools.reduce(lambda f, option: option(f), reversed(options), func)

    return decorate


def run_prepare(reader: CorpusReader, root: str, out: str, targets: str, **kw) -> PrepareReport:
    """Build the split rule and options from CLI values, run, and print a summary."""
    split = SplitRule(dev_speakers=_names(kw["dev_speakers"]),
                      test_speakers=_names(kw["test_speakers"]),
                      babble_speakers=_names(kw["babble_speakers"]),
                      split_file=kw["split_file"],
                      default_dev_speakers=reader.default_dev_speakers,
                      default_test_speakers=reader.default_test_speakers)
    options = PrepareOptions(targets=targets, source_features=kw["source_features"],
                             frame_rate=kw["frame_rate"], max_gap_s=kw["max_gap_ms"] / 1000.0,
                             max_length_mismatch_s=kw["max_length_mismatch"],
                             strict=kw["strict"], overwrite=kw["overwrite"],
                             media_dir=kw["media_dir"])
    report = prepare_corpus(reader, root, out, split, options)
    if report.reused:
        click.echo(f"{reader.name}: {out}/{{train,dev,test}} exist; reused (--overwrite redoes)")
        return report
    sets = ", ".join(f"{Path(out) / name} ({n})" for name, n in report.sets.items())
    reasons = ", ".join(f"{reason}: {len(utts)}" for reason, utts in report.skipped.items())
    click.echo(f"{reader.name}: wrote {sets}; skipped {report.num_skipped}"
               + (f" ({reasons})" if reasons else ""))
    return report


def corpus_command(module):
    """A ``prepare <corpus>`` subcommand for a reader module (``NAME``, ``SUMMARY``, ``READER``)."""

    @click.command(module.NAME, help=f"{module.SUMMARY}\n\nSee docs/corpora.md for the "
                                     "layout, rates, units and split rules.")
    @common_options(default_targets="tv")
    def command(root, out, targets, **kw):
        run_prepare(module.READER, root, out, targets, **kw)

    return command


@click.command("generic")
@common_options(default_targets="ema")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Corpus description [default: ROOT/generic.yaml].")
def prepare_generic(root, out, targets, config_path, **kw):
    """Your own corpus: audio + per-utterance CSV/NPY/MAT targets described by generic.yaml.

    --targets ema (default) keeps the columns generic.yaml picks (by name or 0-based index;
    'layout' names a sensors x axes export such as an AG501 (T, 42) matrix); --targets tv
    computes tract variables from the sensors named in generic.yaml. See docs/new_corpus.md.
    """
    from sitool.corpora.generic import make_reader

    reader = make_reader(root, config_path)
    run_prepare(reader, root, out, "columns" if targets == "ema" else "tv", **kw)


@click.command("carstens")
@common_options(default_targets="tv")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Sensor-to-channel mapping [default: ROOT/carstens.yaml].")
def prepare_carstens(root, out, targets, config_path, **kw):
    """Carstens AG500/AG501 .pos (binary) + .wav, sensors mapped by carstens.yaml.

    Both .pos layouts are read: AG501 (AG50xDATA_V003 header giving channels and rate) and
    the headerless AG500 (12 channels, 200 Hz). See docs/corpora.md (Carstens).
    """
    from sitool.corpora.carstens import make_reader

    run_prepare(make_reader(root, config_path), root, out, targets, **kw)


# Subcommands of ``sitool prepare`` (added to the group in sitool.cli.prepare).
SUBCOMMANDS = [corpus_command(module) for module in (mocha, mngu0, hprc, usctimit, xrmb)] + [
    prepare_carstens, prepare_generic]
