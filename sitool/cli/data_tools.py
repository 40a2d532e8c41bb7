"""Data-dir tools (Kaldi ``utils/`` style): ``sitool combine-data``, ``subset-data``,
``fix-data``, for data dirs and noise dirs alike (``sitool.datadir_tools``)."""

from __future__ import annotations

import click

from sitool.datadir_tools import Selection, combine_dirs, fix_dir, subset_dir


@click.command("combine-data")
@click.argument("out", type=click.Path(file_okay=False))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT (all of it).")
def combine_data(out, inputs, overwrite):
    """Combine INPUTS (all data dirs, or all noise dirs) into OUT.

    \b
    Data dirs must have the same targets (names, units, frame rate) and be all clean
    or all noisy (mix.tsv); a table some input lacks is left out (logged). Noise dirs:
    e.g. several prepare-noise sources into the one noise dir that mix reads:
      sitool combine-data data/noise_train data/noise_noisex_train data/noise_babble_train
    An id in two inputs must be the same entry in both: a noise recording with two
    paths, or an utterance with different lines, is an error naming both inputs.
    """
    click.echo(f"wrote {combine_dirs(out, inputs, overwrite)}")


@click.command("subset-data")
@click.argument("src", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--utt-list", type=click.Path(dir_okay=False), default=None,
              help="Keep the ids (utterances, or noise ids) of this file's first column.")
@click.option("--spk-list", type=click.Path(dir_okay=False), default=None,
              help="Keep the utterances of these speakers (data dirs).")
@click.option("--first", type=int, default=None, help="Keep the first N ids (sorted).")
@click.option("--random", "random_n", type=int, default=None,
              help="Keep N ids drawn at random (--seed).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of --random.")
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT (all of it).")
def subset_data(src, out, utt_list, spk_list, first, random_n, seed, overwrite):
    """Write the part of SRC (a data dir or noise dir) chosen by exactly one of
    --utt-list, --spk-list, --first, --random to OUT."""
    selection = Selection(utt_list=utt_list, spk_list=spk_list, first=first, random=random_n,
                          seed=seed)
    click.echo(f"wrote {subset_dir(src, out, selection, overwrite)}")


@click.command("fix-data")
@click.argument("path", metavar="DIR", type=click.Path(file_okay=False))
def fix_data(path):
    """Sort every table of DIR (a data dir or noise dir) and drop the entries some required
    table lacks (logged with counts by reason); DIR is rewritten in one atomic step, files
    the tool does not know are kept as they are.

    \b
    Data dirs: utterances in utt2spk, utt2dur and each of wav.scp, tv.scp, text,
    mix.tsv that exists; spk2utt is regenerated, phones.ctm filtered.
    Noise dirs: noise ids in segments (or wav.scp), noise2type, noise2category and
    noise2dur when present, whose recording and audio file exist.
    """
    report = fix_dir(path)
    click.echo(f"fix-data {path}: {report.summary()}")
