"""STFT helpers of the SE head: magnitude/phase analysis and resynthesis with the noisy phase."""

from __future__ import annotations

import torch


class STFT:
    """Hann-windowed STFT at 16 kHz (default n_fft 400 = 25 ms, hop 160 = 10 ms, centred).

    Frame ``k`` is centred at sample ``k * hop``, i.e. ``t = k * hop / 16000``; an utterance of
    ``S`` samples has ``S // hop + 1`` frames.
    """

    def __init__(self, n_fft: int = 400, hop: int = 160):
        self.n_fft = n_fft
        self.hop = hop
        self.bins = n_fft // 2 + 1

    def frame_rate(self, sample_rate: int = 16000) -> float:
        return sample_rate / self.hop

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths, self.hop, rounding_mode="floor") + 1

    def _window(self, x: torch.Tensor) -> torch.Tensor:
        return torch.hann_window(self.n_fft, device=x.device, dtype=x.dtype)

    def complex(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``wav [B, S]`` → complex spectrum ``[B, frames, bins]``.

        With ``lengths``, each utterance is analysed over its own samples (the centring pad
        reflects at its own end, not at the batch's padding), and frames beyond its
        ``num_frames`` are zero; the result then does not depend on the batch."""
        window = self._window(wav)
        if lengths is None:
            return torch.stft(wav, self.n_fft, self.hop, window=window, center=True,
                              return_complex=True).transpose(1, 2)
        frames = self.num_frames(lengths)
        out = wav.new_zeros((wav.shape[0], int(frames.max()), self.bins), dtype=torch.complex64)
        for b, n in enumerate(lengths.tolist()):
            spec = torch.stft(wav[b, :n], self.n_fft, self.hop, window=window, center=True,
                              return_complex=True)
            out[b, :spec.shape[1]] = spec.transpose(0, 1)
        return out

    def magnitude(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.complex(wav, lengths).abs()

    def resynthesise(self, magnitude: torch.Tensor, reference: torch.Tensor,
                     lengths: torch.Tensor) -> torch.Tensor:
        """iSTFT of ``magnitude [B, frames, bins]`` with the phase of ``reference`` (complex,
        same shape), each utterance over its own ``lengths`` samples → ``[B, max(lengths)]``,
        zero beyond each length."""
        phase = reference / reference.abs().clamp(min=1e-8)
        spec = magnitude * phase
        frames = self.num_frames(lengths)
        window = self._window(magnitude)
        out = magnitude.new_zeros(magnitude.shape[0], int(lengths.max()))
        for b, n in enumerate(lengths.tolist()):
            out[b, :n] = torch.istft(spec[b, :int(frames[b])].transpose(0, 1), self.n_fft,
                                     self.hop, window=window, center=True, length=n)
        return out
