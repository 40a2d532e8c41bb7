"""Numeric precision of a run (``precision:`` in configs, ``--precision`` on the command line).

``fp32``  everything in float32 (on CUDA, matmuls and convolutions may use TF32 tensor cores);
``bf16``  the SSL encoder runs under ``torch.autocast`` in bfloat16 (CUDA or CPU);
``fp16``  the same in float16, CUDA only for training (with a ``torch.amp.GradScaler``);
``auto``  bf16 on a CUDA GPU that supports it, else fp32 (CPU: fp32).

Autocast covers the SSL encoder, where nearly all the compute is; the aggregation, the heads,
the STFT and the losses run in float32 (``InversionModel.forward`` switches autocast off
for them). Parameters, optimiser state and checkpoints stay float32 whatever the precision.
"""

from __future__ import annotations

import contextlib

import torch

from sitool.errors import SitoolError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(precision: str | None, device: torch.device | str,
                      training: bool = False) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for ``precision`` (None = auto) on ``device``."""
    device = torch.device(device)
    precision = precision or "auto"
    if precision not in PRECISIONS:
        raise SitoolError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_available() and \
            torch.cuda.is_bf16_supported()
        return "bf16" if cuda_bf16 else "fp32"
    if precision == "fp16" and training and device.type != "cuda":
        raise SitoolError(f"precision fp16 trains on CUDA only (loss scaling); on {device.type} "
                          "use precision=bf16 or fp32")
    return precision


def autocast(precision: str, device: torch.device | str):
    """``torch.autocast`` for a resolved ``precision`` (a no-op context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision])


def full_precision(device: torch.device | str):
    """Autocast off (float32) inside, e.g. for heads and losses under an outer autocast."""
    return torch.autocast(device_type=torch.device(device).type, enabled=False)


def grad_scaler(precision: str, device: torch.device | str) -> torch.amp.GradScaler:
    """Loss scaling for fp16 training on CUDA; a disabled (pass-through) scaler otherwise."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16" and device.type == "cuda")


def allow_tf32(device: torch.device | str) -> None:
    """Let float32 matmuls and convolutions on CUDA use TF32 tensor cores (Ampere and later;
    no effect elsewhere)."""
    if torch.device(device).type != "cuda":
        return
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):        # torch >= 2.9
        matmul.fp32_precision = "tf32"
        torch.backends.cudnn.conv.fp32_precision = "tf32"
    else:
        matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast_name(precision: str) -> str | None:
    """The SSL cache's ``autocast`` setting for a resolved precision (None for fp32)."""
    return None if precision == "fp32" else precision
