"""The training run, top to bottom: set-up -> data -> models -> optimizers -> loop over stages -> save.

Stages: ``pretrain`` (generator alone, L1) then ``gan`` (discriminator + generator, adversarial + lambda x L1).
Runs as one process or under torchrun (DDP); only rank 0 writes files. Use it through ``train.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader
from tqdm import tqdm

from unet_resnet.config import Config, ConfigError, apply_overrides, config_from_dict, dump_config, load_config
from unet_resnet.data.dataset import DataError, KeyedSampler, LabDataset, filter_color, read_list, split_train_val
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.checkpoint import CheckpointError, load_generator
from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import EncoderWeightsError, UNetGenerator, model_spec
from unet_resnet.runtime.distributed import DistInfo, barrier, cleanup, init_distributed
from unet_resnet.training import ema as ema_io
from unet_resnet.training.ema import GeneratorEMA
from unet_resnet.training.losses import RecLoss, reconstruction_loss
from unet_resnet.training.schedule import apply_schedule, stage_progress
from unet_resnet.training.steps import AutocastFactory, Nets, Optim, gan_step, pretrain_step
from unet_resnet.training.validation import sample_grid, validate, write_sample_grid

log = logging.getLogger(__name__)

STAGES = ("pretrain", "gan")
EPOCH_KEY_STRIDE = 1_000_000  # sampler seeds of the gan stage never repeat those of the pretrain stage


class TrainingError(RuntimeError):
    """A run that cannot start or go on; the message says why and what to do."""


class NonFiniteLoss(TrainingError):
    pass


# ------------------------------------------------------------------------------------------------- precision
def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on a GPU that supports it, fp32 otherwise (CPU autocast is opt-in)."""
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs a CUDA device; on CPU use bf16 or fp32")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def autocast_factory(device: torch.device, dtype: torch.dtype) -> AutocastFactory:
    """One context for G and D: autocast in ``dtype``, or nothing for fp32."""

    def factory() -> AbstractContextManager[object]:
        if dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=dtype)

    return factory


# ------------------------------------------------------------------------------------------------- progress
@dataclass
class Progress:
    """Where a run is: the stage, the epoch within it, samples of that epoch already consumed on this rank."""

    stage: str = "pretrain"
    epoch: int = 0
    samples_done: int = 0
    step: int = 0
    elapsed: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    best: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "epoch": self.epoch,
            "samples_done": self.samples_done,
            "step": self.step,
            "elapsed": dict(self.elapsed),
            "best": dict(self.best),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Progress:
        return cls(
            d["stage"],
            int(d["epoch"]),
            int(d["samples_done"]),
            int(d["step"]),
            dict(d["elapsed"]),
            dict(d.get("best", {})),
        )


