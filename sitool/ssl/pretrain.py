"""``sitool pretrain-ssl``: HuBERT-style self-supervised pretraining of a small SSL model.

Method (HuBERT's first iteration, scaled down):

1. Targets: Kaldi-compatible MFCCs (``torchaudio.compliance.kaldi.mfcc``, 25 ms / 10 ms) with
   deltas and delta-deltas, mean/variance-normalised per utterance, taken at every other frame
   so that target ``i`` is centred on a waveform model's frame ``i`` (both at ``320 i + 200``
   samples, 50 Hz; w2v-BERT's frame ``i`` is centred 5 ms later, at ``320 i + 280``);
   k-means (scikit-learn) turns them into ``num_clusters`` cluster ids. Optionally
   speed-perturbed copies of the training utterances get their own ids by the same centroids.
2. Model: a w2v-BERT Conformer on stacked filterbanks (the recipe), or a HuBERT or WavLM
   architecture (layer-norm conv feature encoder with few channels, a few narrow transformer
   layers), from a transformers config, plus a linear head to the clusters, used only
   during pretraining.
3. Masked prediction: spans of ``mask.length`` frames (starts drawn so that about
   ``mask.prob`` of the frames are covered) are replaced by the model's mask embedding;
   the loss is cross-entropy of the cluster id on masked frames.
4. Denoising (``noise.data``, WavLM's denoising pretraining; ``null``: clean input only): a
   fraction of the training crops gets noise added, while the targets stay those of the clean
   audio (``sitool.ssl.pretrain_noise``).

Only audio is used (never targets). The result is saved with ``save_pretrained`` plus its
feature-extractor config (``SeamlessM4TFeatureExtractor`` or ``Wav2Vec2FeatureExtractor``), so ``load_ssl_encoder(out)`` loads it like a hub model.
Work files (resolved config, train log, cluster centroids, checkpoints) go to ``out/pretrain/``;
``out/config.json`` is written last and marks a finished model.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from sitool.articulation.source import source_features
from sitool.audio import SAMPLE_RATE
from sitool.config import in_domain, to_dict
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.io import atomic_path, atomic_write_text, read_yaml, respect_umask, write_yaml
from sitool.locking import locks_output
from sitool.log import time_left
from sitool.ssl.encoder import SSLEncoder
from sitool.ssl.extract import MASK_WARNING, batch_by_length
from sitool.ssl.inputs import FrameGrid, default_filterbank_extractor, is_filterbank_model, model_inputs
from sitool.ssl.pretrain_noise import NoiseAdder, PretrainNoiseConfig

log = logging.getLogger(__name__)

HOP = 320          # samples per model frame (conv strides 5*2*2*2*2*2*2) -> 50 frames/s
FIELD = 400        # receptive field of the conv feature encoder (samples)
TARGET_GRID = FrameGrid(hop=HOP, field=FIELD)   # the cluster targets' frames (a waveform model's)
MFCC_HOP = 160     # Kaldi 10 ms frame shift at 16 kHz
VALID_MASKS = 4    # validation: every utterance is scored under this many (fixed) mask draws


# --------------------------------------------------------------------------- config


@dataclass
class PretrainModelConfig:
    arch: Literal["wavlm", "hubert", "w2v-bert"] = "w2v-bert"
    hidden_size: int = in_domain(">=1", 192)
    num_layers: int = in_domain(">=1", 4)
    num_heads: int = in_domain(">=1", 4)
    intermediate_size: int = in_domain(">=1", 768)
    conv_dim: int = in_domain(">=1", 32)
    conv_pos_kernel: int = in_domain(">=1", 32)
    conv_pos_groups: int = in_domain(">=1", 4)
    conformer_kernel: int = in_domain(">=1", 15)
    dropout: float = in_domain("[0, 1)", 0.1)
    layerdrop: float = in_domain("[0, 1)", 0.0)


@dataclass
class ClusterConfig:
    num_clusters: int = in_domain(">=2", 50)
    num_ceps: int = in_domain(">=1", 13)
    deltas: bool = True
    source_weight: float = in_domain(">=0", 0.0)  # > 0: append weight x (log2 F0/120 Hz, periodicity, aperiodicity)
    max_frames: int = in_domain(">=1", 100000)
    seed: int = in_domain(">=0", 0)


@dataclass
class MaskConfig:
    prob: float = in_domain("(0, 1]", 0.65)
    length: int = in_domain(">=1", 10)
    unmasked_weight: float = in_domain(">=0", 1.0)


@dataclass
class PretrainTrainConfig:
    steps: int = in_domain(">=1", 700)
    max_minutes: float = in_domain(">0", 10.0)
    valid_fraction: float = in_domain("(0, 1)", 0.1)
    crop_seconds: float = in_domain(">0", 3.0)
    speed_perturb: list[float] = in_domain(">0", default_factory=lambda: [0.9, 1.1])
    batch_seconds: float = in_domain(">0", 8.0)
    lr: float = in_domain(">0", 2.0e-3)
    warmup_fraction: float = in_domain("[0, 1]", 0.1)
    weight_decay: float = in_domain(">=0", 0.01)
    grad_clip: float = in_domain(">0", 5.0)
    seed: int = in_domain(">=0", 1)


@dataclass
class PretrainConfig:
    model: PretrainModelConfig = field(default_factory=PretrainModelConfig)
    clusters: ClusterConfig = field(default_factory=ClusterConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    train: PretrainTrainConfig = field(default_factory=PretrainTrainConfig)
    noise: PretrainNoiseConfig = field(default_factory=PretrainNoiseConfig)


# --------------------------------------------------------------------------- model


def transformers_config(config: PretrainModelConfig):
    """The transformers config of a model of the configured size: ``WavLMConfig`` or
    ``HubertConfig`` (a layer-norm conv feature encoder at 50 frames/s and a pre-LN
    transformer), or ``Wav2Vec2BertConfig`` (:func:`w2v_bert_config`)."""
    from transformers import HubertConfig, WavLMConfig

    if config.hidden_size % config.num_heads:
        raise SitoolError(f"model.hidden_size ({config.hidden_size}) must be divisible by "
                          f"model.num_heads ({config.num_heads})")
    if config.arch == "w2v-bert":
        return w2v_bert_config(config)
    if config.hidden_size % config.conv_pos_groups:
        raise SitoolError(f"model.hidden_size ({config.hidden_size}) must be divisible by "
                          f"model.conv_pos_groups ({config.conv_pos_groups})")
    common = dict(
        hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
        conv_dim=(config.conv_dim,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_bias=True,
        # layer-norm conv encoder + pre-LN transformer (as in the Large models): a padded,
        # masked batch gives exactly the per-utterance features.
        feat_extract_norm="layer", do_stable_layer_norm=True,
        num_conv_pos_embeddings=config.conv_pos_kernel,
        num_conv_pos_embedding_groups=config.conv_pos_groups,
        hidden_dropout=config.dropout, attention_dropout=config.dropout,
        activation_dropout=0.0, feat_proj_dropout=config.dropout, final_dropout=0.0,
        layerdrop=config.layerdrop,
        # SpecAugment defaults as in the hub checkpoints (only active when fine-tuning).
        mask_time_prob=0.05, mask_time_length=10,
    )
    if config.arch == "wavlm":
        return WavLMConfig(num_buckets=160, max_bucket_distance=400, **common)
    return HubertConfig(**common)


def w2v_bert_config(config: PretrainModelConfig):
    """A w2v-BERT (``Wav2Vec2BertConfig``) Conformer of the configured size reading stacked
    80-bin filterbanks (50 frames/s, as ``facebook/w2v-bert-2.0``), with rotary position
    embeddings (symmetric context, unlike the hub model's clipped relative keys) and depthwise
    convolutions of ``conformer_kernel`` frames."""
    from transformers import Wav2Vec2BertConfig

    return Wav2Vec2BertConfig(
        hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
        feature_projection_input_dim=160, position_embeddings_type="rotary",
        conv_depthwise_kernel_size=config.conformer_kernel,
        hidden_dropout=config.dropout, attention_dropout=config.dropout,
        activation_dropout=0.0, feat_proj_dropout=config.dropout,
        conformer_conv_dropout=config.dropout, final_dropout=0.0, layerdrop=config.layerdrop,
        mask_time_prob=0.05, mask_time_length=10, add_adapter=False)


def random_model(hf_config, seed: int = 0) -> nn.Module:
    """The transformers model (WavLM, HuBERT or w2v-BERT) of the config ``hf_config``,
    randomly initialised after seeding torch with ``seed``."""
    from transformers import AutoModel

    torch.manual_seed(seed)
    return AutoModel.from_config(hf_config)


def build_pretrain_model(config: PretrainModelConfig, seed: int = 0) -> nn.Module:
    """A randomly initialised model of the configured architecture and size (50 frames/s)."""
    return random_model(transformers_config(config), seed)


def save_hf_model(model: nn.Module, out: Path) -> None:
    """Write ``model`` in HF format into ``out`` (weights and feature-extractor config first,
    ``config.json`` last, each by rename), so a half-written dir never looks finished. A
    waveform model's feature extractor asks for an attention mask when the conv encoder is
    layer-normalised, as the hub's Large models' do (the group-norm Base models' do not); a
    w2v-BERT model gets w2v-BERT 2.0's filterbank extractor."""
    from transformers import Wav2Vec2FeatureExtractor

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".save.") as tmp:
        model.save_pretrained(tmp)
        if is_filterbank_model(model.config):
            extractor = default_filterbank_extractor(model.config)
        else:
            extractor = Wav2Vec2FeatureExtractor(
                feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=True,
                return_attention_mask=model.config.feat_extract_norm == "layer")
        extractor.save_pretrained(tmp)
        names = sorted(os.listdir(tmp), key=lambda n: n == "config.json")
        for name in names:
            respect_umask(Path(tmp) / name)      # save_pretrained's safetensors are 0600
            os.replace(Path(tmp) / name, out / name)


# --------------------------------------------------------------------------- targets


def frames_for(num_samples: int) -> int:
    """Model frames for ``num_samples`` of audio (0 when shorter than the receptive field)."""
    return TARGET_GRID.frames(num_samples)


def mfcc_features(wav: np.ndarray, num_ceps: int = 13, deltas: bool = True) -> np.ndarray:
    """MFCC (+Δ, ΔΔ) at the model's 50 frames/s: ``[frames_for(len(wav)), num_ceps*(1|3)]``.

    Kaldi MFCC frame ``2i`` and model frame ``i`` are centred on the same sample; features
    are mean/variance-normalised over the utterance."""
    import torchaudio.functional as AF
    from torchaudio.compliance import kaldi

    x = torch.from_numpy(np.asarray(wav, dtype=np.float32))[None] * 32768.0
    mfcc = kaldi.mfcc(x, num_ceps=num_ceps, sample_frequency=SAMPLE_RATE, dither=0.0)  # [F, C]
    if deltas:
        d1 = AF.compute_deltas(mfcc.T)
        d2 = AF.compute_deltas(d1)
        mfcc = torch.cat([mfcc, d1.T, d2.T], dim=1)
    feats = mfcc[0:2 * frames_for(len(wav)):2].numpy().astype(np.float64)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-5)
    return feats.astype(np.float32)


