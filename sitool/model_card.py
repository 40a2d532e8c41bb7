"""The model card (``README.md``) of an exported model, written from its experiment.

It states what a user needs before trusting the model: what it predicts (targets, units,
frame rate), what it was trained on, which SSL model it builds on, how well it does (mean
PPMC per noise category and SNR, and per target, from the experiment's ``scores.tsv`` files;
SE metrics when it enhances), the licence field, and how to load and cite it. The YAML
front matter is what the Hugging Face Hub reads.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sitool.errors import SitoolError

log = logging.getLogger(__name__)

CITATION = """@software{{sitool,
  title   = {{sitool: noise-robust speech inversion with a shared SSL encoder}},
  version = {{{version}}},
  note    = {{model {name}}},
}}"""


def _score_tables(exp_dir: Path) -> tuple[list[str], str]:
    """Markdown tables from the experiment's scores (pooled over its test sets) and a note."""
    from sitool.scoring import aggregate, tables
    from sitool.scoring.aggregate import Filters, format_snr
    from sitool.scoring.score import (build_summary, headline_sets, load_se_scores,
                                      load_si_scores, resolve_decodes)

    try:
        experiments = resolve_decodes([exp_dir])
        si = load_si_scores(experiments)
    except (SitoolError, FileNotFoundError) as e:
        return [], f"No scores yet ({e}); run `sitool decode` and `sitool score` before exporting."
    sets = headline_sets(experiments, Filters())
    se = load_se_scores(experiments)
    if se is not None:       # files scored by an older sitool lack the newer SE measures
        se = se.reindex(columns=list(dict.fromkeys([*se.columns, *aggregate.SE_METRICS])))
    summary = build_summary(experiments, si, se, Filters(sets=sets), by_type=False, pool_sets=True)
    model = summary.models[0]
    conds = summary.conditions()
    rows = []
    for cond in conds.to_dict("records"):
        cell = summary.cell(model, cond)
        if cell is None:
            continue
        per = [summary.target_cell(model, cond, t) for t in summary.targets]
        rows.append([cond["category"], format_snr(cond["snr_db"]), str(int(cell["n_utts"])),
                     tables.fmt_number(cell["mean"])]
                    + [tables.fmt_number(p["mean"]) if p is not None else "–" for p in per])
    header = ["noise", "SNR [dB]", "n", "mean PPMC"] + summary.targets
    out = ["**PPMC** (Pearson correlation with the reference, per utterance, averaged over "
           "utterances; mean over " + ", ".join(summary.targets) + ")\n\n"
           + tables.markdown_table(header, rows)]
    if summary.se is not None:
        se_rows = []
        se_rows_df = aggregate.sort_conditions(summary.se[summary.se["system"] == model])
        for rec in se_rows_df.to_dict("records"):
            se_rows.append([rec["category"], format_snr(rec["snr_db"]), str(int(rec["n_utts"]))]
                           + [tables.fmt_number(rec[m], tables.SE_DIGITS[m])
                              for m in aggregate.SE_METRICS])
        if se_rows:
            out.append("**Speech enhancement** (enhanced output vs the clean reference)\n\n"
                       + tables.markdown_table(["noise", "SNR [dB]", "n"]
                                               + [tables.SE_LABELS[m] for m in aggregate.SE_METRICS],
                                               se_rows))
    return out, f"Scored on {', '.join(sets)} (`sitool score`)."


def model_card(exp_dir: str | Path, meta: dict) -> str:
    """The README.md text for an exported model described by ``meta`` (its config.json)."""
    exp_dir = Path(exp_dir)
    cfg = meta["config"]
    model = cfg["model"]
    ssl = meta["ssl"]
    targets = meta.get("targets")
    name = exp_dir.name
    lines = ["---", f"license: {meta.get('license', 'unknown')}", "library_name: sitool",
             "tags:", "- speech-inversion", "- articulatory", "- audio",
             *(["- speech-enhancement"] if model["type"] in ("se", "joint", "cascade") else []),
             "---", "", f"# {name}", ""]
    what = {"si": "speech inversion (SI)", "se": "speech enhancement (SE)",
            "joint": "joint speech enhancement + speech inversion (one shared SSL encoder)",
            "cascade": "speech enhancement followed by speech inversion"}[model["type"]]
    lines += [f"A sitool `{model['type']}` model: {what}, exported from `{name}` "
              f"({meta['source']['checkpoint']} checkpoint, epoch {meta['source']['epoch']}) "
              f"with sitool {meta['sitool_version']}.", ""]
    lines += ["## What it predicts", ""]
    if targets:
        lines += [f"{len(targets['names'])} targets at {targets['frame_rate']:g} frames/s "
                  "(frame *i* is the state at *t = i / frame_rate*), in their units:", "",
                  "| target | unit | description |", "|---|---|---|"]
        for n, u in zip(targets["names"], targets["units"]):
            lines.append(f"| {n} | {u} | {targets.get('descriptions', {}).get(n, '')} |")
        lines.append("")
    if model["type"] in ("se", "joint", "cascade"):
        lines += ["It also outputs enhanced 16 kHz speech.", ""]
    encoder = "fine-tuned (its weights are in `model.safetensors`)" if ssl["encoder"] == \
        "fine-tuned" else "frozen"
    where = (f"bundled in `{ssl['bundled']}/`" if ssl.get("bundled") and ssl["encoder"] == "frozen"
             else f"`{ssl['model']}`")
    lines += ["## Training", "",
              f"- SSL model: `{ssl['model']}`, {encoder}; loaded from {where}"
              + (f" (stamp `{ssl['stamp']}`)" if ssl.get("stamp") else ""),
              f"- Training sets: {', '.join(f'`{s}`' for s in cfg['data']['train_sets'])}",
              f"- Dev sets (early stopping on mean PPMC): "
              f"{', '.join(f'`{s}`' for s in cfg['data']['dev_sets'])}",
              f"- Epochs (max): {cfg['optim']['epochs']}, seed {cfg.get('seed')}", ""]
    if model["type"] == "joint":
        lines.insert(-1, f"- Joint loss L_SI + λ·L_SE with λ = {model['se']['weight']}")
    tables_md, note = _score_tables(exp_dir)
    lines += ["## Results", "", note, ""]
    for table in tables_md:
        lines += [table, ""]
    lines += ["## Use", "", "```python", "from sitool.inference import load_inverter",
              "from sitool.audio import load_audio", "",
              "inverter = load_inverter(\"PATH_OR_HUB_ID\")",
              "result = inverter.invert(load_audio(\"speech.wav\", 16000, downmix=True))",
              "print(inverter.target_info.names, result.targets.shape)", "```", "",
              "```sh", "sitool invert speech.wav --model PATH_OR_HUB_ID --out inverted/ --plot",
              "```", "",
              "## Licence", "", f"{meta.get('license', 'unknown')} (the licence field given to "
              "`sitool export --license`; the SSL model's own licence also applies).", "",
              "## Citation", "", "```bibtex",
              CITATION.format(version=meta["sitool_version"], name=name), "```", ""]
    return "\n".join(lines)
