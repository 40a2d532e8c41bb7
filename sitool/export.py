"""Exported model dirs: a trained experiment in the Hugging Face layout, to share and reuse.

``sitool export exp/TAG --out DIR`` writes::

    DIR/config.json         what rebuilds the model: the resolved model config, the targets
                            (names, units, frame rate), the normalisation, the SSL model
                            (bundled or referenced, with its stamp), provenance
    DIR/model.safetensors   the trained weights: SI/SE heads, and a fine-tuned encoder
    DIR/ssl/                the SSL model when it is bundled (see below)
    DIR/ssl_se/             a cascade's SE-stage SSL model when it is bundled
    DIR/README.md           the model card, written from the experiment and its scores

The SSL encoder: a fine-tuned one is in ``model.safetensors`` and ``ssl/`` holds only its
architecture (``config.json``, ``preprocessor_config.json``). A frozen one is left out of the
weights: a hub id is referenced (with the stamp of the copy it was trained with); a local dir
(the in-recipe ``exp/ssl_tiny``, a private checkpoint) is copied into ``ssl/`` so that the
export is self-contained (``bundle_ssl=False`` references its absolute path instead).

Anywhere a model is loaded (:func:`sitool.inference.load_inverter`, ``sitool invert
--model``, ``sitool decode --exp``) it may be an experiment dir, an exported dir, or the id of
a Hub repo holding an exported dir (fetched with ``huggingface_hub``; offline, the local HF
cache is used and a log line says so). An exported model predicts exactly what its
experiment's checkpoint predicts.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import torch

from sitool import __version__
from sitool.errors import SitoolError
from sitool.io import atomic_path
from sitool.locking import locks_output
from sitool.ssl.cache_stamps import LEGACY_NOTE, compare_model_stamp, local_model_dir

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
SSL_DIR = "ssl"
SE_SSL_DIR = "ssl_se"
# Files of a transformers SSL model dir that are copied when it is bundled.
SSL_ARCH_FILES = ("config.json", "preprocessor_config.json")
SSL_WEIGHT_SUFFIXES = (".safetensors", ".bin")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


# --------------------------------------------------------------------------- resolving names

def is_exported_dir(path: str | os.PathLike) -> bool:
    """True for a dir written by :func:`export_model` (its config.json says so)."""
    config = Path(path) / CONFIG_FILE
    if not config.is_file():
        return False
    try:
        return "sitool_export" in json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False


def looks_like_hub_id(name: str) -> bool:
    """``ORG/NAME`` that is not a local path (``exp/train_joint`` with ``./exp`` present is local)."""
    path = Path(name)
    return bool(HUB_ID.match(name)) and not path.exists() and not Path(path.parts[0]).exists()


def hub_snapshot(repo_id: str, revision: str | None = None) -> Path:
    """The local dir of a Hub repo: downloaded, or from the local HF cache when offline."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    if not constants.HF_HUB_OFFLINE:
        try:
            return Path(snapshot_download(repo_id, revision=revision))
        except LocalEntryNotFoundError:
            pass  # no connection: fall back to the cache below
        except Exception as e:  # repo missing, gated, ... : one line
            raise SitoolError(f"model {repo_id!r}: not a local dir, and the Hub said "
                              f"{type(e).__name__}: {str(e).splitlines()[0]}") from None
    try:
        path = Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except LocalEntryNotFoundError:
        why = "the hub is disabled (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE else \
            "the hub cannot be reached"
        raise SitoolError(f"model {repo_id!r}: not a local dir nor in the local HF cache "
                          f"({constants.HF_HUB_CACHE}), and {why}; download it where the hub is "
                          f"reachable (`huggingface-cli download {repo_id}`) or pass the local "
                          "exported dir") from None
    log.info("model %s: %s, using the local HF cache copy %s", repo_id,
             "offline (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE else "hub unreachable", path)
    return path


def resolve_model(name: str | os.PathLike) -> Path:
    """A local model dir for ``name``: an experiment or exported dir as it is, a Hub repo id
    as its local snapshot. Anything else is returned as a path (callers report it missing)."""
    text = str(name)
    if looks_like_hub_id(text):
        return hub_snapshot(text)
    return Path(name)


def decode_home(exp: str | os.PathLike) -> Path:
    """Where ``sitool decode`` writes ``decode/<set>/`` for ``exp``: the dir itself, or for a
    Hub id ``exp/<org>--<name>`` (the HF cache is not the place for results)."""
    text = str(exp)
    if looks_like_hub_id(text):
        home = Path("exp") / text.replace("/", "--")
        log.info("model %s is a Hub repo: decode dirs go to %s/decode/", text, home)
        return home
    return Path(exp)


def load_model_source(name: str | os.PathLike, checkpoint: str = "best",
                      device: str | torch.device = "cpu"):
    """A :class:`~sitool.training.experiment.TrainedModel` from an experiment dir (its
    ``checkpoint``), an exported dir, or a Hub repo id of an exported dir."""
    from sitool.training.experiment import load_trained_model

    path = resolve_model(name)
    if is_exported_dir(path):
        if checkpoint not in ("best", "last"):
            log.info("%s is an exported model: it has one set of weights; --checkpoint %s "
                     "ignored", path, checkpoint)
        return load_exported(path, device)
    trained = load_trained_model(path, checkpoint, device)
    if checkpoint not in ("best", "last"):
        check_checkpoint_origin(trained, path)
    return trained


def check_checkpoint_origin(trained, exp_dir: Path) -> None:
    """A checkpoint file given by path must be one of ``exp_dir``'s experiment: its config
    equal to ``exp_dir/config.yaml`` (else the outputs and the sidecar would describe another
    model than the one that ran). One line naming the first keys that differ otherwise."""
    from sitool.config import from_dict, to_dict
    from sitool.io import read_yaml
    from sitool.training.config import TrainConfig
    from sitool.training.experiment import locate_ssl_model

    config_path = Path(exp_dir) / "config.yaml"
    if not config_path.is_file():
        log.warning("%s: no config.yaml, so checkpoint %s cannot be checked against the "
                    "experiment; the outputs describe the checkpoint's own config", exp_dir,
                    trained.checkpoint)
        return
    own = from_dict(TrainConfig, read_yaml(config_path), str(config_path))
    if own.model.ssl.model:
        own.model.ssl.model = locate_ssl_model(own.model.ssl.model, Path(exp_dir))
    theirs, ours = _flat(to_dict(trained.config)), _flat(to_dict(own))
    diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if diff:
        shown = ", ".join(f"{k}: {theirs.get(k)!r} there, {ours.get(k)!r} here"
                          for k in diff[:3])
        raise SitoolError(f"{trained.checkpoint}: a checkpoint of another experiment than "
                          f"{exp_dir} (its config differs from {config_path}: {shown}); "
                          "give the experiment it came from as the model, or --checkpoint "
                          f"best|last for {exp_dir}'s own")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# --------------------------------------------------------------------------- hashing

def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- export

def _ssl_entry(name: str, exp_dir: Path, frozen: bool, bundle: bool, stamp: str | None,
               dest: Path, subdir: str) -> dict:
    """Bundle or reference one SSL model; returns its ``config.json`` entry."""
    from sitool.ssl.encoder import load_ssl_config
    from sitool.training.experiment import locate_ssl_model

    located = locate_ssl_model(name, exp_dir)
    load_ssl_config(located)          # fails early, in one line, when it cannot be found
    local = Path(located)
    entry = {"model": name, "encoder": "frozen" if frozen else "fine-tuned", "stamp": stamp or ""}
    if not frozen or (bundle and local.is_dir()):
        source = local if local.is_dir() else _hub_model_dir(located)
        target = dest / subdir
        target.mkdir(parents=True)
        for item in sorted(source.iterdir()):
            wanted = item.name in SSL_ARCH_FILES or (frozen and item.suffix in SSL_WEIGHT_SUFFIXES)
            if item.is_file() and wanted:
                shutil.copy2(item, target / item.name)
        entry["bundled"] = subdir
    elif local.is_dir():
        entry["model"] = str(local.resolve())
    return entry


def _hub_model_dir(name: str) -> Path:
    folder = local_model_dir(name)
    if folder is None:
        raise SitoolError(f"SSL model {name!r}: not found in the local HF cache")
    return folder


@locks_output("out")
def export_model(exp_dir: str | os.PathLike, out: str | os.PathLike, checkpoint: str = "best",
                 license: str = "unknown", bundle_ssl: bool = True,
                 overwrite: bool = False) -> Path:
    """Write ``exp_dir``'s ``checkpoint`` as an exported model dir at ``out`` (atomically)."""
    from safetensors.torch import save_file

    from sitool.training.checkpoint import load_checkpoint
    from sitool.training.experiment import checkpoint_path

    exp_dir = Path(exp_dir)
    out = Path(out)
    if out.exists() and not overwrite:
        raise SitoolError(f"{out}: exists; pass --overwrite to replace it or choose another --out")
    if out.exists():
        _check_replaceable(out)
    ckpt = checkpoint_path(exp_dir, checkpoint)
    payload = load_checkpoint(ckpt)
    config = copy.deepcopy(payload["config"])
    model_cfg = config["model"]
    with atomic_path(out) as tmp:
        tmp.mkdir()
        ssl_cfg = model_cfg["ssl"]
        frozen = ssl_cfg.get("freeze", "all") == "all"
        ssl = _ssl_entry(ssl_cfg["model"], exp_dir, frozen, bundle_ssl, payload.get("ssl_stamp"),
                         tmp, SSL_DIR)
        ssl_cfg["cache"] = None            # the recipe's feature cache stays with the recipe
        meta = {
            "sitool_export": EXPORT_FORMAT,
            "sitool_version": __version__,
            "model_type": model_cfg["type"],
            "config": config,
            "ssl": ssl,
        }
        se_model = (model_cfg.get("cascade") or {}).get("se_model")
        if model_cfg["type"] == "cascade" and se_model:
            se_ssl = se_model["ssl"]
            meta["ssl_se"] = _ssl_entry(se_ssl["model"], exp_dir, True, bundle_ssl, None, tmp,
                                        SE_SSL_DIR)
            se_ssl["cache"] = None
        normaliser = payload.get("normaliser")
        if normaliser:
            meta["targets"] = {k: normaliser[k] for k in ("names", "units", "frame_rate",
                                                          "descriptions")}
            meta["normalisation"] = normaliser
        state = {k: v.detach().cpu().contiguous().clone() for k, v in payload["model"].items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt", "sitool_export":
                                                            str(EXPORT_FORMAT)})
        meta["weights_sha256"] = file_sha256(tmp / WEIGHTS_FILE)
        meta["source"] = {"exp": exp_dir.name, "checkpoint": checkpoint,
                          "epoch": int(payload.get("epoch", 0)),
                          "exported": time.strftime("%Y-%m-%d %H:%M:%S")}
        meta["license"] = license
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        from sitool.model_card import model_card

        (tmp / CARD_FILE).write_text(model_card(exp_dir, meta), encoding="utf-8")
    log.info("exported %s (%s, epoch %d) -> %s", exp_dir, checkpoint, meta["source"]["epoch"], out)
    return out