def source_columns(wav: np.ndarray, weight: float) -> np.ndarray:
    """``weight`` x (log2(F0 / 120 Hz), periodicity, aperiodicity) at the model's 50 frames/s,
    ``[frames_for(len(wav)), 3]``: the pitch and voicing that MFCCs leave out, on one scale
    for every speaker (``sitool.articulation.source``, read at the frames' centres)."""
    frames = frames_for(len(wav))
    centres = TARGET_GRID.centres_s(frames)
    rate = 100.0
    n_track = int(centres[-1] * rate) + 2 if frames else 1     # covers the last centre
    track = source_features(wav, SAMPLE_RATE, rate, n_frames=n_track)
    grid = np.arange(len(track)) / rate
    f0 = np.interp(centres, grid, track[:, 0])
    log_f0 = np.log2(np.maximum(f0, 1.0) / 120.0) * (f0 > 0)
    columns = [log_f0] + [np.interp(centres, grid, track[:, k]) for k in (1, 2)]
    return (weight * np.stack(columns, axis=1)).astype(np.float32)


def target_features(wav: np.ndarray, config: ClusterConfig) -> np.ndarray:
    """The frames k-means clusters: MFCCs, plus the source columns when
    ``config.source_weight`` > 0."""
    feats = mfcc_features(wav, config.num_ceps, config.deltas)
    if config.source_weight > 0:
        feats = np.concatenate([feats, source_columns(wav, config.source_weight)], axis=1)
    return feats


