"""Learning-rate schedules: values at chosen points, progress under a time budget, both optimizers set."""

from __future__ import annotations

import math

import pytest
import torch

from unet_resnet.config import TrainConfig
from unet_resnet.training.schedule import apply_schedule, lr_factor, stage_progress


@pytest.mark.parametrize(
    ("kind", "t", "factor"),
    [
        ("constant", 0.0, 1.0),
        ("constant", 0.99, 1.0),
        ("linear", 0.0, 1.0),
        ("linear", 0.5, 1.0),  # the first half is constant
        ("linear", 0.75, 0.5),
        ("linear", 0.9, 0.2),
        ("linear", 1.0, 0.0),
        ("cosine", 0.0, 1.0),
        ("cosine", 0.5, 0.5),
        ("cosine", 0.25, 0.5 + 0.5 * math.cos(math.pi / 4)),
        ("cosine", 1.0, 0.0),
    ],
)
def test_factor_at_chosen_points(kind: str, t: float, factor: float) -> None:
    assert lr_factor(kind, t, decay_fraction=0.5) == pytest.approx(factor, abs=1e-12)


def test_linear_decay_fraction_moves_the_knee() -> None:
    assert lr_factor("linear", 0.7, decay_fraction=0.2) == 1.0
    assert lr_factor("linear", 0.9, decay_fraction=0.2) == pytest.approx(0.5)
    assert lr_factor("linear", 0.9, decay_fraction=0.0) == 1.0


def test_unknown_schedule_names_the_choices() -> None:
    with pytest.raises(ValueError, match="constant, linear, cosine"):
        lr_factor("step", 0.5)


def test_progress_counts_steps_or_the_budget_whichever_is_further() -> None:
    assert stage_progress(25, 100, elapsed_s=1.0, budget_s=math.inf) == 0.25
    assert stage_progress(25, 100, elapsed_s=60.0, budget_s=120.0) == 0.5  # a budgeted run decays over its budget
    assert stage_progress(90, 100, elapsed_s=60.0, budget_s=120.0) == 0.9  # epochs run out first
    assert stage_progress(5, 0, elapsed_s=500.0, budget_s=120.0) == 1.0


def test_apply_sets_both_optimizers_with_the_discriminator_scale() -> None:
    w = [torch.nn.Parameter(torch.zeros(1))]
    opt_G, opt_D = torch.optim.Adam(w, lr=1.0), torch.optim.Adam(w, lr=1.0)
    train = TrainConfig(lr=2e-4, lr_schedule="linear", lr_decay_fraction=0.5, lr_d_scale=2.0)
    assert apply_schedule(opt_G, opt_D, train, 0.75) == pytest.approx(0.5)
    assert opt_G.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert opt_D.param_groups[0]["lr"] == pytest.approx(2e-4)
