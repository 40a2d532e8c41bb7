"""Losses and the PPMC metric, all over the valid (unpadded) frames of a batch.

Shapes: predictions and references ``[B, T, n]``, ``lengths [B]`` valid frames per utterance.
"""

from __future__ import annotations

import numpy as np
import torch


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``[B, frames]`` bool, True on valid frames."""
    steps = torch.arange(frames, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def masked_mae(pred: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid frames and all columns."""
    mask = frame_mask(lengths, pred.shape[1])[..., None].to(pred.dtype)
    count = mask.sum() * pred.shape[-1]
    return ((pred - ref).abs() * mask).sum() / count.clamp(min=1)


def masked_mse(pred: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid frames and all columns."""
    mask = frame_mask(lengths, pred.shape[1])[..., None].to(pred.dtype)
    count = mask.sum() * pred.shape[-1]
    return (((pred - ref) ** 2) * mask).sum() / count.clamp(min=1)


def masked_variance(ref: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Variance of all values of ``ref`` on valid frames (one scalar over the batch)."""
    mask = frame_mask(lengths, ref.shape[1])[..., None].to(ref.dtype)
    count = (mask.sum() * ref.shape[-1]).clamp(min=1)
    mean = (ref * mask).sum() / count
    return (((ref - mean) ** 2) * mask).sum() / count


def masked_ppmc(pred: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor,
                eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation per utterance and column over valid frames: ``[B, n]``."""
    mask = frame_mask(lengths, pred.shape[1])[..., None].to(pred.dtype)
    count = mask.sum(1).clamp(min=1)
    pm = (pred * mask).sum(1, keepdim=True) / count[:, None]
    rm = (ref * mask).sum(1, keepdim=True) / count[:, None]
    pc = (pred - pm) * mask
    rc = (ref - rm) * mask
    cov = (pc * rc).sum(1)
    return cov / torch.sqrt((pc ** 2).sum(1) * (rc ** 2).sum(1) + eps)


def ppmc_loss(pred: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``1 - mean PPMC`` (mean over utterances and columns)."""
    return 1.0 - masked_ppmc(pred, ref, lengths).mean()


def si_sdr(est: torch.Tensor, ref: torch.Tensor, lengths: torch.Tensor,
           eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per utterance ``[B]`` of waveforms ``[B, S]`` over each one's
    first ``lengths`` samples (both zero-meaned there): the energy of the projection of
    ``est`` on ``ref`` over the energy of the rest."""
    mask = frame_mask(lengths, est.shape[1]).to(est.dtype)
    count = lengths.to(est.dtype).clamp(min=1)[:, None]
    est = (est - (est * mask).sum(1, keepdim=True) / count) * mask
    ref = (ref - (ref * mask).sum(1, keepdim=True) / count) * mask
    scale = (est * ref).sum(1, keepdim=True) / ((ref ** 2).sum(1, keepdim=True) + eps)
    target = scale * ref
    residual = est - target
    return 10 * torch.log10(((target ** 2).sum(1) + eps) / ((residual ** 2).sum(1) + eps))


def ppmc_per_target(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """PPMC of each column of ``pred [T, n]`` vs ``ref [T, n]``; NaN where a track is constant."""
    pc = pred - pred.mean(0)
    rc = ref - ref.mean(0)
    denom = np.sqrt((pc ** 2).sum(0) * (rc ** 2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (pc * rc).sum(0) / np.where(denom > 0, denom, 1), np.nan)
