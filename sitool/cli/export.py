"""``sitool export``: a trained experiment as a self-contained, Hub-style model dir."""

from __future__ import annotations

import click


@click.command("export")
@click.argument("exp_dir", type=click.Path(file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Model dir to write (config.json, model.safetensors, README.md, ssl/).")
@click.option("--checkpoint", default="best", show_default=True,
              help="best, last, or a checkpoint file.")
@click.option("--license", "license_", default="unknown", show_default=True,
              help="Licence field of the model card (e.g. cc-by-4.0, mit).")
@click.option("--no-bundle-ssl", is_flag=True,
              help="Reference a frozen local SSL model by its absolute path instead of copying it.")
@click.option("--push-to-hub", "repo_id", default=None, metavar="ORG/NAME",
              help="Also upload the dir to this Hub repo (needs network and a login).")
@click.option("--private", is_flag=True, help="With --push-to-hub: create a private repo.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it is an earlier export (or empty); any other dir is refused.")
def export_command(exp_dir, out, checkpoint, license_, no_bundle_ssl, repo_id, private,
                   overwrite) -> None:
    """Export EXP_DIR's model to --out in the Hugging Face layout, with a model card.

    \b
    The dir loads anywhere a model is expected:
      sitool invert a.wav --model DIR --out inv/
      sitool decode --exp DIR data/test
      python -c 'from sitool.inference import load_inverter; load_inverter("DIR")'
    Its predictions equal those of EXP_DIR's checkpoint exactly.
    """
    from sitool.export import export_model, push_to_hub

    path = export_model(exp_dir, out, checkpoint=checkpoint, license=license_,
                        bundle_ssl=not no_bundle_ssl, overwrite=overwrite)
    click.echo(str(path))
    if repo_id:
        click.echo(push_to_hub(path, repo_id, private=private))
