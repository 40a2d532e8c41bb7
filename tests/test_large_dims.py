"""The WavLM-Large path on a CPU: a randomly initialised encoder with Large's dimensions
(24 transformer layers, 1024 wide, layer-norm conv encoder; no weights are downloadable
here) takes one joint training step with gradient checkpointing and decodes an utterance.
Short audio keeps it to ~20 s of CPU time (one thread) and ~6 GB peak (weights, gradients
and AdamW state of 315 M parameters)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sitool.datadir import TargetInfo
from sitool.inference import Inverter
from sitool.ssl.sizes import random_wavlm
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.joint_training import (joint_model_around, joint_train_steps,
                                           synthetic_joint_batch)
from sitool.training.config import TrainConfig
from sitool.training.experiment import TrainedModel
from sitool.training.normalisation import TargetNormaliser

pytestmark = pytest.mark.usefixtures("one_thread")


def test_wavlm_large_dims_joint_step_with_checkpointing_and_decode():
    encoder = random_wavlm("large")
    assert (encoder.num_layers, encoder.dim) == (25, 1024)
    assert sum(p.numel() for p in encoder.parameters()) > 300e6
    model = joint_model_around(encoder, gradient_checkpointing=True)
    assert encoder.model.encoder.gradient_checkpointing      # transformers' per-module flag
    top = encoder.model.encoder.layers[23].feed_forward.output_dense.weight
    before = top.detach().clone()
    conv = encoder.model.feature_extractor.conv_layers[0].conv.weight.detach().clone()

    losses = joint_train_steps(model, [synthetic_joint_batch([0.5, 0.35])])
    assert np.isfinite(losses["loss"]) and {"si", "se"} <= set(losses)
    assert not torch.equal(top.detach(), before)            # the top layer trained ...
    first_conv = encoder.model.feature_extractor.conv_layers[0].conv.weight
    assert torch.equal(first_conv, conv)                    # ... the frozen conv encoder did not
    assert all(p.dtype == torch.float32 for p in model.parameters())

    info = TargetInfo(names=["A", "B", "C"], units=["mm"] * 3, frame_rate=100.0)
    trained = TrainedModel(model.eval(), TrainConfig(model=model.cfg),
                           TargetNormaliser(info, np.zeros(3), np.ones(3)), Path("random"), 1)
    audio, _ = toy_utterance(np.random.default_rng(1), 0.45)
    result = Inverter(trained).invert(audio)
    assert result.targets.shape == (45, 3) and np.all(np.isfinite(result.targets))
    assert result.enhanced.shape == audio.shape
