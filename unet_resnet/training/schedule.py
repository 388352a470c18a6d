"""Learning-rate schedules, as a factor of ``train.lr`` that depends only on how far a stage has got.

- ``constant``: the original (Adam at ``train.lr`` throughout).
- ``linear``: pix2pix's own: constant, then a linear decay to zero over the last ``train.lr_decay_fraction`` of
  each stage.
- ``cosine``: half a cosine from 1 to 0 over each stage.

A stage's progress ``t`` in ``[0, 1]`` is its optimizer steps over the steps its epochs allow; under a time budget
(``train.time_budget_min``) it is the larger of that and the share of the stage's budget spent, so a time-budgeted
run decays over the budget it will actually use, not over epoch counts it never reaches. Both are stored in
checkpoints (position in the epoch, elapsed time), so a resumed run continues the same schedule: with epochs as
the limit, resumed learning rates are identical step for step.
"""

from __future__ import annotations

import math

import torch

from unet_resnet.config import TrainConfig

SCHEDULES = ("constant", "linear", "cosine")
REFERENCE_LR, REFERENCE_BATCH = 2e-4, 16
"""The original recipe's Adam learning rate and the global batch it was set for."""


def sqrt_scaled_lr(global_batch: int, lr: float = REFERENCE_LR, batch: int = REFERENCE_BATCH) -> float:
    """The learning rate for ``global_batch`` by the square-root rule for Adam (Malladi et al., "On the SDEs and
    Scaling Rules for Adaptive Gradient Algorithms", 2022): ``lr x sqrt(global_batch / batch)``. The bundled GPU
    configs use it; their epochs are the original's, so a larger batch also means fewer steps."""
    return lr * math.sqrt(global_batch / batch)


def lr_factor(kind: str, t: float, decay_fraction: float = 0.5) -> float:
    """The multiplier of the base learning rate at stage progress ``t`` (clipped to ``[0, 1]``)."""
    t = min(max(t, 0.0), 1.0)
    if kind == "constant":
        return 1.0
    if kind == "linear":
        if decay_fraction <= 0.0:
            return 1.0
        return min(1.0, (1.0 - t) / decay_fraction)
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    raise ValueError(f"unknown learning-rate schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")


def stage_progress(step_in_stage: int, steps_in_stage: int, elapsed_s: float, budget_s: float) -> float:
    """How far a stage has got, in ``[0, 1]``: steps over the epochs' steps, or the budget's share if larger."""
    t = step_in_stage / steps_in_stage if steps_in_stage > 0 else 0.0
    if math.isfinite(budget_s) and budget_s > 0:
        t = max(t, elapsed_s / budget_s)
    return min(t, 1.0)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def apply_schedule(opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer, train: TrainConfig, t: float) -> float:
    """Set both optimizers' learning rates for stage progress ``t``; returns the factor of ``train.lr``.

    The discriminator's rate is ``train.lr_d_scale`` times the generator's (two time-scale updates when != 1).
    """
    factor = lr_factor(train.lr_schedule, t, train.lr_decay_fraction)
    set_lr(opt_G, train.lr * factor)
    set_lr(opt_D, train.lr * train.lr_d_scale * factor)
    return factor
