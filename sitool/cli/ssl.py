"""Stage 3: the SSL model (``pretrain-ssl``), its cached hidden states (``cache-ssl``) and a
linear probe of its features (``probe-ssl``)."""

from __future__ import annotations

from pathlib import Path

import click

from sitool.cli.options import no_progress_option, num_threads_option
from sitool.errors import SitoolError
from sitool.parallel import limit_threads


def _split_overrides(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Positional args: data dirs, and ``key=value`` config overrides (contain '=' and are not
    existing paths)."""
    dirs, overrides = [], []
    for arg in args:
        if "=" in arg and not Path(arg).exists():
            overrides.append(arg)
        else:
            dirs.append(arg)
    return dirs, overrides


@click.command("cache-ssl")
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--ssl-model", required=True,
              help="HF id (e.g. microsoft/wavlm-large) or local model dir (e.g. exp/ssl_tiny).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Cache root; each DATA_DIR goes to OUT/<set name>/. "
                   "[default: dump/ssl/<model tag>]")
@click.option("--layers", default="all", show_default=True,
              help="Layers to cache: 'all' or comma-separated numbers (0 = CNN features).")
@click.option("--dtype", type=click.Choice(["float16", "float32"]), default="float16",
              show_default=True, help="On-disk dtype.")
@click.option("--config", "configs", multiple=True, type=click.Path(dir_okay=False),
              help="Training config(s) whose frozen-SSL models read this cache: cache only the "
                   "layers they aggregate (model.ssl.layers). Repeatable; replaces --layers.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto",
              show_default=True,
              help="Compute precision (auto: bf16 on GPUs that support it, else fp32; bf16 is "
                   "also the CPU fast path). Similarity to fp32 is logged and kept in meta.yaml.")
@click.option("--autocast", type=click.Choice(["bf16", "fp16"]), default=None, hidden=True,
              help="Old name of --precision bf16/fp16.")
@click.option("--nj", default=1, show_default=True, help="Number of jobs the shards are split into.")
@click.option("--job", default=None, type=int,
              help="This job's index (1..nj, e.g. $SLURM_ARRAY_TASK_ID); omitted: every shard "
                   "still missing, then the index.")
@click.option("--batch-seconds", default=None, type=float,
              help="Padded audio seconds per forward batch [default: 0 = one utterance at a "
                   "time on CPU, 120 on GPU].")
@click.option("--device", default=None, help="torch device [default: cuda if available, else cpu].")
@click.option("--shard-seconds", default=60.0, show_default=True,
              help="Audio seconds per shard file (the unit of resuming and of --nj splitting).")
@num_threads_option
@click.option("--overwrite", is_flag=True, help="Redo caches that exist.")
@no_progress_option
def cache_ssl_command(data_dirs, ssl_model, out, layers, dtype, configs, precision, autocast, nj,
                      job, batch_seconds, device, shard_seconds, num_threads, overwrite,
                      no_progress) -> None:
    """Cache the hidden states of an SSL model for every utterance of DATA_DIRS.

    Writes OUT/<set>/ per data dir: shards of fp16 hidden states, index.tsv, meta.yaml.
    Resumable: finished shards are kept. With --nj N --job J (e.g. a Slurm array) each job
    writes its own shards only; then a call without --job writes the index.
    """
    from sitool.ssl.cache_layout import model_tag
    from sitool.ssl.cache_writer import cache_ssl, parse_layers

    limit_threads(num_threads)
    chosen = parse_layers(layers)
    if configs:
        from sitool.ssl.encoder import load_ssl_config
        from sitool.training.config import cached_layers

        if layers != "all":
            raise SitoolError("cache-ssl: give --layers or --config, not both")
        chosen = cached_layers(configs, load_ssl_config(ssl_model).num_hidden_layers + 1)
    root = Path(out) if out else Path("dump") / "ssl" / model_tag(ssl_model)
    names = [Path(d).name for d in data_dirs]
    if len(set(names)) != len(names):
        raise SitoolError(f"data dirs with the same set name would share a cache dir: {names}")
    for data_dir in data_dirs:
        cache_ssl(ssl_model, data_dir, root / Path(data_dir).name, layers=chosen,
                  dtype=dtype, nj=nj, job=job, batch_seconds=batch_seconds, autocast=autocast,
                  overwrite=overwrite, shard_seconds=shard_seconds, device=device,
                  precision=None if autocast else precision, progress=not no_progress)


@click.command("pretrain-ssl", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Model dir to write (HF format), e.g. exp/ssl_tiny.")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Pretraining config, e.g. conf/pretrain_ssl.yaml.")
@num_threads_option
@no_progress_option
@click.option("--overwrite", is_flag=True, help="Start again even if OUT is finished.")
def pretrain_ssl_command(args, out, config_path, num_threads, no_progress, overwrite) -> None:
    """Pretrain a small HuBERT/WavLM-architecture model on the audio of DATA_DIRS.

    ARGS are data dirs (audio only is used) and key=value config overrides, e.g.
    `sitool pretrain-ssl data/train data/babble_talkers --out exp/ssl_tiny
    --config conf/pretrain_ssl.yaml train.steps=300`. Resumes from OUT/pretrain/checkpoints.
    """
    from sitool.ssl.pretrain import PretrainConfig, pretrain_ssl
    from sitool.config import load_config

    limit_threads(num_threads)
    data_dirs, overrides = _split_overrides(args)
    if not data_dirs:
        raise SitoolError("pretrain-ssl: give at least one data dir")
    config = load_config(PretrainConfig, config_path, overrides)
    pretrain_ssl(data_dirs, out, config, overwrite=overwrite, config_path=config_path,
                 progress=not no_progress)


@click.command("probe-ssl")
@click.option("--ssl-model", required=True, help="HF id or local model dir.")
@click.option("--train", "train_dir", required=True, type=click.Path(file_okay=False),
              help="Data dir the probe is fitted on (needs tv.scp).")
@click.option("--dev", "dev_dir", required=True, type=click.Path(file_okay=False),
              help="Data dir the probe is scored on (needs tv.scp).")
@click.option("--layers", default="all", show_default=True,
              help="Layers to pool (see --pooling): 'all' or e.g. 2,3.")
@click.option("--pooling", type=click.Choice(["mean", "concat"]), default="concat",
              show_default=True, help="How the chosen layers are combined.")
@click.option("--random-baseline", is_flag=True,
              help="Also probe a randomly initialised model of the same architecture.")
@click.option("--fbank/--no-fbank", default=True, show_default=True,
              help="Also probe stacked log-mel filterbanks (the conventional-feature floor).")
@click.option("--fbank-context", default=10, show_default=True,
              help="Log-mel frames stacked on either side of each frame (10 ms each).")
@click.option("--max-utts", default=0, show_default=True,
              help="Use at most this many utterances per set (0: all).")
@num_threads_option
def probe_ssl_command(ssl_model, train_dir, dev_dir, layers, pooling, random_baseline, fbank,
                      fbank_context, max_utts, num_threads) -> None:
    """Linear (ridge) probe from frozen SSL features to the targets: fit on --train, print the
    mean PPMC on --dev (per target and mean), optionally vs a random-weight model, and vs
    stacked log-mel filterbanks (on by default)."""
    from sitool.ssl.cache_writer import parse_layers
    from sitool.ssl.probe import format_probe, probe_ssl

    limit_threads(num_threads)
    results = probe_ssl(ssl_model, train_dir, dev_dir, layers=parse_layers(layers),
                        pooling=pooling, random_baseline=random_baseline,
                        max_utts=max_utts or None, fbank=fbank, fbank_context=fbank_context)
    click.echo(format_probe(results))
