"""Everything before the first step: process group, run folder, data, models, the trainer.

:func:`setup` builds a :class:`~unet_resnet.training.state.Run` from a config (or from a checkpoint to resume).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn

from unet_resnet.config import Config, ConfigError, dump_config
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.photos import DataError, TrainingPhotos, select_training_photos
from unet_resnet.models.checkpoint import CheckpointError, load_generator
from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import UNetGenerator, model_spec
from unet_resnet.runtime.backends import configure_backends
from unet_resnet.runtime.distributed import DistInfo, broadcast_object, init_distributed
from unet_resnet.runtime.precision import resolve_precision
from unet_resnet.training.bn_stats import PreciseBN
from unet_resnet.training.progress import STAGES, Progress
from unet_resnet.training.record import encoder_source, run_record
from unet_resnet.training.schedule import sqrt_scaled_lr
from unet_resnet.training.state import Run, load_training_checkpoint
from unet_resnet.training.trainer import Pix2PixTrainer

log = logging.getLogger(__name__)


def setup(cfg: Config, stage: str = "both", resume: str | None = None) -> Run:
    """A run ready for the loop. ``stage``: ``both``, ``pretrain`` or ``gan``; ``resume``: a training checkpoint.

    A new run gets a new folder (``log.dir/log.name``, numbered if taken); a resumed run writes beside its checkpoint.
    Raises ``ConfigError``, ``DataError``, ``CheckpointError`` or ``EncoderWeightsError`` with what to change.
    """
    info = init_distributed(cfg.train.device, cfg.train.dist_timeout_min)
    configure_backends(info.device)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    writer_class = tensorboard_writer(cfg, info)  # checked before anything is written
    state = load_training_checkpoint(resume) if resume else None
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    encoder_weights, encoder_note = encoder_source(cfg, resumed=state is not None)
    G, D = build_models(cfg, info, from_checkpoint=state is not None, encoder_weights=encoder_weights)
    spec = model_spec(cfg.model.decoder_channels, G.out_channels, cfg.data.size, cfg.model.hints)  # type: ignore[arg-type]
    trainer = Pix2PixTrainer(G, D, cfg, info, resolve_precision(cfg.train.precision, info.device))
    train_set, val_set = build_data(cfg, info)
    stages = list(STAGES) if stage == "both" else [stage]
    run_dir = Path(resume).parent if resume else make_run_dir(cfg, info)
    progress = Progress(stages[0], world_size=info.world_size)
    run = Run(cfg, info, run_dir, trainer, spec, train_set, val_set, progress, stages)
    # a list may name a photo many times (the demo's does): the record counts photos, not listings
    run.record = run_record(cfg, info, len(set(train_set.paths)), len(val_set), encoder_note)
    if cfg.train.precise_bn > 0:
        bn_set = bn_dataset(train_set)
        run.precise_bn = PreciseBN(
            bn_set, cfg.train.precise_bn, cfg.train.seed, cfg.data.batch_size, cfg.train.channels_last
        )
    if state is not None:
        run.load_state(state)
    if info.is_main:
        dump_config(cfg, run_dir / RUN_CLAIM)
        log_run(run)
    if writer_class is not None:
        run.writer = writer_class(str(run_dir / "tensorboard"))
    return run


def log_run(run: Run) -> None:
    """The run folder, and the effective batch size and learning rate (what to quote when comparing runs)."""
    cfg, info = run.cfg, run.info
    global_batch = cfg.data.batch_size * info.world_size * cfg.train.accum_steps
    log.info("run folder: %s", run.run_dir)
    log.info(
        "device %s, %d process(es), precision %s; batch %d per process, %d global "
        "(batch_size x world_size x accum_steps); lr %g (the square-root rule gives %.3g for this global batch)",
        info.device,
        info.world_size,
        cfg.train.precision,
        cfg.data.batch_size,
        global_batch,
        cfg.train.lr,
        sqrt_scaled_lr(global_batch),
    )


def tensorboard_writer(cfg: Config, info: DistInfo) -> Any:
    """TensorBoard's ``SummaryWriter`` class when rank 0 should log to it, else None."""
    if not (cfg.log.tensorboard and info.is_main):
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ConfigError(
            "log.tensorboard is true but TensorBoard is not installed: pip install 'unet_resnet[tensorboard]'"
        ) from exc
    return SummaryWriter