class StopFlags:
    """Ctrl-C and other reasons to stop, agreed on by all ranks after every step (no rank left in a collective)."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once

    def agree(self, info: DistInfo, time_up: bool, nonfinite: bool) -> tuple[bool, bool, bool]:
        flags = torch.tensor([self.interrupted, time_up, nonfinite], dtype=torch.int32, device=info.device)
        if info.distributed:
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        a, b, c = (bool(x) for x in flags.tolist())
        return a, b, c


# ------------------------------------------------------------------------------------------------- set-up
def make_run_dir(cfg: Config, info: DistInfo) -> Path:
    """``log.dir/log.name``, or a numbered sibling if that exists: an earlier run is never overwritten."""
    chosen: list[str] = [""]
    if info.is_main:
        base = Path(cfg.log.dir) / (cfg.log.name or "run")
        run_dir, n = base, 1
        while run_dir.exists() and any(run_dir.iterdir()):
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
        run_dir.mkdir(parents=True, exist_ok=True)
        chosen[0] = str(run_dir)
    if info.distributed:
        dist.broadcast_object_list(chosen, src=0)
    return Path(chosen[0])


def build_data(cfg: Config, info: DistInfo) -> tuple[LabDataset, LabDataset]:
    d = cfg.data
    train_paths = read_list(d.train)
    if d.val:
        val_paths = read_list(d.val)
        held = {p.resolve() for p in val_paths}
        overlap = [p for p in train_paths if p.resolve() in held]
        if overlap:
            log.warning(
                "%d photos are in both data.train and data.val (e.g. %s); they are kept out of training",
                len(overlap),
                overlap[0],
            )
            train_paths = [p for p in train_paths if p.resolve() not in held]
    else:
        train_paths, val_paths = split_train_val(train_paths, d.val_fraction, cfg.train.seed)
    train_paths, report = filter_color(train_paths, d.min_colorfulness)
    if info.is_main:
        log.info(
            "training photos: %d kept, %d skipped as grayscale (colorfulness < %g), %d unreadable",
            len(train_paths),
            len(report["grayscale"]),
            d.min_colorfulness,
            len(report["unreadable"]),
        )
        for path in report["unreadable"][:10]:
            log.warning("unreadable training photo skipped: %s", path)
        log.info("validation photos: %d", len(val_paths))
    need = d.batch_size * info.world_size * cfg.train.accum_steps
    if len(train_paths) < need:
        raise DataError(
            f"{d.train}: {len(train_paths)} usable training photos, but one optimizer step needs "
            f"batch_size x world_size x accum_steps = {d.batch_size} x {info.world_size} x "
            f"{cfg.train.accum_steps} = {need}; add photos or lower data.batch_size"
        )
    val_resize = "center_crop" if d.resize == "random_crop" else d.resize
    damage = cfg.restore.damage_config() if cfg.restore.enabled else None
    return (
        LabDataset(train_paths, d.size, d.resize, d.flip, seed=cfg.train.seed, damage=damage),
        LabDataset(val_paths, d.size, val_resize, flip=False, damage=damage),  # the same damage every epoch
    )


def load_generator_weights(G: nn.Module, path: str) -> None:
    """Start from the generator of a training checkpoint or an exported generator (``.pt`` / ``.safetensors``)."""
    source, _spec = load_generator(path)
    missing, unexpected = G.load_state_dict(source.state_dict(), strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: its generator does not fit this config (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); check model.decoder_channels"
        )


def build_models(cfg: Config, info: DistInfo, from_checkpoint: bool) -> tuple[nn.Module, nn.Module, int]:
    out_channels = 3 if cfg.restore.enabled else 2
    weights = "none" if (from_checkpoint or cfg.train.init_generator) else cfg.model.encoder_weights
    G: nn.Module = UNetGenerator(weights, cfg.model.decoder_channels, out_channels)
    if cfg.train.init_generator and not from_checkpoint:
        load_generator_weights(G, cfg.train.init_generator)
        if info.is_main:
            log.info("generator initialised from %s", cfg.train.init_generator)
    D: nn.Module = PatchDiscriminator(in_channels=1 + out_channels, base=cfg.model.disc_channels)
    return G, D, out_channels


def wrap(model: nn.Module, cfg: Config, info: DistInfo) -> nn.Module:
    """Device, memory format, SyncBatchNorm, DDP, then compile (checkpoints always save the bare module)."""
    model = model.to(info.device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if info.distributed:
        if cfg.train.sync_bn:
            if info.device.type != "cuda":
                raise ConfigError("train.sync_bn needs CUDA (SyncBatchNorm cannot run on CPU); set it to false")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DDP(model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
    if cfg.train.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    return model


def build_step_state(
    G: nn.Module, D: nn.Module, cfg: Config, info: DistInfo, dtype: torch.dtype
) -> tuple[Nets, Optim, Optim]:
    """The wrapped networks and both optimizers (Adam + a GradScaler, enabled for fp16) the engine's steps take."""
    Gw, Dw = wrap(G, cfg, info), wrap(D, cfg, info)
    D_frozen = torch.compile(D) if cfg.train.compile else D  # outside DDP, see engine.Nets
    nets = Nets(Gw, Dw, D_frozen, list(D.parameters()))  # type: ignore[arg-type]
    betas = (cfg.train.beta1, cfg.train.beta2)

    def optim(model: nn.Module, lr: float) -> Optim:
        adam = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
        return Optim(adam, torch.amp.GradScaler(info.device.type, enabled=dtype == torch.float16))

    return nets, optim(G, cfg.train.lr), optim(D, cfg.train.lr * cfg.train.lr_d_scale)


