"""Typed configuration: dataclass defaults, a YAML file over them, then ``section.key=value`` overrides.

Every key is checked: an unknown or mistyped key is a :class:`ConfigError` that names it (and the closest valid
key), never a silent default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration file or override that does not fit the schema."""


@dataclass
class DataConfig:
    train: str = "data/samples"
    """Training photos: a folder (searched recursively) or a text file with one path per line."""
    val: str = ""
    """Held-out photos (folder or list); empty: hold out ``val_fraction`` of ``train`` with ``seed``."""
    val_fraction: float = 0.1
    size: int = 256
    """Training resolution (square)."""
    resize: str = "squash"
    """How a photo becomes ``size x size``: squash (the original), random_crop or center_crop (aspect kept)."""
    flip: bool = True
    min_colorfulness: float = 10.0
    """Photos less colourful than this (Hasler-Suesstrunk) are grayscale and skipped; 0 keeps everything."""
    batch_size: int = 16
    """Per process; the global batch is batch_size x world_size x accum_steps."""
    workers: int = 4
    """DataLoader worker processes per training process."""


@dataclass
class ModelConfig:
    encoder_weights: str = "imagenet"
    """imagenet (timm's hub weights), none (random), or a path to a local .pth / .safetensors file."""
    decoder_channels: list[int] = field(default_factory=lambda: [256, 128, 64, 32, 16])
    """Output channels of the five decoder blocks, from stride 16 down to full resolution."""
    disc_channels: int = 64
    """Width of the PatchGAN's first layer (doubles per layer up to 8x)."""
    hints: bool = False
    """Colour hints: the generator also takes a hint ab map and a hint mask (3 more input channels)."""


@dataclass
class TrainConfig:
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
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0
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
    precision: str = "auto"
    """auto (bf16 on a GPU that supports it, else fp32), fp32, bf16 or fp16."""
    channels_last: bool = False
    compile: bool = False
    sync_bn: bool = False
    """SyncBatchNorm across processes (CUDA only)."""
    accum_steps: int = 1
    """Micro-batches per optimizer step (gradient accumulation)."""
    seed: int = 0
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
    dir: str = "runs"
    """Parent folder of run folders."""
    name: str = ""
    """Run folder name; empty: the config file's stem. An existing folder gets a numbered sibling."""
    every: int = 10
    """Steps between metric lines in the progress bar and the log."""
    samples: int = 6
    """Validation photos drawn in each epoch's sample grid."""
    tensorboard: bool = False


@dataclass
class DamageConfig:
    """Probability (``p_*``) and strength in ``[0, 1]`` (``s_*``) of each effect."""

    p_scratches: float = 0.6
    s_scratches: float = 0.5
    p_stripes: float = 0.25
    s_stripes: float = 0.5
    p_dust: float = 0.5
    s_dust: float = 0.5
    p_grain: float = 0.6
    s_grain: float = 0.4
    p_blur: float = 0.3
    s_blur: float = 0.4
    p_jpeg: float = 0.3
    s_jpeg: float = 0.5
    p_fade: float = 0.5
    s_fade: float = 0.5
    p_exposure: float = 0.4
    s_exposure: float = 0.5
    p_tears: float = 0.15
    s_tears: float = 0.5


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
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    restore: RestoreConfig = field(default_factory=RestoreConfig)
    hints: HintConfig = field(default_factory=HintConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _section_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' expects a list, got {value!r}")
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"config key '{key}' got {value!r}, which fits none of {tp}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
    else:  # pragma: no cover - the schema only uses the types above
        raise ConfigError(f"config key '{key}' has an unsupported type {tp}")
    raise ConfigError(f"config key '{key}' expects {getattr(tp, '__name__', tp)}, got {value!r}")


def _unknown(key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(sorted(valid))})"
    return ConfigError(f"unknown config key '{key}'{hint}")


def _set(cfg: Config, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    sections = {f.name: f for f in dataclasses.fields(Config)}
    if len(parts) != 2:
        raise ConfigError(f"config key '{dotted}' must be of the form section.key, e.g. train.lr")
    section_name, key = parts
    if section_name not in sections:
        raise _unknown(section_name, list(sections))
    section = getattr(cfg, section_name)
    hints = _section_types(type(section))
    if key not in hints:
        raise _unknown(dotted, [f"{section_name}.{k}" for k in hints])
    setattr(section, key, _coerce(value, hints[key], dotted))


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<top>'}' must be a mapping, got {tree!r}")
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, name + "."))
        else:
            flat[name] = v
    return flat


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.lr=1e-4"`` -> ``("train.lr", 0.0001)``; the value is read as YAML (numbers, lists, booleans)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value, e.g. train.lr=1e-4")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{text}': cannot read the value ({exc})") from exc
    # YAML reads "1e-4" as a string; numbers in scientific notation are common here.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value) if any(c in value for c in ".eE") else int(value)
    return key.strip(), value


