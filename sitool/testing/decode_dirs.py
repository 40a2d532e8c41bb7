"""Decode dirs built from known quantities, for the scoring tests and benchmarks.

``with_correlation`` makes a prediction whose PPMC with the reference is exactly a chosen
value, so tests can assert table numbers computed by hand. ``write_decode_dir`` writes a
decode dir in the layout ``sitool decode`` produces.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE, write_audio
from sitool.datadir import DataDir, TargetInfo
from sitool.io import atomic_save_npy, format_table, write_yaml


def with_correlation(ref: np.ndarray, rho: float, rng: np.random.Generator,
                     offset: float = 0.0, gain: float = 1.0) -> np.ndarray:
    """A track whose Pearson correlation with the 1-D ``ref`` is exactly ``rho``.

    ``pred = offset + mean(ref) + gain * (rho * r + sqrt(1 - rho^2) * w)``, where ``r`` is
    ``ref`` minus its mean and ``w`` is zero-mean noise made orthogonal to ``r`` with the same norm.
    """
    ref = np.asarray(ref, dtype=np.float64)
    r = ref - ref.mean()
    w = rng.standard_normal(ref.shape)
    w -= w.mean()
    w -= r * (np.dot(w, r) / np.dot(r, r))
    w *= np.linalg.norm(r) / np.linalg.norm(w)
    return offset + ref.mean() + gain * (rho * r + np.sqrt(max(0.0, 1 - rho ** 2)) * w)


def write_decode_dir(
    exp_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    predict: Callable[[str, np.ndarray], np.ndarray] | None,
    set_name: str | None = None,
    model: str = "si",
    targets: TargetInfo | None = None,
    enhance: Callable[[str, np.ndarray], np.ndarray] | None = None,
    utts: Sequence[str] | None = None,
    config: Mapping | None = None,
    frontend: str = "ssl",
) -> Path:
    """Write ``exp_dir/decode/<set>/`` as ``sitool decode`` does.

    ``predict(utt, reference [frames, n])`` returns the prediction array (None: a model
    without an SI head); ``enhance(utt, noisy audio)`` (optional) returns enhanced 16 kHz audio. ``config`` becomes the
    experiment's ``config.yaml`` (for seed grouping); ``frontend`` goes into ``decode.yaml``
    (``fbank``: a filterbank reference model).
    """
    data = DataDir(data_dir)
    exp_dir = Path(exp_dir)
    out = exp_dir / "decode" / (set_name or data.name)
    info = targets or data.targets
    utts = list(utts) if utts is not None else data.utts
    tv_scp, enhanced_scp = {}, {}
    for utt in utts:
        if predict is not None:
            pred = np.asarray(predict(utt, data.target_array(utt)), dtype=np.float32)
            path = out / "tv" / f"{utt}.npy"
            atomic_save_npy(path, pred)
            tv_scp[utt] = str(path)
        if enhance is not None:
            wav = out / "enhanced" / f"{utt}.wav"
            write_audio(wav, enhance(utt, data.audio(utt)), SAMPLE_RATE, subtype="FLOAT")
            enhanced_scp[utt] = str(wav)
    out.mkdir(parents=True, exist_ok=True)
    if predict is not None:
        (out / "tv.scp").write_text(format_table(tv_scp))
        info.write(out / "targets")
    if enhance is not None:
        (out / "enhanced.scp").write_text(format_table(enhanced_scp))
    write_yaml(out / "decode.yaml", {"data_dir": str(data.path), "exp": str(exp_dir),
                                     "checkpoint": "best", "model_type": model,
                                     "frontend": frontend, "num_utts": len(utts)})
    if config is not None:
        write_yaml(exp_dir / "config.yaml", dict(config))
    return out
