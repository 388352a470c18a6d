"""The config schema: one typed dataclass per section (``data``, ``model``, ``train``, ``log``, ``restore``,
``hints``); every key is a field with its default and a one-line docstring."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration file or override that does not fit the schema."""


RESIZE_MODES = ("squash", "random_crop", "center_crop", "random_resized_crop")
"""The values of ``data.resize`` (the data pipeline imports them from here)."""
CROP_SCALE = (0.25, 1.0)
"""Default share of the photo's area that a random resized crop keeps (``data.crop_scale``)."""
CROP_RATIO = (0.75, 4.0 / 3.0)
"""Default aspect ratio of a random resized crop relative to the photo's own (``data.crop_ratio``)."""


@dataclass
class DataConfig:
    """Training and validation photos, and how they become training samples."""

    train: str = "data/samples"
    """Training photos: a folder (searched recursively) or a text file with one path per line."""
    val: str = ""
    """Held-out photos (folder or list); empty: hold out ``val_fraction`` of ``train`` with ``seed``."""
    val_fraction: float = 0.1
    """Share of ``train`` held out for validation when ``val`` is empty."""
    size: int = 256
    """Training resolution (square, a multiple of 32: the encoder's stride)."""
    resize: str = "squash"
    """How a photo becomes ``size x size``: squash (the original), random_crop or center_crop (the largest square,
    aspect kept), or random_resized_crop (a random part of the photo, ``crop_scale`` / ``crop_ratio``, squashed)."""
    crop_scale: list[float] = field(default_factory=lambda: list(CROP_SCALE))
    """With random_resized_crop: the range of the crop's share of the photo's area."""
    crop_ratio: list[float] = field(default_factory=lambda: list(CROP_RATIO))
    """With random_resized_crop: the range of the crop's aspect ratio relative to the photo's own (log-uniform)."""
    flip: bool = True
    """Random horizontal flips of training photos."""
    min_colorfulness: float = 10.0
    """Photos less colourful than this (Hasler-Suesstrunk) are grayscale and skipped; 0 keeps everything."""
    batch_size: int = 16
    """Per process; the global batch is batch_size x world_size x accum_steps."""
    workers: int = 4
    """DataLoader worker processes per training process (persistent, one OpenCV thread each)."""
    prefetch_factor: int = 4
    """Batches each worker prepares ahead."""


@dataclass
class ModelConfig:
    """The generator (U-Net over a ResNet18 encoder) and the PatchGAN discriminator."""

    encoder_weights: str = "imagenet"
    """imagenet (timm's hub weights), auto (imagenet when cached or downloadable within seconds, else random),
    none (random), or a path to a local .pth / .safetensors file."""
    decoder_channels: list[int] = field(default_factory=lambda: [256, 128, 64, 32, 16])
    """Output channels of the five decoder blocks, from stride 16 down to full resolution."""
    disc_channels: int = 64
    """Width of the PatchGAN's first layer (doubles per layer up to 8x)."""
    hints: bool = False
    """Colour hints: the generator also takes a hint ab map and a hint mask (3 more input channels)."""


@dataclass
class TrainConfig:
    """The two stages (L1 pretraining, then GAN + L1), the optimizer, precision and processes."""

    pretrain_epochs: int = 20
    """Epochs of the L1-only generator stage."""
    gan_epochs: int = 100
    """Epochs of the adversarial stage (GAN + lambda_l1 x L1)."""
    time_budget_min: float = 0.0
    """If > 0: a wall-clock budget for both stages together (epochs become upper bounds)."""
    pretrain_fraction: float = 0.5
    """With a time budget: the share of it spent in the pretrain stage."""
    max_steps_per_epoch: int = 0
    """If > 0: cut each epoch after this many optimizer steps (quick experiments and tests)."""
    lr: float = 2e-4
    """Adam's learning rate, for both networks."""
    beta1: float = 0.5
    """Adam's beta1, for both networks."""
    beta2: float = 0.999
    """Adam's beta2, for both networks."""
    lambda_l1: float = 100.0
    """Weight of the reconstruction (L1) loss in the generator's GAN-stage loss."""
    gan_loss: str = "bce"
    """bce (BCEWithLogits, the original) or lsgan (least squares)."""
    label_smoothing: float = 0.0
    """Target for real patches is 1 - label_smoothing in the discriminator's loss."""
    ema_decay: float = 0.0
    """If > 0: keep an EMA of the generator's weights (e.g. 0.999); validation, best.pt, export and inference use it."""
    lr_schedule: str = "constant"
    """constant (the original), linear (pix2pix: constant, then linear decay to 0) or cosine; per stage."""
    lr_decay_fraction: float = 0.5
    """With lr_schedule=linear: the last share of each stage over which the learning rate decays to 0."""
    lr_d_scale: float = 1.0
    """The discriminator's learning rate is lr x lr_d_scale (two time-scale updates when != 1)."""
    rec_loss: str = "l1"
    """The generator's reconstruction loss: l1 (the original) or huber (smooth L1 below huber_delta)."""
    huber_delta: float = 0.1
    """With rec_loss=huber: the threshold between quadratic and absolute error, in units of ab / 128."""
    rebalance: float = 0.0
    """Colour rebalancing strength s in [0, 1]: pixels weigh (share of their ab cell in the batch)^-s; 0 is off."""
    precise_bn: int = 128
    """Training photos (squashed as inference does) over which the generator's BatchNorm statistics are recomputed
    before each validation and checkpoint; 0 keeps the running averages of training (the original)."""
    precision: str = "auto"
    """auto (bf16 on a GPU that supports it, else fp32), fp32, bf16 or fp16."""
    channels_last: bool = False
    """Channels-last memory format for both networks."""
    compile: bool = False
    """``torch.compile`` both networks."""
    sync_bn: bool = False
    """SyncBatchNorm across processes (CUDA only)."""
    accum_steps: int = 1
    """Micro-batches per optimizer step (gradient accumulation)."""
    seed: int = 0
    """Seeds the weights, the validation split, the data order and the augmentation."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N (under torchrun the local rank picks the GPU)."""
    threads: int = 0
    """torch intra-op threads per process; 0 keeps torch's default."""
    init_generator: str = ""
    """A checkpoint whose generator starts this run (e.g. the GAN stage from a pretrained generator)."""
    dist_timeout_min: float = 30.0
    """Timeout of collective operations: a rank that dies cannot hang the others longer than this."""


