"""The reconstruction loss of the generator (``train.rec_loss``), with optional colour-class rebalancing.

- ``l1``: mean absolute error (the original).
- ``huber``: smooth L1 (Huber divided by its threshold, as in Zhang et al. 2016 and iColoriT): quadratic below
  ``train.huber_delta`` (in normalised units: ab / 128), absolute above. It equals L1 for large errors, so
  ``train.lambda_l1`` keeps its meaning, and it pulls small errors towards the mean, which is what PSNR rewards.

``train.rebalance`` (``s`` in ``[0, 1]``) weighs each pixel by ``p^-s`` where ``p`` is the share of the batch's
pixels whose true ab falls in the same cell of a 16 x 16 grid over ``[-1, 1]^2``, normalised to mean 1: rare
(saturated) colours count more, in the spirit of Zhang et al.'s class rebalancing. ``s = 0`` is off.

All losses take ``pred`` and ``target`` of shape ``(B, C, H, W)`` (``C = 2``: ab, or 3: L and ab in restoration
mode, whose first channel is L) and return an fp32 scalar; ``channel_weights`` of shape ``(C,)`` weighs channels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

RecLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
REC_LOSSES = ("l1", "huber")
REBALANCE_BINS = 16


def rebalance_weights(ab: torch.Tensor, strength: float, bins: int = REBALANCE_BINS) -> torch.Tensor:
    """``(B, 1, H, W)`` pixel weights ``p^-strength`` from the batch's ab histogram, mean 1. ``ab`` in [-1, 1]."""
    a, b = ab[:, -2].float(), ab[:, -1].float()
    ia = ((a.clamp(-1, 1) + 1) * 0.5 * (bins - 1) + 0.5).long()
    ib = ((b.clamp(-1, 1) + 1) * 0.5 * (bins - 1) + 0.5).long()
    cell = ia * bins + ib
    counts = torch.bincount(cell.flatten(), minlength=bins * bins).float()
    share = counts / counts.sum()
    w = share[cell].pow(-strength)
    return (w / w.mean()).unsqueeze(1)


def reconstruction_loss(
    kind: str = "l1",
    huber_delta: float = 0.1,
    rebalance: float = 0.0,
    channel_weights: torch.Tensor | None = None,
) -> RecLoss:
    """The loss function ``(pred, target) -> scalar`` that ``train.rec_loss`` and its companions describe."""
    if kind not in REC_LOSSES:
        raise ValueError(f"unknown reconstruction loss {kind!r}; choose one of {', '.join(REC_LOSSES)}")

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p, t = pred.float(), target.float()
        err = (p - t).abs() if kind == "l1" else F.smooth_l1_loss(p, t, reduction="none", beta=huber_delta)
        if channel_weights is not None:
            err = err * channel_weights.view(1, -1, 1, 1).to(err)
        if rebalance > 0.0:
            err = err * rebalance_weights(t, rebalance)
        return err.mean()

    return loss