def _check_replaceable(out: Path) -> None:
    """``--overwrite`` replaces only an earlier export (or an empty dir): anything else there
    is refused, since the whole dir is replaced; logs what is replaced."""
    if out.is_dir() and not any(out.iterdir()):
        return
    if not out.is_dir() or not is_exported_dir(out):
        what = "a file" if not out.is_dir() else \
            f"a dir of {sum(1 for _ in out.iterdir())} entries without {CONFIG_FILE} of an export"
        raise SitoolError(f"{out}: not an exported model dir ({what}); --overwrite replaces "
                          "only an earlier sitool export, and the whole dir would be deleted: "
                          "choose another --out, or remove it yourself")
    try:
        source = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8")).get("source", {})
    except (OSError, ValueError):
        source = {}
    log.info("%s: --overwrite: replacing the earlier export there (of %s, %s, exported %s: "
             "%s)", out, source.get("exp", "?"), source.get("checkpoint", "?"),
             source.get("exported", "?"), ", ".join(sorted(p.name for p in out.iterdir())))


def push_to_hub(model_dir: str | os.PathLike, repo_id: str, private: bool = False) -> str:
    """Upload an exported dir to the Hub repo ``repo_id`` (created if needed); returns its URL."""
    from huggingface_hub import HfApi

    model_dir = Path(model_dir)
    if not is_exported_dir(model_dir):
        raise SitoolError(f"{model_dir}: not an exported model dir (sitool export writes one)")
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(model_dir), repo_id=repo_id,
                             commit_message=f"sitool {__version__} export")
    log.info("uploaded %s to %s", model_dir, repo_id)
    return str(getattr(info, "commit_url", repo_id))


