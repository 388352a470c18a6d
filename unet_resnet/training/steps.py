"""One optimizer step of each training stage, as functions a test can call on random tensors.

- :func:`pretrain_step`: the generator alone, L1 to the target.
- :func:`gan_step`: the discriminator on ``fake.detach()`` (target 0) and real (target 1), then the generator
  through the *frozen* discriminator on ``adv(D(x, fake), 1) + lambda_l1 * L1``. The fake is not detached in the
  generator's half: the adversarial gradient reaches the generator (the original notebook's bug).

Both take a list of micro-batches (gradient accumulation); with DDP, gradients are synchronised on the last one.
Their losses come back as tensors on the device, averaged over the micro-batches: nothing in a step waits for the
device (no ``.item()``, ``.cpu()`` or ``float(tensor)``), so the host can queue the next step while this one runs.
:class:`~unet_resnet.training.trainer.Pix2PixTrainer` calls them with the run's networks, optimizers and losses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

from unet_resnet.runtime.precision import AutocastFactory
from unet_resnet.training.losses import RecLoss

Batch = tuple[torch.Tensor, torch.Tensor]
"""``(condition (B, 1, H, W) in [0, 1], target (B, C, H, W) in [-1, 1])``."""


@dataclass
class Nets:
    """The modules of a training run, as the steps call them.

    ``G`` and ``D`` are what the forward passes go through (DDP and/or compiled wrappers); ``D_frozen`` is the
    discriminator used in the generator's half of the GAN step (the bare or compiled module, outside DDP: its
    parameters receive no gradient there, so there is nothing to synchronise); ``D_params`` are its parameters.
    """

    G: nn.Module
    D: nn.Module
    D_frozen: nn.Module
    D_params: list[nn.Parameter]


@dataclass
class Optim:
    """An optimizer and its gradient scaler (a no-op unless fp16)."""

    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler

    def step(self) -> None:
        self.scaler.step(self.opt)
        self.scaler.update()


def no_autocast() -> AbstractContextManager[object]:
    return contextlib.nullcontext()


def _sync(module: nn.Module, last: bool) -> AbstractContextManager[object]:
    """DDP: skip the gradient all-reduce on all but the last micro-batch.

    Training wraps DDP inside ``torch.compile`` (an ``OptimizedModule`` whose ``_orig_mod`` is the DDP wrapper), so
    the DDP module is looked for under the compile wrapper too: without that, every micro-batch is all-reduced.
    """
    ddp = getattr(module, "_orig_mod", module)
    if isinstance(ddp, DDP) and not last:
        return ddp.no_sync()
    return contextlib.nullcontext()


def adversarial_loss(logits: torch.Tensor, real: bool, kind: str = "bce", real_label: float = 1.0) -> torch.Tensor:
    """BCEWithLogits (``kind="bce"``) or least squares (``"lsgan"``) against a constant target, in fp32."""
    target = torch.full_like(logits, real_label if real else 0.0, dtype=torch.float32)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits.float(), target)
    if kind == "lsgan":
        return F.mse_loss(logits.float(), target)
    raise ValueError(f"unknown GAN loss {kind!r} (use bce or lsgan)")


def weighted_l1(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error, optionally weighted per channel (``weights`` of shape ``(C,)``), in fp32."""
    err = (pred.float() - target.float()).abs()
    if weights is not None:
        err = err * weights.view(1, -1, 1, 1).to(err)
    return err.mean()