def fit_clusters(features: Sequence[np.ndarray], config: ClusterConfig):
    """k-means on (a random subset of at most ``max_frames``) frames of ``features``."""
    from sklearn.cluster import KMeans

    frames = np.concatenate(features)
    rng = np.random.default_rng(config.seed)
    if len(frames) > config.max_frames:
        frames = frames[rng.choice(len(frames), config.max_frames, replace=False)]
    if len(frames) < config.num_clusters:
        raise SitoolError(f"only {len(frames)} frames of audio for clusters.num_clusters="
                          f"{config.num_clusters}; give more audio or fewer clusters")
    kmeans = KMeans(n_clusters=config.num_clusters, n_init=1, max_iter=100,
                    random_state=config.seed)
    kmeans.fit(frames)
    return kmeans


# --------------------------------------------------------------------------- data


@dataclass
class Utterance:
    key: str             # "<set>/<utt>"
    wav: np.ndarray      # 16 kHz float32
    labels: np.ndarray   # int64 [frames_for(len(wav))]


def load_pretraining_audio(data_dirs: Sequence[str | os.PathLike], max_minutes: float,
                           seed: int, progress: bool = True) -> list[tuple[str, np.ndarray]]:
    """Audio of a random subset (at most ``max_minutes``, chosen by ``utt2dur``) of the
    utterances of ``data_dirs`` as ``(set/utt, wav)``, sorted by key. Utterances shorter
    than the receptive field are skipped (logged with a count)."""
    entries = []
    for data_dir in data_dirs:
        data = DataDir(data_dir)
        data.require("utt2spk", "utt2dur")
        for utt in data.utts:
            entries.append((data, utt, data.utt2dur[utt]))
    if not entries:
        raise SitoolError(f"no utterances in {', '.join(map(str, data_dirs))}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(entries))
    chosen, total = [], 0.0
    for i in order:
        if total >= max_minutes * 60:
            break
        chosen.append(entries[i])
        total += entries[i][2]
    chosen.sort(key=lambda e: (e[0].name, e[1]))
    out, short = [], 0
    for data, utt, _ in tqdm(chosen, desc="pretrain-ssl: audio", unit="utt", disable=not progress):
        wav = data.audio(utt)
        if len(wav) < FIELD + 10 * HOP:
            short += 1
            continue
        out.append((f"{data.name}/{utt}", wav))
    if short:
        log.info("skipped %d utterance(s) shorter than %.2f s", short,
                 (FIELD + 10 * HOP) / SAMPLE_RATE)
    if not out:
        raise SitoolError("no usable utterances for pretraining (all too short)")
    log.info("pretraining audio: %d utterances, %.1f min from %s", len(out),
             sum(len(w) for _, w in out) / SAMPLE_RATE / 60, ", ".join(map(str, data_dirs)))
    return out


def span_mask(num_frames: Sequence[int], total: int, prob: float, length: int,
              rng: np.random.Generator) -> np.ndarray:
    """Boolean ``[B, total]`` mask: per row ``b``, spans of ``length`` frames within the first
    ``num_frames[b]`` frames, ``round(prob * n / length)`` (at least 1) span starts drawn
    uniformly without replacement (spans may overlap)."""
    mask = np.zeros((len(num_frames), total), dtype=bool)
    for b, n in enumerate(num_frames):
        span = min(length, n)
        starts = n - span + 1
        count = min(starts, max(1, int(round(prob * n / span))))
        for s in rng.choice(starts, count, replace=False):
            mask[b, s:s + span] = True
    return mask


def make_batches(lengths: Sequence[int], batch_seconds: float,
                 rng: np.random.Generator | None) -> list[list[int]]:
    """Indices grouped by length into batches of at most ``batch_seconds`` padded audio;
    batch order shuffled when ``rng`` is given."""
    batches = batch_by_length(lengths, batch_seconds)
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def crop(utt: Utterance, crop_samples: int, rng: np.random.Generator | None
         ) -> tuple[np.ndarray, np.ndarray]:
    """A ``crop_samples`` window of ``utt`` starting on a frame boundary (random, or the
    start when ``rng`` is None) and the cluster ids of its frames."""
    n = len(utt.wav)
    if n <= crop_samples:
        return utt.wav, utt.labels
    last_start = (n - crop_samples) // HOP
    start = int(rng.integers(0, last_start + 1)) if rng is not None else 0
    wav = utt.wav[start * HOP:start * HOP + crop_samples]
    return wav, utt.labels[start:start + frames_for(len(wav))]


# --------------------------------------------------------------------------- training


class MaskedPredictor(nn.Module):
    """SSL model + linear cluster head; ``forward`` returns logits ``[B, T, K]``."""

    def __init__(self, model: nn.Module, num_clusters: int):
        super().__init__()
        self.encoder = SSLEncoder(model, model_inputs(model.config), name="pretrain")
        self.head = nn.Linear(model.config.hidden_size, num_clusters)

    def forward(self, wavs: torch.Tensor, lengths: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=MASK_WARNING)
            out = self.encoder.model(**self.encoder.prepare(wavs, lengths),
                                     mask_time_indices=mask)
        return self.head(out.last_hidden_state)


def _collate(pieces: Sequence[tuple[np.ndarray, np.ndarray]]):
    lengths = [len(w) for w, _ in pieces]
    frames = [len(lab) for _, lab in pieces]
    wavs = torch.zeros(len(pieces), max(lengths))
    labels = torch.full((len(pieces), max(frames)), -100, dtype=torch.long)
    for i, (w, lab) in enumerate(pieces):
        wavs[i, :len(w)] = torch.from_numpy(w)
        labels[i, :len(lab)] = torch.from_numpy(lab)
    return wavs, torch.tensor(lengths), labels


def _step(predictor: MaskedPredictor, pieces, mask_cfg: MaskConfig, rng: np.random.Generator):
    """Loss (masked frames, plus ``unmasked_weight`` x the loss on unmasked frames), number of
    masked frames and number of them predicted correctly, for one batch."""
    wavs, lengths, labels = _collate(pieces)
    # the model's frames: those of the targets' grid, or fewer (w2v-BERT's 560-sample frames)
    frames = predictor.encoder.frame_lengths(lengths).tolist()
    labels = labels[:, :max(frames)]
    for b, n in enumerate(frames):
        labels[b, n:] = -100
    mask = torch.from_numpy(span_mask(frames, labels.shape[1], mask_cfg.prob, mask_cfg.length, rng))
    logits = predictor(wavs, lengths, mask)
    chosen = mask & (labels >= 0)
    target = labels[chosen]
    scores = logits[chosen]
    loss = nn.functional.cross_entropy(scores, target)
    if mask_cfg.unmasked_weight > 0:
        unmasked = ~mask & (labels >= 0)
        loss = loss + mask_cfg.unmasked_weight * nn.functional.cross_entropy(
            logits[unmasked], labels[unmasked])
    correct = int((scores.argmax(-1) == target).sum())
    return loss, int(chosen.sum()), correct, target


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def evaluate(predictor: MaskedPredictor, valid: Sequence[Utterance], config: PretrainConfig,
             num_clusters: int) -> dict:
    """Masked-prediction loss/accuracy on ``valid`` (fixed crops, VALID_MASKS fixed mask draws
    per utterance), and chance:
    max(1/K, the rate of the most frequent cluster among the scored frames)."""
    predictor.eval()
    rng = np.random.default_rng(12345)
    crop_samples = int(config.train.crop_seconds * SAMPLE_RATE)
    pieces = [crop(u, crop_samples, None) for u in valid]
    loss_sum, count, correct, targets = 0.0, 0, 0, []
    for _ in range(VALID_MASKS):
        for batch in make_batches([len(w) for w, _ in pieces], config.train.batch_seconds, None):
            loss, n, c, target = _step(predictor, [pieces[i] for i in batch], config.mask, rng)
            loss_sum += loss.item() * n
            count += n
            correct += c
            targets.append(target)
    counts = np.bincount(torch.cat(targets).numpy(), minlength=num_clusters)
    chance = max(1.0 / num_clusters, counts.max() / max(1, counts.sum()))
    predictor.train()
    return {"loss": loss_sum / max(1, count), "acc": correct / max(1, count),
            "chance": float(chance), "frames": count}


def _check_work_dir(work: Path, config: PretrainConfig) -> None:
    """A partial run in ``work`` must have been started with the same config, once it has a
    checkpoint; before that (a run that failed early) its leftovers are cleared."""
    saved = work / "config.yaml"
    if saved.is_file() and read_yaml(saved) != to_dict(config):
        if not (work / "checkpoints" / "last.pt").is_file():
            log.info("%s: the earlier run there stopped before its first epoch ended; starting "
                     "afresh with this config", work)
            (work / "clusters.npy").unlink(missing_ok=True)  # possibly of the other config
            saved.unlink()
            return
        raise SitoolError(f"{work}: a partial pretraining with another config is there; pass "
                          "--overwrite to start again (or another --out)")


def _prepare_targets(audio: list[tuple[str, np.ndarray]], config: PretrainConfig, work: Path,
                     progress: bool) -> tuple[list[Utterance], np.ndarray]:
    """Cluster ids for every utterance; the centroids are saved to (and reused from)
    ``work/clusters.npy`` so a resumed run gets the same targets."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small FFTs: extra threads only add synchronisation
    try:
        feats = [target_features(w, config.clusters)
                 for _, w in tqdm(audio, desc="pretrain-ssl: MFCC", unit="utt",
                                  disable=not progress)]
    finally:
        torch.set_num_threads(threads)
    centroids_path = work / "clusters.npy"
    if centroids_path.is_file():
        centroids = np.load(centroids_path)
    else:
        t0 = time.time()
        kmeans = fit_clusters(feats, config.clusters)
        centroids = kmeans.cluster_centers_.astype(np.float32)
        with atomic_path(centroids_path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, centroids)
        log.info("k-means: %d clusters on %d frames in %.1f s", len(centroids),
                 min(sum(len(f) for f in feats), config.clusters.max_frames), time.time() - t0)
    utts = [Utterance(key, wav, assign_clusters(f, centroids)) for (key, wav), f in zip(audio, feats)]
    return utts, centroids


def assign_clusters(feats: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of every frame: int64 ``[frames]``."""
    dist = ((feats[:, None, :] - centroids[None]) ** 2).sum(-1)
    return dist.argmin(1).astype(np.int64)


def speed_perturb(wav: np.ndarray, factor: float) -> np.ndarray:
    """``wav`` played ``factor`` times faster (Kaldi-style speed perturbation: resampled, so
    tempo, pitch and formant frequencies all scale by ``factor``, like a shorter or longer
    vocal tract)."""
    import torchaudio.functional as AF

    x = torch.from_numpy(np.asarray(wav, dtype=np.float32))
    return AF.resample(x, orig_freq=int(round(SAMPLE_RATE * factor)), new_freq=SAMPLE_RATE).numpy()


def speed_perturbed_copies(utts: Sequence[Utterance], factors: Sequence[float],
                           centroids: np.ndarray, config: ClusterConfig,
                           progress: bool = True) -> list[Utterance]:
    """One copy of every utterance per factor (keys ``<key>@sp<factor>``), with cluster ids
    of its own features by the same centroids (the k-means is fitted on the originals)."""
    bad = [f for f in factors if not 0.5 <= f <= 2.0 or f == 1.0]
    if bad:
        raise SitoolError(f"train.speed_perturb: factors must lie in [0.5, 2] and differ from "
                          f"1 (the originals are always used), got {bad}")
    copies = []
    for utt in tqdm(utts, desc="pretrain-ssl: speed perturbation", unit="utt",
                    disable=not progress or not factors):
        for factor in factors:
            wav = speed_perturb(utt.wav, factor)
            labels = assign_clusters(target_features(wav, config), centroids)
            copies.append(Utterance(f"{utt.key}@sp{factor:g}", wav, labels))
    return copies


def _split_valid(utts: list[Utterance], config: PretrainTrainConfig
                 ) -> tuple[list[Utterance], list[Utterance]]:
    """(train, valid): a seeded random ``valid_fraction`` of the utterances (at least one)."""
    n_valid = max(1, int(round(config.valid_fraction * len(utts))))
    if len(utts) - n_valid < 1:
        raise SitoolError("pretrain-ssl needs at least 2 usable utterances (train + valid)")
    rng = np.random.default_rng(config.seed)
    valid_idx = set(rng.choice(len(utts), n_valid, replace=False).tolist())
    return ([u for i, u in enumerate(utts) if i not in valid_idx],
            [u for i, u in enumerate(utts) if i in valid_idx])


def pretraining_update(predictor: MaskedPredictor, optimizer, pieces, config: PretrainConfig,
                       rng: np.random.Generator) -> tuple[torch.Tensor, int, int]:
    """One optimizer update on a batch of ``(crop, labels)`` pieces (forward, masked-prediction
    loss, backward, gradient clipping, step); returns the loss and the number of masked frames
    and of those predicted correctly. The learning-rate schedule is the caller's."""
    loss, n, c, _ = _step(predictor, pieces, config.mask, rng)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(predictor.parameters(), config.train.grad_clip)
    optimizer.step()
    return loss, n, c


def _train_epoch(predictor: MaskedPredictor, optimizer, scheduler, train: list[Utterance],
                 config: PretrainConfig, epoch: int, max_steps: int, desc: str,
                 progress: bool, noise: NoiseAdder | None = None) -> tuple[float, float]:
    """One pass over random crops of ``train`` (at most ``max_steps`` updates), with
    ``noise`` added to the crops when given (their targets unchanged); returns the mean
    masked-frame loss and accuracy."""
    train_cfg = config.train
    rng = np.random.default_rng([train_cfg.seed, epoch])
    torch.manual_seed(train_cfg.seed * 100003 + epoch)  # dropout
    crop_samples = int(train_cfg.crop_seconds * SAMPLE_RATE)
    pieces = [crop(u, crop_samples, rng) for u in train]
    if noise is not None:   # its own generator: the crops, batches and masks stay as without
        noise_rng = np.random.default_rng([train_cfg.seed, epoch, 1])
        pieces = [(noise(wav, noise_rng), labels) for wav, labels in pieces]
    batches = make_batches([len(w) for w, _ in pieces], train_cfg.batch_seconds, rng)[:max_steps]
    loss_sum, count, correct = 0.0, 0, 0
    predictor.train()
    bar = tqdm(batches, desc=desc, unit="batch", disable=not progress, leave=False)
    for batch in bar:
        loss, n, c = pretraining_update(predictor, optimizer, [pieces[i] for i in batch], config,
                                        rng)
        scheduler.step()
        loss_sum += loss.item() * n
        count += n
        correct += c
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return loss_sum / max(1, count), correct / max(1, count)


def _log_line(record: dict, epochs: int) -> str:
    return (f"epoch {record['epoch']}/{epochs} steps {record['steps']} "
            f"train_loss {record['train_loss']:.4f} train_acc {record['train_acc']:.4f} "
            f"valid_loss {record['valid_loss']:.4f} valid_acc {record['valid_acc']:.4f} "
            f"chance {record['chance']:.4f} lr {record['lr']:.2e} time {record['seconds']:.1f}s")


@locks_output("out")
def pretrain_ssl(data_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                 config: PretrainConfig, overwrite: bool = False,
                 config_path: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Pretrain a small SSL model on the audio of ``data_dirs`` and save it to ``out``
    (HF format). Resumes from ``out/pretrain/checkpoints/last.pt``; a finished ``out`` is
    reused unless ``overwrite``. Returns ``out``."""
    if config.train.steps < 1 or config.train.batch_seconds <= 0 or config.train.crop_seconds <= 0:
        raise SitoolError("train.steps must be >= 1 and train.batch_seconds, train.crop_seconds > 0")
    out = Path(out)
    work = out / "pretrain"
    if overwrite and out.exists():
        shutil.rmtree(out)
    if (out / "config.json").is_file():
        log.info("%s: pretrained model exists, reusing it (--overwrite redoes it)", out)
        return out
    _check_work_dir(work, config)
    (work / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_yaml(work / "config.yaml", to_dict(config))
    atomic_write_text(work / "cmd", " ".join(sys.argv) + "\n")
    if config_path is not None:
        log.info("config: %s", config_path)

    train_cfg = config.train
    noise = NoiseAdder(config.noise) if config.noise.data is not None else None
    audio = load_pretraining_audio(data_dirs, train_cfg.max_minutes, train_cfg.seed, progress)
    utts, centroids = _prepare_targets(audio, config, work, progress)
    num_clusters = len(centroids)
    train, valid = _split_valid(utts, train_cfg)
    # copies of the training utterances only: a held-out utterance's copy would leak into training
    train += speed_perturbed_copies(train, train_cfg.speed_perturb, centroids, config.clusters,
                                    progress)

    predictor = MaskedPredictor(build_pretrain_model(config.model, seed=train_cfg.seed),
                                num_clusters)
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=train_cfg.lr,
                                  weight_decay=train_cfg.weight_decay)
    crop_samples = int(train_cfg.crop_seconds * SAMPLE_RATE)
    crop_lengths = [min(len(u.wav), crop_samples) for u in train]
    steps_per_epoch = len(make_batches(crop_lengths, train_cfg.batch_seconds, None))
    total_steps = train_cfg.steps
    epochs = math.ceil(total_steps / steps_per_epoch)  # the last one may stop early
    warmup = max(1, int(train_cfg.warmup_fraction * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, total_steps, warmup))

    checkpoint = work / "checkpoints" / "last.pt"
    history: list[dict] = []
    if checkpoint.is_file():
        try:
            state = torch.load(checkpoint, weights_only=True)
        except Exception as e:  # torch raises several types for damaged files
            raise SitoolError(f"{checkpoint}: unreadable checkpoint ({type(e).__name__}: {e}); "
                              "the file is damaged (cut short?): rerun with --overwrite to "
                              "pretrain again from scratch") from None
        predictor.load_state_dict(state["predictor"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        log.info("resuming from %s after epoch %d", checkpoint, len(history))
    log.info("pretraining %s (%.2f M parameters) on %d utts (%d valid), %d clusters, %d steps "
             "(%d epochs of %d)", config.model.arch,
             sum(p.numel() for p in predictor.encoder.parameters()) / 1e6, len(train), len(valid),
             num_clusters, total_steps, epochs, steps_per_epoch)

    for epoch in range(len(history) + 1, epochs + 1):
        t0 = time.time()
        train_loss, train_acc = _train_epoch(
            predictor, optimizer, scheduler, train, config, epoch,
            total_steps - scheduler.last_epoch, f"pretrain-ssl epoch {epoch}/{epochs}", progress,
            noise)
        scores = evaluate(predictor, valid, config, num_clusters)
        history.append({"epoch": epoch, "steps": scheduler.last_epoch, "train_loss": train_loss,
                        "train_acc": train_acc, "valid_loss": scores["loss"],
                        "valid_acc": scores["acc"], "chance": scores["chance"],
                        "lr": scheduler.get_last_lr()[0], "seconds": time.time() - t0})
        log.info(_log_line(history[-1], epochs))
        if epoch < epochs:
            log.info("pretraining: %s", time_left([h["seconds"] for h in history], epochs - epoch))
        with atomic_path(checkpoint) as tmp:
            torch.save({"predictor": predictor.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "history": history}, tmp)
        # rewritten from the checkpointed history, so a resumed run never repeats a line
        atomic_write_text(work / "train.log",
                          "".join(_log_line(r, epochs) + "\n" for r in history))

    write_yaml(work / "summary.yaml", {
        "arch": config.model.arch,
        "parameters": sum(p.numel() for p in predictor.encoder.parameters()),
        "num_clusters": num_clusters,
        "train_utts": len(train), "valid_utts": len(valid),
        "train_minutes": round(sum(len(u.wav) for u in train) / SAMPLE_RATE / 60, 2),
        "noise": None if noise is None else to_dict(config.noise),
        "steps": total_steps,
        "epochs": epochs,
        "valid_acc": round(float(history[-1]["valid_acc"]), 4),
        "chance": round(float(history[-1]["chance"]), 4),
        "first_epoch_valid_acc": round(float(history[0]["valid_acc"]), 4),
        "seconds": round(sum(h["seconds"] for h in history), 1),
    })
    save_hf_model(predictor.encoder.model, out)
    log.info("saved pretrained SSL model to %s (valid masked-prediction accuracy %.3f, chance "
             "%.3f)", out, history[-1]["valid_acc"], history[-1]["chance"])
    return out