def make_run_dir(cfg: Config, info: DistInfo) -> Path:
    """``log.dir/log.name``, or a numbered sibling if that is taken: an earlier run is never overwritten, and two
    runs started at once never share a folder (see :func:`claim_run_dir`)."""
    chosen: list[str] = [""]
    if info.is_main:
        chosen[0] = str(claim_run_dir(Path(cfg.log.dir) / (cfg.log.name or "run")))
    if info.distributed:
        dist.broadcast_object_list(chosen, src=0)
    return Path(chosen[0])


RUN_CLAIM = "config.yaml"
"""The file whose exclusive creation claims a run folder (the run's config is written into it afterwards)."""


def claim_run_dir(base: Path) -> Path:
    """``base`` or the first of ``base-2``, ``base-3``, ... that is free, claimed atomically.

    A folder is free when it is missing or empty. Checking, then creating, is not enough (a second process can
    check in between), so a folder is taken by creating its :data:`RUN_CLAIM` with ``O_EXCL``: of two processes
    only one can, and the other moves on to the next name.
    """
    n = 1
    while True:
        run_dir = base if n == 1 else base.with_name(f"{base.name}-{n}")
        run_dir.mkdir(parents=True, exist_ok=True)
        if not any(run_dir.iterdir()):
            try:
                os.close(os.open(run_dir / RUN_CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                return run_dir
            except FileExistsError:
                pass  # claimed by another run between our look and our claim
        n += 1


def build_data(cfg: Config, info: DistInfo) -> tuple[LabDataset, LabDataset]:
    """Training and validation sets: lists read, held-out photos kept out of training, grayscale photos skipped.

    The lists are read on rank 0 alone and broadcast, so every rank trains on the same list (and runs the same
    number of steps) whatever it can read; no photo is decoded before the first step (grayscale and unreadable
    photos without a listed colorfulness are skipped when loaded)."""
    d = cfg.data
    photos: TrainingPhotos = broadcast_object(
        select_training_photos(d.train, d.val, d.val_fraction, cfg.train.seed, d.min_colorfulness)
        if info.is_main
        else None
    )
    train_paths, val_paths = photos.train, photos.val
    if info.is_main:
        if photos.overlap:
            log.warning("%d photos are in both data.train and data.val; they are kept out of training", photos.overlap)
        log.info(
            "training photos: %d kept (%d different), %d skipped as grayscale by their listed colorfulness (< %g), "
            "%d checked for colour when loaded (lists written by unet-resnet prepare state it)",
            len(train_paths),
            len(set(train_paths)),
            photos.grayscale,
            d.min_colorfulness,
            photos.unmeasured if d.min_colorfulness > 0 else 0,
        )
        log.info("validation photos: %d", len(val_paths))
    need = d.batch_size * info.world_size * cfg.train.accum_steps
    if len(train_paths) < need:
        raise DataError(
            f"{d.train}: {len(train_paths)} usable training photos, but one optimizer step needs "
            f"batch_size x world_size x accum_steps = {d.batch_size} x {info.world_size} x "
            f"{cfg.train.accum_steps} = {need}; add photos or lower data.batch_size"
        )
    val_resize = inference_resize(d.resize)
    damage = cfg.restore.damage_config() if cfg.restore.enabled else None
    hints = cfg.hints if cfg.model.hints else None  # validation scores automatic colorization (no hints)
    return (
        LabDataset(
            train_paths,
            d.size,
            d.resize,
            d.flip,
            seed=cfg.train.seed,
            damage=damage,
            hints=hints,
            crop_scale=d.crop_scale,
            crop_ratio=d.crop_ratio,
            min_colorfulness=d.min_colorfulness,
            colorfulness=photos.train_colorfulness,
        ),
        LabDataset(val_paths, d.size, val_resize, flip=False, damage=damage),  # the same damage every epoch
    )


def inference_resize(mode: str) -> str:
    """How validation (and precise BN) prepare a photo for ``data.resize = mode``: as inference does, the whole photo
    squashed, or for square crops the centre square."""
    return {"random_crop": "center_crop", "random_resized_crop": "squash"}.get(mode, mode)


def bn_dataset(train_set: LabDataset) -> LabDataset:
    """The training photos as inference prepares them (no crop, no flip), with the training set's damage and simulated
    hints, so precise BN sees the inputs the model will see; the randomness of damage and hints is seeded per photo."""
    return LabDataset(
        train_set.paths,
        train_set.size,
        inference_resize(train_set.resize),
        flip=False,
        seed=train_set.seed,
        damage=train_set.damage,
        hints=train_set.hints,
        min_colorfulness=train_set.min_colorfulness,
        colorfulness=train_set.colorfulness,
    )


def load_generator_weights(G: nn.Module, source: nn.Module, path: str) -> None:
    """Start ``G`` from ``source``, the generator of ``path`` (a checkpoint, exported generator, model folder or
    Hub id)."""
    missing, unexpected = G.load_state_dict(source.state_dict(), strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: its generator does not fit this config (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); check model.decoder_channels"
        )


def adopt_architecture(cfg: Config, spec: dict[str, Any], path: str) -> None:
    """Fine-tuning keeps the starting model's architecture: its decoder widths replace the config's (with a log
    line when they differ); a hint or restoration model can only start a run of the same kind."""
    if list(cfg.model.decoder_channels) != list(spec["decoder_channels"]):
        log.info(
            "model.decoder_channels %s from %s (was %s)", spec["decoder_channels"], path, cfg.model.decoder_channels
        )
        cfg.model.decoder_channels = list(spec["decoder_channels"])
    if bool(spec.get("hints", False)) != cfg.model.hints:
        raise ConfigError(f"train.init_generator {path} is a model with hints={spec.get('hints', False)}: set "
                          f"model.hints to {str(bool(spec.get('hints', False))).lower()}")  # fmt: skip
    if (int(spec["out_channels"]) == 3) != cfg.restore.enabled:
        raise ConfigError(f"train.init_generator {path} is {'a' if spec['out_channels'] == 3 else 'not a'} "
                          "restoration model: set restore.enabled to match")  # fmt: skip


def build_models(
    cfg: Config, info: DistInfo, from_checkpoint: bool, encoder_weights: str | None = None
) -> tuple[nn.Module, nn.Module]:
    """The bare generator (2 ab channels, or 3 = L + ab in restoration mode) and PatchGAN, on the CPU.

    ``encoder_weights``: what the encoder is built from (default: ``model.encoder_weights``; ``auto`` resolved by
    :func:`unet_resnet.training.record.encoder_source`)."""
    out_channels = 3 if cfg.restore.enabled else 2
    weights = encoder_weights or cfg.model.encoder_weights
    if from_checkpoint or cfg.train.init_generator:
        weights = "none"
    source = None
    if cfg.train.init_generator and not from_checkpoint:
        source, spec = load_generator(cfg.train.init_generator)
        adopt_architecture(cfg, spec, cfg.train.init_generator)
    G: nn.Module = UNetGenerator(weights, cfg.model.decoder_channels, out_channels, hints=cfg.model.hints)
    if source is not None:
        load_generator_weights(G, source, cfg.train.init_generator)
        if info.is_main:
            log.info("generator initialised from %s", cfg.train.init_generator)
    D: nn.Module = PatchDiscriminator(in_channels=1 + out_channels, base=cfg.model.disc_channels)
    return G, D
