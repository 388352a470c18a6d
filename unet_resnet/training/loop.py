"""The training loop, top to bottom: stages -> epochs -> steps; validation and checkpoints at step intervals.

Stages: ``pretrain`` (generator alone, L1) then ``gan`` (discriminator + generator, adversarial + lambda x L1). Every
rank runs the same loop; only rank 0 writes files. The steps never wait for the device: their losses add up on it
and are read every ``log.every`` steps, when the stop reasons are checked too (Ctrl-C saves ``last.pt`` and stops;
``train.time_budget_min`` ends each stage at its share of the budget; a non-finite loss stops the run and keeps the
last good checkpoint, except in fp16, where the gradient scaler skips the step). Validation (with precise BN and
``best.pt``) runs every ``train.val_every`` steps and ``last.pt`` is written every ``train.save_every`` steps (0:
at the end of every epoch), and both at the end of each stage.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from unet_resnet.config import Config
from unet_resnet.data.loader import TrainLoader, build_train_loader
from unet_resnet.data.loader import micro_batches as model_micro_batches
from unet_resnet.runtime.distributed import barrier
from unet_resnet.training.progress import STAGES, NonFiniteLoss, ProgressCallback, StepReport, StopFlags
from unet_resnet.training.schedule import stage_progress
from unet_resnet.training.state import Run
from unet_resnet.training.validation import sample_grid, validate, write_sample_grid

log = logging.getLogger(__name__)

EPOCH_KEY_STRIDE = 1_000_000  # sampler seeds of the gan stage never repeat those of the pretrain stage
MIN_FP16_SCALE = 2.0**-14  # below this, fp16 overflow is not what makes the loss non-finite


def fit(run: Run, on_progress: ProgressCallback | None = None) -> Path:
    """The loop over stages; returns the run folder. Ctrl-C saves ``last.pt``, then re-raises.

    ``on_progress`` receives a :class:`~unet_resnet.training.progress.StepReport` every ``log.every`` steps.
    """
    flags = StopFlags()
    flags.install()
    try:
        prog = run.progress
        for stage in run.stages[run.stages.index(prog.stage) if prog.stage in run.stages else 0 :]:
            run_stage(run, stage, flags, on_progress)
        if run.info.is_main:
            log.info("training finished after %d steps; checkpoints in %s", prog.step, run.run_dir)
    finally:
        flags.uninstall()
        if run.writer is not None:
            run.writer.close()
    return run.run_dir


@dataclass
class Stage:
    """One stage's fixed numbers and what happened since the last read of the losses."""

    name: str
    epochs: int
    per_step: int  # samples of one rank per optimizer step (batch_size x accum_steps)
    steps_per_epoch: int  # this rank's whole steps in a full epoch
    budget_s: float
    bn_batches: int  # precise BN's cap: the steps between two validations
    saved_at: int  # the step of the last last.pt / validation
    evaluated_at: int
    since_read: int = 0  # steps since the losses were last read
    read_at: float = field(default_factory=time.perf_counter)


def run_stage(run: Run, stage: str, flags: StopFlags, on_progress: ProgressCallback | None) -> None:
    """One stage: its epochs (or what is left of them), then validation and ``last.pt`` if not just done."""
    cfg, prog = run.cfg, run.progress
    if prog.stage != stage:  # entering a new stage
        prog.stage, prog.epoch, prog.samples_done = stage, 0, 0
    loader = stage_loader(run, stage)  # built once per run; each epoch sets its sampler's position
    per_step = cfg.data.batch_size * cfg.train.accum_steps
    steps_per_epoch = len(loader) * cfg.data.batch_size // per_step
    if cfg.train.max_steps_per_epoch > 0:
        steps_per_epoch = min(steps_per_epoch, cfg.train.max_steps_per_epoch)
    interval = cfg.train.val_every or steps_per_epoch
    st = Stage(
        stage,
        epochs_of(cfg, stage),
        per_step,
        steps_per_epoch,
        stage_budget_s(cfg, run.stages, stage),
        interval * cfg.train.accum_steps,
        saved_at=prog.step,
        evaluated_at=prog.step,
    )
    while prog.epoch < st.epochs and prog.elapsed[stage] < st.budget_s:
        data = loader.set_position(STAGES.index(stage) * EPOCH_KEY_STRIDE + prog.epoch, prog.samples_done)
        outcome = run_epoch(run, st, data, flags, on_progress)
        if outcome == "interrupted":
            run.refresh_bn_stats(st.bn_batches)
            path = run.save("last.pt")
            barrier()
            if run.info.is_main:
                log.warning("interrupted: saved %s; continue with: python train.py --resume %s", path, path)
            raise KeyboardInterrupt
        if outcome == "time_up":
            break
    if prog.step != st.evaluated_at:
        evaluate(run, st)
    if prog.step != st.saved_at:
        save_last(run, st)