def set_requires_grad(params: Sequence[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def pretrain_step(
    G: nn.Module,
    opt_G: Optim,
    batches: Sequence[Batch],
    autocast: AutocastFactory = no_autocast,
    l1_weights: torch.Tensor | None = None,
    rec_loss: RecLoss | None = None,
) -> dict[str, torch.Tensor]:
    """The generator alone: L1 (or ``rec_loss``, see :mod:`.losses`) to the target, averaged over micro-batches."""
    opt_G.opt.zero_grad(set_to_none=True)
    n = len(batches)
    losses = []
    for i, (cond, target) in enumerate(batches):
        with _sync(G, i == n - 1):
            with autocast():
                pred = G(cond)
                loss = rec_loss(pred, target) if rec_loss else weighted_l1(pred, target, l1_weights)
            opt_G.scaler.scale(loss / n).backward()
        losses.append(loss.detach())
    opt_G.step()
    return {"l1": _mean(losses)}


def _mean(values: list[torch.Tensor]) -> torch.Tensor:
    """The mean of scalar tensors, on their device (one stack for any number of micro-batches)."""
    return values[0] if len(values) == 1 else torch.stack(values).mean()


def gan_step(
    nets: Nets,
    opt_G: Optim,
    opt_D: Optim,
    batches: Sequence[Batch],
    lambda_l1: float = 100.0,
    autocast: AutocastFactory = no_autocast,
    gan_loss: str = "bce",
    real_label: float = 1.0,
    l1_weights: torch.Tensor | None = None,
    rec_loss: RecLoss | None = None,
) -> dict[str, torch.Tensor]:
    """One discriminator update, then one generator update with the discriminator frozen.

    ``rec_loss`` replaces the L1 term (weighted by ``lambda_l1``; reported as ``l1``) when given.
    """
    n = len(batches)
    reuse = n == 1  # with accumulation, fakes are recomputed in the G half instead of kept in memory
    seen: dict[str, list[torch.Tensor]] = {k: [] for k in ("loss_D", "loss_G", "adv", "l1", "D_real", "D_fake")}

    # -- discriminator: real -> 1, fake.detach() -> 0
    set_requires_grad(nets.D_params, True)
    opt_D.opt.zero_grad(set_to_none=True)
    fakes: list[torch.Tensor | None] = []
    for i, (cond, target) in enumerate(batches):
        with autocast(), torch.set_grad_enabled(reuse):
            fake = nets.G(cond)
        # The fake and the real half are backpropagated one after the other, so only one discriminator graph is
        # alive at a time (the peak of the step); the gradients add up locally and are all-reduced once, with the
        # real half of the last micro-batch.
        with _sync(nets.D, False):
            with autocast():
                logits_fake = nets.D(cond, fake.detach())
                loss_fake = adversarial_loss(logits_fake, False, gan_loss)
            opt_D.scaler.scale(0.5 * loss_fake / n).backward()
        with _sync(nets.D, i == n - 1):
            with autocast():
                logits_real = nets.D(cond, target)
                loss_real = adversarial_loss(logits_real, True, gan_loss, real_label)
            opt_D.scaler.scale(0.5 * loss_real / n).backward()
        fakes.append(fake if reuse else None)
        seen["loss_D"].append(0.5 * (loss_fake.detach() + loss_real.detach()))
        seen["D_real"].append(torch.sigmoid(logits_real.detach().float()).mean())
        seen["D_fake"].append(torch.sigmoid(logits_fake.detach().float()).mean())
    opt_D.step()

    # -- generator: fool the frozen discriminator, stay close to the target
    set_requires_grad(nets.D_params, False)
    opt_G.opt.zero_grad(set_to_none=True)
    try:
        for i, ((cond, target), kept) in enumerate(zip(batches, fakes, strict=False)):
            with _sync(nets.G, i == n - 1):
                with autocast():
                    fake = kept if kept is not None else nets.G(cond)
                    adv = adversarial_loss(nets.D_frozen(cond, fake), True, gan_loss)
                    l1 = rec_loss(fake, target) if rec_loss else weighted_l1(fake, target, l1_weights)
                    loss_G = adv + lambda_l1 * l1
                opt_G.scaler.scale(loss_G / n).backward()
            seen["loss_G"].append(loss_G.detach())
            seen["adv"].append(adv.detach())
            seen["l1"].append(l1.detach())
        opt_G.step()
    finally:
        set_requires_grad(nets.D_params, True)
    return {k: _mean(v) for k, v in seen.items()}