def validate(cfg: Config) -> None:
    """Checks of values (not only types); each error names the key and what would be valid."""
    choices = {
        "data.resize": (cfg.data.resize, ("squash", "random_crop", "center_crop")),
        "train.precision": (cfg.train.precision, ("auto", "fp32", "bf16", "fp16")),
        "train.gan_loss": (cfg.train.gan_loss, ("bce", "lsgan")),
        "train.lr_schedule": (cfg.train.lr_schedule, ("constant", "linear", "cosine")),
        "train.rec_loss": (cfg.train.rec_loss, ("l1", "huber")),
    }
    for key, (choice, allowed) in choices.items():
        if choice not in allowed:
            raise ConfigError(f"config key '{key}' is {choice!r}; choose one of {', '.join(allowed)}")
    positive = {
        "data.size": cfg.data.size,
        "data.batch_size": cfg.data.batch_size,
        "train.accum_steps": cfg.train.accum_steps,
        "log.every": cfg.log.every,
    }
    for key, number in positive.items():
        if number <= 0:
            raise ConfigError(f"config key '{key}' must be positive, got {number}")
    if cfg.data.size % 32:
        raise ConfigError(
            f"config key 'data.size' must be a multiple of 32 (the encoder's stride), got {cfg.data.size}"
        )
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise ConfigError(f"config key 'data.val_fraction' must be in [0, 1), got {cfg.data.val_fraction}")
    if not 0.0 <= cfg.train.pretrain_fraction <= 1.0:
        raise ConfigError(f"config key 'train.pretrain_fraction' must be in [0, 1], got {cfg.train.pretrain_fraction}")
    if min(cfg.train.pretrain_epochs, cfg.train.gan_epochs, cfg.data.workers, cfg.log.samples) < 0:
        raise ConfigError("epochs, data.workers and log.samples cannot be negative")
    if len(cfg.model.decoder_channels) != 5 or min(cfg.model.decoder_channels) <= 0:
        raise ConfigError(
            f"config key 'model.decoder_channels' needs five positive widths, got {cfg.model.decoder_channels}"
        )
    for f in dataclasses.fields(DamageConfig):
        if not 0.0 <= getattr(cfg.restore, f.name) <= 1.0:
            raise ConfigError(f"config key 'restore.{f.name}' must be in [0, 1], got {getattr(cfg.restore, f.name)}")
    if not 0.0 <= cfg.train.ema_decay < 1.0:
        raise ConfigError(
            f"config key 'train.ema_decay' must be in [0, 1) (0: off, 0.999 usual), got {cfg.train.ema_decay}"
        )
    for key, share in (
        ("train.lr_decay_fraction", cfg.train.lr_decay_fraction),
        ("train.rebalance", cfg.train.rebalance),
    ):
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"config key '{key}' must be in [0, 1], got {share}")
    for key, scale in (("train.lr_d_scale", cfg.train.lr_d_scale), ("train.huber_delta", cfg.train.huber_delta)):
        if scale <= 0:
            raise ConfigError(f"config key '{key}' must be positive, got {scale}")
    _validate_hints(cfg.hints)
    if not 0.0 <= cfg.train.label_smoothing < 0.5:
        raise ConfigError(f"config key 'train.label_smoothing' must be in [0, 0.5), got {cfg.train.label_smoothing}")


def _validate_hints(h: HintConfig) -> None:
    if not 0.0 < h.p <= 1.0:
        raise ConfigError(f"config key 'hints.p' must be in (0, 1] (1: never a hint), got {h.p}")
    if h.max_points < 0:
        raise ConfigError(f"config key 'hints.max_points' cannot be negative, got {h.max_points}")
    if not 1 <= h.patch_min <= h.patch_max:
        raise ConfigError(
            f"config keys 'hints.patch_min' and 'hints.patch_max' need 1 <= patch_min <= patch_max, "
            f"got {h.patch_min} and {h.patch_max}"
        )
    if h.position not in ("gaussian", "uniform"):
        raise ConfigError(f"config key 'hints.position' is {h.position!r}; choose one of gaussian, uniform")
    if h.sigma <= 0:
        raise ConfigError(f"config key 'hints.sigma' must be positive, got {h.sigma}")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``overrides`` (``section.key=value``)."""
    cfg = Config()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (the bundled ones are in configs/)")
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        try:
            for key, value in _flatten(tree).items():
                _set(cfg, key, value)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if not cfg.log.name:
            cfg.log.name = path.stem
    return apply_overrides(cfg, overrides or [])


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` overrides in order, then validate; returns ``cfg``."""
    for text in overrides:
        key, value = parse_override(text)
        _set(cfg, key, value)
    validate(cfg)
    return cfg


def config_from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a :class:`Config` from :meth:`Config.to_dict` output (e.g. the copy stored in a checkpoint)."""
    cfg = Config()
    for key, value in _flatten(tree).items():
        _set(cfg, key, value)
    return cfg


def dump_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