# ------------------------------------------------------------------------------------------------- the run
@dataclass
class Run:
    """Everything the loop touches, built once by :func:`setup`."""

    cfg: Config
    info: DistInfo
    run_dir: Path
    G: nn.Module  # bare modules (saved, validated)
    D: nn.Module
    nets: Nets  # what the steps call (wrapped)
    opt_G: Optim
    opt_D: Optim
    spec: dict[str, Any]
    train_set: LabDataset
    val_set: LabDataset
    autocast: AutocastFactory
    progress: Progress
    stages: list[str]
    writer: Any = None
    l1_weights: torch.Tensor | None = None
    ema: GeneratorEMA | None = None  # the weights users get (training.ema), when train.ema_decay > 0
    rec_loss: RecLoss | None = None  # None: the original L1

    def user_G(self) -> nn.Module:
        """The generator that is validated and saved for users: the EMA if one is kept, else the trained one."""
        return self.ema.module if self.ema is not None else self.G

    def checkpoint(self) -> dict[str, Any]:
        return {
            "format_version": ckpt_io.FORMAT_VERSION,
            "kind": "training",
            **ema_io.checkpoint_entries(ckpt_io.state_dict_of(self.G), self.ema),
            "discriminator": ckpt_io.state_dict_of(self.D),
            "opt_G": self.opt_G.opt.state_dict(),
            "opt_D": self.opt_D.opt.state_dict(),
            "scaler_G": self.opt_G.scaler.state_dict(),
            "scaler_D": self.opt_D.scaler.state_dict(),
            "progress": self.progress.to_dict(),
            "epoch": self.progress.epoch,
            "step": self.progress.step,
            "stage": self.progress.stage,
            "rng": ckpt_io.rng_state(),
            "config": self.cfg.to_dict(),
            "model": self.spec,
        }

    def save(self, name: str) -> Path:
        path = self.run_dir / name
        if self.info.is_main:
            ckpt_io.save_atomic(self.checkpoint(), path)
        return path