# --------------------------------------------------------------------------- load

def read_export_config(model_dir: str | os.PathLike) -> dict:
    path = Path(model_dir) / CONFIG_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SitoolError(f"{path}: unreadable exported-model config ({e})") from None
    if meta.get("sitool_export") != EXPORT_FORMAT:
        raise SitoolError(f"{path}: exported-model format {meta.get('sitool_export')!r}, this "
                          f"sitool reads format {EXPORT_FORMAT}; export it again")
    return meta


def _ssl_location(model_dir: Path, entry: dict) -> str:
    return str((model_dir / entry["bundled"]).resolve()) if entry.get("bundled") else entry["model"]


def load_exported(model_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """Rebuild the model of an exported dir (eval mode) as a ``TrainedModel``."""
    from safetensors.torch import load_file

    from sitool.config import from_dict
    from sitool.models.frontend import load_encoder
    from sitool.models.model import build_model
    from sitool.training.config import TrainConfig
    from sitool.training.experiment import TrainedModel
    from sitool.training.normalisation import TargetNormaliser

    model_dir = Path(model_dir)
    meta = read_export_config(model_dir)
    for key in ("ssl", "ssl_se"):
        bundled = meta.get(key, {}).get("bundled")
        if bundled and not (model_dir / bundled / "config.json").is_file():
            raise SitoolError(f"{model_dir / bundled}: missing or incomplete (no config.json); "
                              f"this exported dir bundles its SSL model there ({CONFIG_FILE} "
                              f"says {key}.bundled: {bundled}): copy the whole exported dir "
                              "again, or export it again (sitool export exp/TAG --out DIR "
                              "--overwrite)")
    config = copy.deepcopy(meta["config"])
    config["model"]["ssl"]["model"] = _ssl_location(model_dir, meta["ssl"])
    if "ssl_se" in meta:
        config["model"]["cascade"]["se_model"]["ssl"]["model"] = _ssl_location(model_dir,
                                                                               meta["ssl_se"])
    source = str(model_dir / CONFIG_FILE)
    cfg = from_dict(TrainConfig, config, f"{source} (config)")
    normaliser = TargetNormaliser.from_state(meta["normalisation"]) if meta.get("normalisation") \
        else None
    n_targets = len(normaliser.info.names) if normaliser else 0
    rate = normaliser.info.frame_rate if normaliser else 100.0
    fine_tuned = cfg.model.ssl.freeze != "all"
    model = build_model(cfg.model, n_targets, rate, load_ssl=not fine_tuned)
    if fine_tuned:   # architecture from ssl/config.json, weights from model.safetensors
        model.frontend.attach_encoder(load_encoder(cfg.model.ssl, pretrained=False))
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise SitoolError(f"{weights}: missing; the exported dir is incomplete (export it again)")
    try:
        state = load_file(str(weights))
    except Exception as e:   # safetensors raises its own error type for a damaged file
        raise SitoolError(f"{weights}: unreadable weights ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else 'damaged'}); the file is "
                          "damaged (cut short?): copy or download the exported dir again, or "
                          "export it again") from None
    model.load_checkpoint_state(state, str(weights))
    stamp = meta["ssl"].get("stamp")
    if stamp and not fine_tuned and not meta["ssl"].get("bundled"):
        verdict, now = compare_model_stamp(stamp, cfg.model.ssl.model)
        if verdict == "other":
            log.warning("%s: the SSL model %s differs from the one it was trained with (stamp "
                        "%s, now %s); predictions will not match the trained model", model_dir,
                        cfg.model.ssl.model, stamp, now)
        elif verdict == "legacy":
            log.warning("%s: %s; cannot check that %s holds the weights it was trained with",
                        model_dir, LEGACY_NOTE, cfg.model.ssl.model)
    return TrainedModel(model.eval().to(device), cfg, normaliser, weights,
                        int(meta.get("source", {}).get("epoch", 0)))
