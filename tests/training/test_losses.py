"""Reconstruction losses on known inputs, colour rebalancing weights, and the steps using a given loss."""

from __future__ import annotations

import pytest
import torch

from unet_resnet.models.generator import UNetGenerator
from unet_resnet.training.losses import rebalance_weights, reconstruction_loss
from unet_resnet.training.steps import Optim, pretrain_step


def const(value: float, channels: int = 2, size: int = 8) -> torch.Tensor:
    return torch.full((1, channels, size, size), value)


def test_l1_is_the_mean_absolute_error() -> None:
    assert float(reconstruction_loss("l1")(const(0.0), const(0.2))) == pytest.approx(0.2)


def test_huber_is_quadratic_below_delta_and_absolute_above() -> None:
    loss = reconstruction_loss("huber", huber_delta=0.1)
    assert float(loss(const(0.0), const(0.05))) == pytest.approx(0.5 * 0.05**2 / 0.1)
    assert float(loss(const(0.0), const(-0.3))) == pytest.approx(0.3 - 0.05)  # L1 minus delta / 2: same slope


def test_channel_weights_weigh_each_channel() -> None:
    pred = torch.zeros(1, 3, 4, 4)
    target = torch.cat([const(0.3, 1, 4), const(0.1, 2, 4)], dim=1)
    loss = reconstruction_loss("l1", channel_weights=torch.tensor([2.0, 1.0, 1.0]))
    assert float(loss(pred, target)) == pytest.approx((2 * 0.3 + 0.1 + 0.1) / 3)


def test_rebalancing_weighs_rare_colours_up_with_mean_one() -> None:
    ab = torch.zeros(1, 2, 4, 4)
    ab[..., :1, :] = 0.8  # a quarter of the pixels are saturated, the rest gray
    w = rebalance_weights(ab, strength=1.0)
    assert w.shape == (1, 1, 4, 4)
    # shares 1/4 and 3/4 -> weights 4 and 4/3, normalised to mean 1 -> 2 and 2/3
    assert torch.allclose(w[..., :1, :], torch.full((1, 1, 1, 4), 2.0))
    assert torch.allclose(w[..., 1:, :], torch.full((1, 1, 3, 4), 2 / 3))
    assert torch.equal(rebalance_weights(ab, strength=0.0), torch.ones(1, 1, 4, 4))
    loss = reconstruction_loss("l1", rebalance=1.0)
    pred = torch.zeros_like(ab)  # error 0.8 on the saturated quarter only
    assert float(loss(pred, ab)) == pytest.approx(0.25 * 2.0 * 0.8)


def test_unknown_loss_names_the_choices() -> None:
    with pytest.raises(ValueError, match="l1, huber"):
        reconstruction_loss("l2")


def test_pretrain_step_minimises_the_given_loss() -> None:
    torch.manual_seed(0)
    G = UNetGenerator("none", [32, 16, 16, 8, 8])
    opt = Optim(torch.optim.Adam(G.parameters(), lr=1e-3), torch.amp.GradScaler("cpu", enabled=False))
    cond, target = torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64) - 0.5
    huber = reconstruction_loss("huber", huber_delta=0.5)
    with torch.no_grad():
        expected = huber(G(cond), target)  # BatchNorm in train mode: the step's forward sees the same batch
    stats = pretrain_step(G, opt, [(cond, target)], rec_loss=huber)
    assert float(stats["l1"]) == pytest.approx(float(expected), rel=1e-5)