def setup(cfg: Config, stage: str = "both", resume: str | None = None) -> Run:
    info = init_distributed(cfg.train.device, cfg.train.dist_timeout_min)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    writer_class: Any = None  # checked before anything is written
    if cfg.log.tensorboard and info.is_main:
        try:
            from torch.utils.tensorboard import SummaryWriter as writer_class
        except ImportError as exc:
            raise ConfigError(
                "log.tensorboard is true but TensorBoard is not installed: pip install 'unet_resnet[tensorboard]'"
            ) from exc
    state: dict[str, Any] | None = None
    if resume:
        state = ckpt_io.load(resume)
        if state["kind"] != "training":
            raise CheckpointError(f"{resume}: an exported generator cannot be resumed; give a training checkpoint")
        run_dir = Path(resume).parent
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    G, D, _ = build_models(cfg, info, from_checkpoint=state is not None)
    spec = model_spec(cfg.model.decoder_channels, G.out_channels, cfg.data.size)  # type: ignore[arg-type]
    dtype = resolve_precision(cfg.train.precision, info.device)
    nets, opt_G, opt_D = build_step_state(G, D, cfg, info, dtype)
    train_set, val_set = build_data(cfg, info)
    stages = list(STAGES) if stage == "both" else [stage]
    progress = Progress(stage=stages[0])
    ema = GeneratorEMA(G, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    if state is not None:
        ema_io.restore(G, ema, state)
        D.load_state_dict(state["discriminator"])
        opt_G.opt.load_state_dict(state["opt_G"])
        opt_D.opt.load_state_dict(state["opt_D"])
        opt_G.scaler.load_state_dict(state["scaler_G"])
        opt_D.scaler.load_state_dict(state["scaler_D"])
        ckpt_io.set_rng_state(state["rng"])
        progress = Progress.from_dict(state["progress"])
        if progress.stage not in stages:
            stages = list(STAGES[STAGES.index(progress.stage) :])
    else:
        run_dir = make_run_dir(cfg, info)
    if info.is_main:
        dump_config(cfg, run_dir / "config.yaml")
    writer = writer_class(str(run_dir / "tensorboard")) if writer_class is not None else None
    l1_weights = None
    if cfg.restore.enabled:
        l1_weights = torch.tensor([cfg.restore.l_weight, 1.0, 1.0], device=info.device)
    t = cfg.train
    rec_loss = None
    if t.rec_loss != "l1" or t.rebalance > 0:
        rec_loss = reconstruction_loss(t.rec_loss, t.huber_delta, t.rebalance, l1_weights)
    return Run(
        cfg,
        info,
        run_dir,
        G,
        D,
        nets,
        opt_G,
        opt_D,
        spec,
        train_set,
        val_set,
        autocast_factory(info.device, dtype),
        progress,
        stages,
        writer,
        l1_weights,
        ema,
        rec_loss,
    )


def stage_budget_s(cfg: Config, stages: list[str], stage: str) -> float:
    """Seconds this stage may run under ``train.time_budget_min`` (inf without a budget)."""
    total = cfg.train.time_budget_min * 60.0
    if total <= 0:
        return math.inf
    if len(stages) == 1:
        return total
    frac = cfg.train.pretrain_fraction
    return total * (frac if stage == "pretrain" else 1.0 - frac)


def epochs_of(cfg: Config, stage: str) -> int:
    return cfg.train.pretrain_epochs if stage == "pretrain" else cfg.train.gan_epochs


def _micro_batches(
    loader: DataLoader, accum: int, device: torch.device, channels_last: bool
) -> Iterator[list[tuple[torch.Tensor, torch.Tensor]]]:
    group: list[tuple[torch.Tensor, torch.Tensor]] = []
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for L, ab in loader:
        group.append(
            (
                L.to(device, non_blocking=True).contiguous(memory_format=fmt),
                ab.to(device, non_blocking=True).contiguous(memory_format=fmt),
            )
        )
        if len(group) == accum:
            yield group
            group = []


def run_epoch(run: Run, stage: str, epoch: int, flags: StopFlags, started: float) -> str:
    """One epoch (or what is left of it). Returns ``"done"``, ``"interrupted"`` or ``"time_up"``."""
    cfg, info, prog = run.cfg, run.info, run.progress
    sampler = KeyedSampler(run.train_set, info.world_size, info.rank, shuffle=True, seed=cfg.train.seed)
    sampler.set_position(STAGES.index(stage) * EPOCH_KEY_STRIDE + epoch, prog.samples_done)
    loader = DataLoader(
        run.train_set,
        batch_size=cfg.data.batch_size,
        sampler=sampler,
        num_workers=cfg.data.workers,
        drop_last=True,
        pin_memory=info.device.type == "cuda",
        persistent_workers=False,
    )
    accum, per_step = cfg.train.accum_steps, cfg.data.batch_size * cfg.train.accum_steps
    steps = (len(sampler) - prog.samples_done) // per_step
    if cfg.train.max_steps_per_epoch > 0:
        steps = min(steps, max(0, cfg.train.max_steps_per_epoch - prog.samples_done // per_step))
    budget = stage_budget_s(cfg, run.stages, stage)
    total_epochs = epochs_of(cfg, stage)
    full_epoch = len(sampler) // per_step  # the learning-rate schedule counts steps of whole epochs
    if cfg.train.max_steps_per_epoch > 0:
        full_epoch = min(full_epoch, cfg.train.max_steps_per_epoch)
    bar = tqdm(
        total=steps,
        desc=f"{stage} {epoch + 1}/{total_epochs}",
        disable=not info.is_main,
        dynamic_ncols=True,
        leave=False,
    )
    sums: dict[str, float] = {}
    n_logged, t0, outcome = 0, time.perf_counter(), "done"
    for i, batches in enumerate(_micro_batches(loader, accum, info.device, cfg.train.channels_last)):
        if i >= steps:
            break
        done = prog.epoch * full_epoch + prog.samples_done // per_step
        elapsed = prog.elapsed[stage] + (time.perf_counter() - started)
        t = stage_progress(done, total_epochs * full_epoch, elapsed, budget)
        apply_schedule(run.opt_G.opt, run.opt_D.opt, cfg.train, t)
        if stage == "pretrain":
            stats = pretrain_step(run.nets.G, run.opt_G, batches, run.autocast, run.l1_weights, run.rec_loss)
        else:
            stats = gan_step(
                run.nets,
                run.opt_G,
                run.opt_D,
                batches,
                cfg.train.lambda_l1,
                run.autocast,
                cfg.train.gan_loss,
                1.0 - cfg.train.label_smoothing,
                run.l1_weights,
                run.rec_loss,
            )
        if run.ema is not None:
            run.ema.update(run.G)
        values = {k: float(v) for k, v in stats.items()}
        prog.step += 1
        prog.samples_done += per_step
        elapsed = prog.elapsed[stage] + (time.perf_counter() - started)
        interrupted, time_up, nonfinite = flags.agree(
            info, elapsed >= budget, not all(math.isfinite(v) for v in values.values())
        )
        if nonfinite:
            raise NonFiniteLoss(
                f"non-finite loss at step {prog.step} (stage {stage}, epoch {epoch + 1}): "
                + ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                + f". The last good checkpoint is kept: {run.run_dir / 'last.pt'}. Try a lower train.lr, "
                "train.precision=fp32 or bf16 instead of fp16, and check the data for broken photos."
            )
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v
        n_logged += 1
        bar.update(1)
        if prog.step % cfg.log.every == 0 or i == steps - 1:
            means = {k: v / n_logged for k, v in sums.items()}
            ips = n_logged * per_step * info.world_size / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()} | {"img/s": f"{ips:.1f}"})
            if run.writer is not None:
                for k, v in means.items():
                    run.writer.add_scalar(f"{stage}/{k}", v, prog.step)
                run.writer.add_scalar("images_per_s", ips, prog.step)
                run.writer.add_scalar("lr", run.opt_G.opt.param_groups[0]["lr"], prog.step)
            sums, n_logged, t0 = {}, 0, time.perf_counter()
        if interrupted:
            outcome = "interrupted"
            break
        if time_up:
            outcome = "time_up"
            break
    bar.close()
    return outcome


def end_of_epoch(run: Run, stage: str, epoch: int, started: float) -> dict[str, Any]:
    """Validate (all ranks), then rank 0 writes metrics, the sample grid, ``last.pt`` and maybe ``best.pt``."""
    cfg, info = run.cfg, run.info
    metrics: dict[str, Any] = {"stage": stage, "epoch": epoch + 1, "step": run.progress.step}
    if len(run.val_set):
        metrics |= validate(
            run.user_G(),
            run.val_set,
            info.device,
            run.autocast,
            info.rank,
            info.world_size,
            batch_size=cfg.data.batch_size,
        )
    metrics["elapsed_s"] = round(sum(run.progress.elapsed.values()) + time.perf_counter() - started, 1)
    if info.is_main:
        with open(run.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if cfg.log.samples and len(run.val_set):
            grid = sample_grid(run.user_G(), run.val_set, cfg.log.samples, info.device, run.autocast)
            write_sample_grid(run.run_dir / "samples" / f"{stage}_epoch{epoch + 1:03d}.png", grid)
        if run.writer is not None:
            for k, v in metrics.items():
                if k.startswith("val_"):
                    run.writer.add_scalar(f"{stage}/{k}", v, run.progress.step)
        shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
        log.info("epoch done: %s", json.dumps(shown))
    return metrics


def train(run: Run) -> Path:
    """The loop over stages and epochs; returns the run folder."""
    cfg, info, prog = run.cfg, run.info, run.progress
    flags = StopFlags()
    flags.install()
    try:
        for stage in run.stages[run.stages.index(prog.stage) if prog.stage in run.stages else 0 :]:
            if prog.stage != stage:  # entering a new stage
                prog.stage, prog.epoch, prog.samples_done = stage, 0, 0
            budget = stage_budget_s(cfg, run.stages, stage)
            while prog.epoch < epochs_of(cfg, stage) and prog.elapsed[stage] < budget:
                started = time.perf_counter()
                outcome = run_epoch(run, stage, prog.epoch, flags, started)
                if outcome == "interrupted":
                    prog.elapsed[stage] += time.perf_counter() - started
                    path = run.save("last.pt")
                    barrier()
                    if info.is_main:
                        log.warning("interrupted: saved %s; continue with: python train.py --resume %s", path, path)
                    raise KeyboardInterrupt
                epoch = prog.epoch
                prog.epoch, prog.samples_done = prog.epoch + 1, 0
                metrics = end_of_epoch(run, stage, epoch, started)
                prog.elapsed[stage] += time.perf_counter() - started  # the time budget counts validation too
                run.save("last.pt")
                score = metrics.get("val_ab_l1")
                if score is not None and score < prog.best.get(stage, math.inf):
                    # best.pt is the best of the latest stage: a GAN model trades some L1 for colour, so an
                    # L1-only model must not win just for having the lower L1.
                    prog.best[stage] = score
                    run.save("best.pt")
                elif score is None and info.is_main:
                    run.save("best.pt")
                barrier()
                if outcome == "time_up":
                    break
        if info.is_main:
            log.info("training finished after %d steps; checkpoints in %s", prog.step, run.run_dir)
    finally:
        flags.uninstall()
        if run.writer is not None:
            run.writer.close()
    return run.run_dir


# ------------------------------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train the colorizer: L1 pretraining of the generator, then the GAN stage. "
        "Runs as one process or under torchrun (DDP).",
        epilog="examples:\n  python train.py -c configs/demo.yaml\n"
        "  torchrun --nproc_per_node=4 train.py -c configs/coco.yaml\n"
        "  python train.py -c configs/coco.yaml train.lr=1e-4 data.batch_size=32\n"
        "  python train.py --resume runs/coco/last.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-c", "--config", help="YAML config (see configs/); keys not in it keep their defaults")
    p.add_argument(
        "--stage", choices=("both", "pretrain", "gan"), default="both", help="which stages to run (default: both)"
    )
    p.add_argument("--resume", metavar="CKPT", help="continue a run from its last.pt (config taken from it)")
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="config overrides")
    return p.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> Config:
    if args.resume:
        state = ckpt_io.load(args.resume)
        if "config" not in state:
            raise CheckpointError(f"{args.resume}: no config stored; it is not a training checkpoint")
        return apply_overrides(config_from_dict(state["config"]), args.overrides)
    return load_config(args.config, args.overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        cfg = resolve_config(args)
        run = setup(cfg, args.stage, args.resume)
        if not run.info.is_main:
            logging.getLogger().setLevel(logging.WARNING)
        info = run.info
        if info.is_main:
            global_batch = cfg.data.batch_size * info.world_size * cfg.train.accum_steps
            log.info("run folder: %s", run.run_dir)
            log.info(
                "device %s, %d process(es), precision %s; batch %d per process, %d global "
                "(batch_size x world_size x accum_steps); lr %g",
                info.device,
                info.world_size,
                cfg.train.precision,
                cfg.data.batch_size,
                global_batch,
                cfg.train.lr,
            )
        train(run)
        return 0
    except KeyboardInterrupt:
        return 130
    except (ConfigError, DataError, CheckpointError, EncoderWeightsError, TrainingError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
