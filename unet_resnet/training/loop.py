"""The training loop, top to bottom: stages -> epochs -> steps, then validation and checkpoints after each epoch.

Stages: ``pretrain`` (generator alone, L1) then ``gan`` (discriminator + generator, adversarial + lambda x L1). Every
rank runs the same loop; only rank 0 writes files. Ctrl-C saves ``last.pt`` and stops; ``train.time_budget_min``
ends each stage at its share of the budget; a non-finite loss stops the run and keeps the last good checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from unet_resnet.config import Config
from unet_resnet.data.loader import build_train_loader
from unet_resnet.data.loader import micro_batches as model_micro_batches
from unet_resnet.runtime.distributed import barrier
from unet_resnet.training.progress import STAGES, NonFiniteLoss, StopFlags
from unet_resnet.training.schedule import apply_schedule, stage_progress
from unet_resnet.training.state import Run
from unet_resnet.training.steps import gan_step, pretrain_step
from unet_resnet.training.validation import sample_grid, validate, write_sample_grid

log = logging.getLogger(__name__)

EPOCH_KEY_STRIDE = 1_000_000  # sampler seeds of the gan stage never repeat those of the pretrain stage


def fit(run: Run) -> Path:
    """The loop over stages and epochs; returns the run folder. Ctrl-C saves ``last.pt``, then re-raises."""
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
                    run.refresh_bn_stats()
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


def run_epoch(run: Run, stage: str, epoch: int, flags: StopFlags, started: float) -> str:
    """One epoch (or what is left of it). Returns ``"done"``, ``"interrupted"`` or ``"time_up"``."""
    cfg, info, prog = run.cfg, run.info, run.progress
    loader = epoch_loader(run, stage, epoch)
    accum, per_step = cfg.train.accum_steps, cfg.data.batch_size * cfg.train.accum_steps
    steps = (len(loader) * cfg.data.batch_size - prog.samples_done) // per_step  # this rank's whole batches
    if cfg.train.max_steps_per_epoch > 0:
        steps = min(steps, max(0, cfg.train.max_steps_per_epoch - prog.samples_done // per_step))
    budget = stage_budget_s(cfg, run.stages, stage)
    full_epoch = len(loader) * cfg.data.batch_size // per_step  # the learning-rate schedule counts whole epochs
    if cfg.train.max_steps_per_epoch > 0:
        full_epoch = min(full_epoch, cfg.train.max_steps_per_epoch)
    bar = tqdm(
        total=steps,
        desc=f"{stage} {epoch + 1}/{epochs_of(cfg, stage)}",
        disable=not info.is_main,
        dynamic_ncols=True,
        leave=False,
    )
    sums: dict[str, float] = {}
    n_logged, t0, outcome = 0, time.perf_counter(), "done"
    for i, batches in enumerate(micro_batches(loader, accum, info.device, cfg.train.channels_last)):
        if i >= steps:
            break
        done = prog.epoch * full_epoch + prog.samples_done // per_step
        elapsed = prog.elapsed[stage] + (time.perf_counter() - started)
        t = stage_progress(done, epochs_of(cfg, stage) * full_epoch, elapsed, budget)
        apply_schedule(run.opt_G.opt, run.opt_D.opt, cfg.train, t)
        values = one_step(run, stage, batches)
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
    """Precise BN and validation (all ranks), then rank 0 writes metrics and the sample grid (the caller saves)."""
    cfg, info = run.cfg, run.info
    metrics: dict[str, Any] = {"stage": stage, "epoch": epoch + 1, "step": run.progress.step}
    run.refresh_bn_stats()  # what is validated and saved is the evaluation-mode model users get
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


def one_step(run: Run, stage: str, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """One optimizer step of ``stage`` on ``accum_steps`` micro-batches; returns its losses as floats."""
    cfg = run.cfg
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
    return {k: float(v) for k, v in stats.items()}


def epoch_loader(run: Run, stage: str, epoch: int) -> DataLoader:
    """This rank's batches of one epoch, starting after the samples the epoch already consumed (on resume)."""
    cfg, info = run.cfg, run.info
    loader = run.__dict__.get("train_loader")  # built once per run: its workers persist across epochs and stages
    if loader is None:
        loader = run.__dict__["train_loader"] = build_train_loader(
            run.train_set, cfg.data.batch_size, info.world_size, info.rank, cfg.train.seed, cfg.data.workers,
            info.device, cfg.data.prefetch_factor,
        )  # fmt: skip
    return loader.set_position(STAGES.index(stage) * EPOCH_KEY_STRIDE + epoch, run.progress.samples_done)


def micro_batches(
    loader: DataLoader, accum: int, device: torch.device, channels_last: bool
) -> Iterator[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Groups of ``accum`` ``(cond, target)`` batches on ``device``: the micro-batches of one optimizer step."""
    return model_micro_batches(loader, accum, device, channels_last)


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
