"""The object that owns a run's networks: :class:`Pix2PixTrainer`.

It holds the bare generator and discriminator, their wrapped forms (wrapped in one place, :func:`wrap`: SyncBatchNorm,
then DDP, then ``torch.compile``), both Adam optimizers with their gradient scalers, the generator's EMA, the
reconstruction loss and the autocast context; it takes one optimizer step of either stage on a list of micro-batches
(:meth:`~Pix2PixTrainer.pretrain_step`, :meth:`~Pix2PixTrainer.gan_step`) and saves and restores all of that as a
plain dict (:meth:`~Pix2PixTrainer.state_dict`, :meth:`~Pix2PixTrainer.load_state_dict`). The loop around it
(:mod:`.loop`) stays a plain loop.

The losses of each step are added up on the device (:class:`RunningStats`); the loop reads them, once, every
``log.every`` steps. Nothing in a step waits for the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from unet_resnet.config import Config
from unet_resnet.models.checkpoint import state_dict_of
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.runtime.precision import AutocastFactory, autocast_factory
from unet_resnet.training import ema as ema_io
from unet_resnet.training import steps
from unet_resnet.training.ema import GeneratorEMA
from unet_resnet.training.losses import RecLoss, reconstruction_loss
from unet_resnet.training.schedule import apply_schedule
from unet_resnet.training.steps import Batch, Nets, Optim

STAT_KEYS = {
    "pretrain": ("l1",),
    "gan": ("loss_D", "loss_G", "adv", "l1", "D_real", "D_fake"),
}
"""The losses each stage's step reports, in the order :class:`RunningStats` keeps them."""