@dataclass
class LogConfig:
    """Where a run writes and how often it reports."""

    dir: str = "runs"
    """Parent folder of run folders."""
    name: str = ""
    """Run folder name; empty: the config file's stem. An existing folder gets a numbered sibling."""
    every: int = 10
    """Steps between metric lines in the progress bar and the log."""
    samples: int = 6
    """Validation photos drawn in each epoch's sample grid."""
    tensorboard: bool = False
    """Also log to TensorBoard (``pip install -e ".[tensorboard]"``)."""


@dataclass
class DamageConfig:
    """Probability (``p_*``) and strength in ``[0, 1]`` (``s_*``) of each effect."""

    p_scratches: float = 0.6
    """Probability that a photo gets thin bright or dark curves."""
    s_scratches: float = 0.5
    """Strength of thin bright or dark curves, in [0, 1]."""
    p_stripes: float = 0.25
    """Probability that a photo gets vertical stripes and streaks."""
    s_stripes: float = 0.5
    """Strength of vertical stripes and streaks, in [0, 1]."""
    p_dust: float = 0.5
    """Probability that a photo gets dust and spots."""
    s_dust: float = 0.5
    """Strength of dust and spots, in [0, 1]."""
    p_grain: float = 0.6
    """Probability that a photo gets film grain and noise."""
    s_grain: float = 0.4
    """Strength of film grain and noise, in [0, 1]."""
    p_blur: float = 0.3
    """Probability that a photo gets blur."""
    s_blur: float = 0.4
    """Strength of blur, in [0, 1]."""
    p_jpeg: float = 0.3
    """Probability that a photo gets JPEG blocking."""
    s_jpeg: float = 0.5
    """Strength of JPEG blocking, in [0, 1]."""
    p_fade: float = 0.5
    """Probability that a photo gets faded contrast."""
    s_fade: float = 0.5
    """Strength of faded contrast, in [0, 1]."""
    p_exposure: float = 0.4
    """Probability that a photo gets uneven exposure."""
    s_exposure: float = 0.5
    """Strength of uneven exposure, in [0, 1]."""
    p_tears: float = 0.15
    """Probability that a photo gets torn or missing regions at an edge."""
    s_tears: float = 0.5
    """Strength of torn or missing regions at an edge, in [0, 1]."""


@dataclass
class RestoreConfig(DamageConfig):
    """Restoration mode: synthetic damage on the training L, and a generator that predicts L as well as ab.

    The ``p_*`` / ``s_*`` keys inherited from :class:`DamageConfig` are each effect's probability and strength.
    """

    enabled: bool = False
    """Train a restoration model: 3 outputs (L, a, b), the target is the clean photo."""
    l_weight: float = 1.0
    """Weight of the L channel in the L1 loss (a and b weigh 1)."""

    def damage_config(self) -> DamageConfig:
        return DamageConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(DamageConfig)})


@dataclass
class HintConfig:
    """How training simulates a person's colour hints (used when ``model.hints`` is true), after Zhang et al. 2017."""

    p: float = 0.125
    """Geometric parameter of the number of points: no hint for a share p of photos, (1 - p) / p on average."""
    max_points: int = 64
    """Upper bound on the points of one photo."""
    patch_min: int = 1
    """Smallest side of a square hint patch, in pixels at 256x256 (scaled with data.size)."""
    patch_max: int = 9
    """Largest side of a square hint patch, in pixels at 256x256 (scaled with data.size)."""
    position: str = "gaussian"
    """gaussian (around the centre) or uniform."""
    sigma: float = 0.25
    """Standard deviation of gaussian positions, as a fraction of the image side."""


@dataclass
class Config:
    """The whole configuration: one section per dataclass above."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    restore: RestoreConfig = field(default_factory=RestoreConfig)
    hints: HintConfig = field(default_factory=HintConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