def run_epoch(run: Run, st: Stage, loader: DataLoader, flags: StopFlags, on_progress: ProgressCallback | None) -> str:
    """One epoch (or what is left of it). Returns ``"done"``, ``"interrupted"`` or ``"time_up"``.

    The budget's time counts everything, validation and checkpoints included."""
    cfg, info, prog, trainer = run.cfg, run.info, run.progress, run.trainer
    steps = (len(loader) * cfg.data.batch_size - prog.samples_done) // st.per_step  # this rank's whole batches
    if cfg.train.max_steps_per_epoch > 0:
        steps = min(steps, max(0, cfg.train.max_steps_per_epoch - prog.samples_done // st.per_step))
    if steps <= 0:  # nothing left of this epoch on this rank (a position moved to another world size)
        prog.epoch, prog.samples_done = prog.epoch + 1, 0
        return "done"
    ticked = time.perf_counter()
    for i, batches in enumerate(micro_batches(loader, cfg.train.accum_steps, info.device, cfg.train.channels_last)):
        if i >= steps:
            break
        done = prog.epoch * st.steps_per_epoch + prog.samples_done // st.per_step
        t = stage_progress(done, st.epochs * st.steps_per_epoch, prog.elapsed[st.name], st.budget_s)
        trainer.set_progress(t)
        trainer.step(st.name, batches)
        prog.step += 1
        prog.samples_done += st.per_step
        st.since_read += 1
        now = time.perf_counter()
        prog.elapsed[st.name] += now - ticked
        ticked = now
        last = i == steps - 1
        if last:
            prog.epoch, prog.samples_done = prog.epoch + 1, 0
        validate_now = cfg.train.val_every > 0 and prog.step % cfg.train.val_every == 0
        validate_now |= last and cfg.train.val_every == 0
        save_now = cfg.train.save_every > 0 and prog.step % cfg.train.save_every == 0
        save_now |= last and cfg.train.save_every == 0
        if prog.step % cfg.log.every == 0 or last or validate_now or save_now:
            interrupted, time_up = read_losses(run, st, flags, on_progress)
            if interrupted:
                return "interrupted"
            if validate_now:
                evaluate(run, st)
            if save_now:
                save_last(run, st)
            if validate_now or save_now:
                ticked = time.perf_counter()
                prog.elapsed[st.name] += ticked - now
            if time_up:
                return "time_up"
    return "done"


def read_losses(run: Run, st: Stage, flags: StopFlags, on_progress: ProgressCallback | None) -> tuple[bool, bool]:
    """The losses since the last read and the stop reasons, agreed on by all ranks in one all-reduce and read
    in one host transfer; reports them. Returns ``(interrupted, time_up)``; raises :class:`NonFiniteLoss`."""
    info, prog, trainer = run.info, run.progress, run.trainer
    stats = trainer.stats[st.name]
    time_up = prog.elapsed[st.name] >= st.budget_s
    flags_now = torch.tensor([float(flags.interrupted), float(time_up)], device=info.device)
    packed = torch.cat([stats.sums, flags_now])
    if info.distributed:
        dist.all_reduce(packed, op=dist.ReduceOp.SUM)
    values = packed.tolist()  # the one host read of the interval
    stats.reset()
    k = len(stats.keys)
    finite, nonfinite = values[k], values[k + 1]
    losses = {key: v / max(finite, 1.0) for key, v in zip(stats.keys, values[:k], strict=True)}
    first = prog.step - st.since_read + 1
    where = f"at step {prog.step}" if st.since_read == 1 else f"in steps {first}-{prog.step}"
    where += f" (stage {st.name}, epoch {prog.epoch + (prog.samples_done > 0)})"
    if nonfinite > 0:
        check_nonfinite(run, where, int(nonfinite), st.since_read * info.world_size, losses)
    now = time.perf_counter()
    ips = st.since_read * st.per_step * info.world_size / max(now - st.read_at, 1e-9)
    lr = trainer.opt_G.opt.param_groups[0]["lr"]
    st.since_read, st.read_at = 0, now
    if info.is_main:
        log.debug("step %d: %s, %.1f img/s", prog.step, json.dumps({k: round(v, 4) for k, v in losses.items()}), ips)
        if on_progress is not None:
            in_epoch = prog.samples_done // st.per_step if prog.samples_done else st.steps_per_epoch
            epoch = prog.epoch + (1 if prog.samples_done else 0)
            on_progress(StepReport(st.name, epoch, st.epochs, in_epoch, st.steps_per_epoch, prog.step, losses, ips, lr))
        if run.writer is not None:
            for key, v in losses.items():
                run.writer.add_scalar(f"{st.name}/{key}", v, prog.step)
            run.writer.add_scalar("images_per_s", ips, prog.step)
            run.writer.add_scalar("lr", lr, prog.step)
    return values[k + 2] > 0, values[k + 3] > 0


def check_nonfinite(run: Run, where: str, bad: int, total: int, losses: dict[str, float]) -> None:
    """Stop on a non-finite loss, keeping the last good checkpoint; in fp16 the gradient scaler has skipped those
    steps (inf gradients) and lowered its scale, so the run goes on unless the scale has collapsed."""
    trainer = run.trainer
    scale = min(trainer.opt_G.scaler.get_scale(), trainer.opt_D.scaler.get_scale()) if trainer.scaling else 0.0
    if trainer.scaling and scale >= MIN_FP16_SCALE:
        if run.info.is_main:
            log.warning(
                "fp16: %d of %d steps %s skipped by the gradient scaler (inf or NaN gradients); scale now %g",
                bad,
                total,
                where,
                scale,
            )
        return
    shown = ", ".join(f"{k}={v:.4g}" for k, v in losses.items())
    raise NonFiniteLoss(
        f"non-finite loss {where}"
        + (f" (finite steps: {shown})" if bad < total else "")
        + f". The last good checkpoint is kept: {run.run_dir / 'last.pt'}. Try a lower train.lr, "
        "train.precision=fp32 or bf16 instead of fp16, and check the data for broken photos."
    )


def evaluate(run: Run, st: Stage) -> dict[str, Any]:
    """Precise BN and validation (all ranks); rank 0 writes the metrics line, the sample grid and ``best.pt`` when
    the score is the stage's best. ``best.pt`` is the best of the latest stage: a GAN model trades some L1 for
    colour, so an L1-only model must not win just for having the lower L1."""
    cfg, info, prog, trainer = run.cfg, run.info, run.progress, run.trainer
    st.evaluated_at = prog.step
    metrics: dict[str, Any] = {"stage": st.name, "epoch": epoch_count(run, st), "step": prog.step}
    run.refresh_bn_stats(st.bn_batches)  # what is validated and saved is the evaluation-mode model users get
    G = trainer.user_G()
    if len(run.val_set):
        metrics |= validate(
            G,
            run.val_set,
            info.device,
            trainer.autocast,
            info.rank,
            info.world_size,
            batch_size=cfg.data.batch_size,
            # workers decode the validation photos on GPU runs; on the CPU they would only compete with the model
            workers=cfg.data.workers if info.device.type == "cuda" else 0,
        )
    metrics["elapsed_s"] = round(sum(prog.elapsed.values()), 1)
    score = metrics.get("val_ab_l1")
    better = score is None or score < prog.best.get(st.name, math.inf)
    if score is not None and better:
        prog.best[st.name] = score
    if info.is_main:
        with open(run.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if cfg.log.samples and len(run.val_set):
            at_epoch_end = cfg.train.val_every == 0 and prog.samples_done == 0
            name = f"{st.name}_epoch{prog.epoch:03d}" if at_epoch_end else f"{st.name}_step{prog.step:07d}"
            grid = sample_grid(G, run.val_set, cfg.log.samples, info.device, trainer.autocast)
            write_sample_grid(run.run_dir / "samples" / f"{name}.png", grid)
        if run.writer is not None:
            for k, v in metrics.items():
                if k.startswith("val_"):
                    run.writer.add_scalar(f"{st.name}/{k}", v, prog.step)
        shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
        log.info("validation: %s", json.dumps(shown))
    if better:
        run.save("best.pt", metrics)
    barrier()
    return metrics


def save_last(run: Run, st: Stage) -> None:
    """``last.pt`` on rank 0, then all ranks wait for it (the next read of it must find it whole)."""
    st.saved_at = run.progress.step
    run.save("last.pt")
    barrier()


def epoch_count(run: Run, st: Stage) -> float:
    """Epochs done in the stage: a whole number at an epoch's end, else with the share of the current epoch."""
    prog = run.progress
    if prog.samples_done == 0:
        return prog.epoch
    return round(prog.epoch + prog.samples_done / (st.steps_per_epoch * st.per_step), 3)


def stage_loader(run: Run, stage: str) -> TrainLoader:
    """This rank's training loader (:func:`~unet_resnet.data.loader.build_train_loader`), built once per run so its
    workers persist across epochs and stages; each epoch sets its sampler's epoch and position before iterating."""
    cfg, info = run.cfg, run.info
    if run.train_loader is None:
        run.train_loader = build_train_loader(
            run.train_set, cfg.data.batch_size, info.world_size, info.rank, cfg.train.seed, cfg.data.workers,
            info.device, cfg.data.prefetch_factor,
        )  # fmt: skip
    return run.train_loader


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
