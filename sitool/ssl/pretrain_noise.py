"""Noisy input for denoising pretraining (the ``noise:`` section of ``conf/pretrain_ssl.yaml``).

WavLM's denoising masked speech modelling, scaled down: a random fraction ``prob`` of the
training crops gets a window of a noise recording added at an SNR drawn uniformly in
``snr_range`` (sitool's definition: P.56 active speech level of the crop against the noise
power, ``sitool.noise.snr``), while the targets stay the cluster ids of the clean crop. The
model thus learns to predict the clean speech's units from noisy speech. The noise comes
from a noise data dir written by ``sitool prepare-noise`` (the recipe's ``data/noise_train``,
disjoint from the test noise); a noise type is drawn uniformly, then one of its entries and an
offset, as ``sitool mix`` draws training mixtures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.config import in_domain
from sitool.errors import SitoolError
from sitool.mixture import load_noise_range, mix_signals, noise_segment
from sitool.noise.noisy_sets import PEAK_LIMIT, noise_by_type
from sitool.noise.snr import SILENCE_POWER, active_speech_level, mixture_gain, noise_power
from sitool.noise.sources import read_noise_dir

log = logging.getLogger(__name__)


@dataclass
class PretrainNoiseConfig:
    data: str | None = "data/noise_train"
    prob: float = in_domain("(0, 1]", 0.5)
    snr_range: list[float] = in_domain("finite", default_factory=lambda: [-5.0, 20.0])


class NoiseAdder:
    """Adds noise of ``config.data`` to a fraction ``config.prob`` of the crops it is given.

    Every random choice comes from the generator passed to :meth:`__call__`, so a seeded
    caller gets the same noisy crops on every run."""

    def __init__(self, config: PretrainNoiseConfig):
        if config.data is None:
            raise SitoolError("noise.data: no noise data dir given")
        if not 0.0 < config.prob <= 1.0:
            raise SitoolError(f"noise.prob must lie in (0, 1], got {config.prob}")
        if len(config.snr_range) != 2 or config.snr_range[0] > config.snr_range[1]:
            raise SitoolError(f"noise.snr_range must be [low, high] dB with low <= high, got "
                              f"{config.snr_range}")
        self.config = config
        try:
            groups = noise_by_type(read_noise_dir(config.data))
        except SitoolError as err:
            raise SitoolError(f"noise.data (denoising pretraining): {err}; or set "
                              "noise.data=null to pretrain on clean input") from None
        self.types = sorted(groups)
        self.noise_paths = {t: [s.noise_path for s in groups[t]] for t in self.types}
        seconds = sum(load_noise_range(path).size for paths in self.noise_paths.values()
                      for path in paths) / SAMPLE_RATE
        log.info("denoising pretraining: noise of %d type(s) (%s), %.1f s, from %s, on %.0f %% "
                 "of the crops at %g to %g dB SNR", len(self.types), ", ".join(self.types),
                 seconds, config.data, 100 * config.prob, *config.snr_range)

    def window(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``num_samples`` of a random noise entry from a random offset (looped when the entry
        is shorter)."""
        paths = self.noise_paths[self.types[int(rng.integers(len(self.types)))]]
        path = paths[int(rng.integers(len(paths)))]
        length = load_noise_range(path).size
        start = int(rng.integers(0, length - num_samples + 1)) if length > num_samples else 0
        return noise_segment(path, start / SAMPLE_RATE, num_samples)

    def __call__(self, wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``wav`` with noise at a random SNR (with probability ``prob``), else ``wav``.
        A crop without active speech, or a silent noise window, is left clean."""
        if rng.random() >= self.config.prob:
            return wav
        noise = self.window(wav.size, rng)
        snr_db = float(rng.uniform(*self.config.snr_range))
        power = noise_power(noise)
        if power <= SILENCE_POWER:
            return wav
        try:
            speech_power = active_speech_level(wav).power
        except SitoolError:   # a silent crop
            return wav
        mixed = mix_signals(wav, noise, mixture_gain(speech_power, power, snr_db), 1.0)
        peak = float(np.max(np.abs(mixed)))
        if peak > PEAK_LIMIT:
            mixed *= np.float32(PEAK_LIMIT / peak)
        return mixed