def wrap(model: nn.Module, cfg: Config, info: DistInfo) -> nn.Module:
    """Device, memory format, SyncBatchNorm, DDP, then compile: the one place a network is wrapped.

    SyncBatchNorm (``train.sync_bn``, several CUDA processes) replaces the module's BatchNorm layers in place, so
    the bare module (what is saved and validated) uses it too; DDP and ``torch.compile`` are wrappers around it,
    which checkpoints never save (:func:`~unet_resnet.models.checkpoint.state_dict_of` unwraps them).
    """
    model = model.to(info.device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if info.distributed:
        if cfg.train.sync_bn and info.device.type == "cuda":  # SyncBatchNorm cannot run on CPU
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DDP(model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
    if cfg.train.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    return model


class RunningStats:
    """Sums of one stage's step losses since the last read, on the device: ``[loss sums..., finite steps,
    non-finite steps]`` (a step with any non-finite loss adds to the last entry and to no sum)."""

    def __init__(self, keys: Sequence[str], device: torch.device) -> None:
        self.keys = tuple(keys)
        self.sums = torch.zeros(len(self.keys) + 2, device=device)

    def add(self, values: dict[str, torch.Tensor]) -> None:
        v = torch.stack([values[k].detach().float() for k in self.keys])
        ok = torch.isfinite(v).all()
        step = torch.cat([torch.where(ok, v, torch.zeros_like(v)), ok.float().view(1), (~ok).float().view(1)])
        self.sums.add_(step)

    def reset(self) -> None:
        self.sums.zero_()


class Pix2PixTrainer:
    """A run's networks, optimizers, scalers, EMA and losses; one optimizer step of each stage.

    ``G`` and ``D`` are the bare networks (on the CPU, as built); the trainer moves and wraps them. ``dtype`` is the
    compute precision (:func:`~unet_resnet.runtime.precision.resolve_precision`): its autocast wraps every forward
    pass and the gradient scalers are enabled for fp16 only.
    """

    def __init__(self, G: nn.Module, D: nn.Module, cfg: Config, info: DistInfo, dtype: torch.dtype) -> None:
        t = cfg.train
        self.cfg, self.info, self.dtype = cfg, info, dtype
        wrapped_G, wrapped_D = wrap(G, cfg, info), wrap(D, cfg, info)
        self.G, self.D = G, D  # bare: moved (and SyncBatchNorm-converted) in place by wrap
        # The discriminator in the generator's half: outside DDP (its parameters get no gradient there, nothing to
        # synchronise), compiled when the run compiles.
        D_frozen = torch.compile(D) if t.compile else D
        self.nets = Nets(wrapped_G, wrapped_D, D_frozen, list(D.parameters()))  # type: ignore[arg-type]
        self.opt_G = self._optim(G, t.lr)
        self.opt_D = self._optim(D, t.lr * t.lr_d_scale)
        self.autocast: AutocastFactory = autocast_factory(info.device, dtype)
        self.ema = GeneratorEMA(G, t.ema_decay) if t.ema_decay > 0 else None
        self.l1_weights: torch.Tensor | None = None
        if cfg.restore.enabled:  # restoration: L, a, b with the L channel weighed by restore.l_weight
            self.l1_weights = torch.tensor([cfg.restore.l_weight, 1.0, 1.0], device=info.device)
        self.rec_loss: RecLoss | None = None  # None: the original L1
        if t.rec_loss != "l1" or t.rebalance > 0:
            self.rec_loss = reconstruction_loss(t.rec_loss, t.huber_delta, t.rebalance, self.l1_weights)
        self.stats: dict[str, RunningStats] = {k: RunningStats(v, info.device) for k, v in STAT_KEYS.items()}

    def _optim(self, model: nn.Module, lr: float) -> Optim:
        t = self.cfg.train
        # fused Adam keeps its step counters on the GPU (no host read per step); on CPU the plain loop, as always
        fused = True if self.info.device.type == "cuda" else None
        adam = torch.optim.Adam(model.parameters(), lr=lr, betas=(t.beta1, t.beta2), fused=fused)
        return Optim(adam, torch.amp.GradScaler(self.info.device.type, enabled=self.dtype == torch.float16))

    @property
    def scaling(self) -> bool:
        """Whether gradients go through an enabled (fp16) gradient scaler, which skips steps with inf gradients."""
        return self.opt_G.scaler.is_enabled()

    def user_G(self) -> nn.Module:
        """The generator that is validated and saved for users: the EMA if one is kept, else the trained one."""
        return self.ema.module if self.ema is not None else self.G

    def set_progress(self, t: float) -> float:
        """Set both learning rates for stage progress ``t`` in ``[0, 1]`` (:mod:`.schedule`); returns the factor."""
        return apply_schedule(self.opt_G.opt, self.opt_D.opt, self.cfg.train, t)

    def pretrain_step(self, batches: Sequence[Batch]) -> dict[str, torch.Tensor]:
        """One L1 step of the generator on ``accum_steps`` micro-batches; returns its losses (device tensors)."""
        values = steps.pretrain_step(self.nets.G, self.opt_G, batches, self.autocast, self.l1_weights, self.rec_loss)
        return self._after_step("pretrain", values)

    def gan_step(self, batches: Sequence[Batch]) -> dict[str, torch.Tensor]:
        """One discriminator and one generator step on ``accum_steps`` micro-batches; returns the losses."""
        t = self.cfg.train
        values = steps.gan_step(
            self.nets,
            self.opt_G,
            self.opt_D,
            batches,
            lambda_l1=t.lambda_l1,
            autocast=self.autocast,
            gan_loss=t.gan_loss,
            real_label=1.0 - t.label_smoothing,
            l1_weights=self.l1_weights,
            rec_loss=self.rec_loss,
        )
        return self._after_step("gan", values)

    def step(self, stage: str, batches: Sequence[Batch]) -> dict[str, torch.Tensor]:
        """:meth:`pretrain_step` or :meth:`gan_step`, as ``stage`` says."""
        return self.pretrain_step(batches) if stage == "pretrain" else self.gan_step(batches)

    def _after_step(self, stage: str, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.ema is not None:
            self.ema.update(self.G)
        self.stats[stage].add(values)
        return values

    def state_dict(self) -> dict[str, Any]:
        """Networks (bare), optimizers and scalers as plain types: the trainer's part of a training checkpoint.

        With an EMA, ``generator`` is the EMA (what users get) and ``generator_train`` the training weights."""
        return {
            **ema_io.checkpoint_entries(state_dict_of(self.G), self.ema),
            "discriminator": state_dict_of(self.D),
            "opt_G": self.opt_G.opt.state_dict(),
            "opt_D": self.opt_D.opt.state_dict(),
            "scaler_G": self.opt_G.scaler.state_dict(),
            "scaler_D": self.opt_D.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (whatever EMA setting wrote it)."""
        ema_io.restore(self.G, self.ema, state)
        self.D.load_state_dict(state["discriminator"])
        self.opt_G.opt.load_state_dict(state["opt_G"])
        self.opt_D.opt.load_state_dict(state["opt_D"])
        self.opt_G.scaler.load_state_dict(state["scaler_G"])
        self.opt_D.scaler.load_state_dict(state["scaler_D"])

    def generator_state(self) -> dict[str, torch.Tensor]:
        """The weights of :meth:`user_G` on the CPU: what inference needs (``best.pt``)."""
        return state_dict_of(self.user_G())
