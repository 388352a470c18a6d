"""What a training run holds (:class:`Run`), what its checkpoints save, and how a run comes back from one.

A training checkpoint is a plain dict (``torch.load(..., weights_only=True)`` opens it): both bare networks, both
optimizers and gradient scalers, the :class:`~unet_resnet.training.progress.Progress`, the RNG states, the resolved
config and the generator's spec. With an EMA (``train.ema_decay``), ``generator`` holds the EMA (what export and
inference load) and ``generator_train`` the training weights (what resume loads). Only rank 0 writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from unet_resnet.config import Config, apply_overrides, config_from_dict
from unet_resnet.data.dataset import LabDataset
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.checkpoint import CheckpointError
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.runtime.precision import AutocastFactory
from unet_resnet.training import ema as ema_io
from unet_resnet.training.bn_stats import bn_batches, recompute_bn_stats
from unet_resnet.training.ema import GeneratorEMA
from unet_resnet.training.losses import RecLoss
from unet_resnet.training.progress import STAGES, Progress
from unet_resnet.training.steps import Nets, Optim


@dataclass
class Run:
    """Everything the loop touches, built once by :func:`unet_resnet.training.setup.setup`."""

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
    bn_set: LabDataset | None = None  # training photos as inference sees them, for precise BN (train.precise_bn)
    bn_indices: list[tuple[int, int]] = field(default_factory=list)  # dataset keys (index, draw)
    record: dict[str, Any] = field(default_factory=dict)  # how the model was made (training.record), for model cards

    def user_G(self) -> nn.Module:
        """The generator that is validated and saved for users: the EMA if one is kept, else the trained one."""
        return self.ema.module if self.ema is not None else self.G

    def refresh_bn_stats(self) -> int:
        """Recompute the BatchNorm statistics of :meth:`user_G` over ``bn_indices`` of ``bn_set`` (precise BN,
        :mod:`~unet_resnet.training.bn_stats`); returns the batches seen (0 when ``train.precise_bn`` is 0)."""
        if self.bn_set is None or not self.bn_indices:
            return 0
        info = self.info
        batches = bn_batches(
            self.bn_set,
            self.bn_indices,
            self.cfg.data.batch_size,
            info.device,
            info.rank,
            info.world_size,
            self.cfg.train.channels_last,
        )
        return recompute_bn_stats(self.user_G(), batches, self.autocast, info.world_size)

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
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
            "model": self.spec,
            "record": self.record,
        }

    def save(self, name: str) -> Path:
        """Write ``run_dir/name`` atomically on rank 0 (the other ranks only learn the path)."""
        path = self.run_dir / name
        if self.info.is_main:
            ckpt_io.save_atomic(self.checkpoint(), path)
        return path

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a training checkpoint: weights, optimizers, scalers, RNG, progress.

        When the checkpoint stopped in a stage this run was not asked for (``--stage pretrain`` resumed after the
        GAN stage began, say), the run goes on from that stage.
        """
        ema_io.restore(self.G, self.ema, state)  # the training weights, and the EMA if one is kept
        self.D.load_state_dict(state["discriminator"])
        self.opt_G.opt.load_state_dict(state["opt_G"])
        self.opt_D.opt.load_state_dict(state["opt_D"])
        self.opt_G.scaler.load_state_dict(state["scaler_G"])
        self.opt_D.scaler.load_state_dict(state["scaler_D"])
        set_rng_state(state["rng"])
        self.record = state.get("record") or self.record
        self.progress = Progress.from_dict(state["progress"])
        if self.progress.stage not in self.stages:
            self.stages = list(STAGES[STAGES.index(self.progress.stage) :])


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint (a run folder's ``last.pt`` or ``best.pt``), opened safely; anything else is refused."""
    state = ckpt_io.load(path)
    if state["kind"] != "training":
        raise CheckpointError(f"{path}: an exported generator cannot be resumed; give a training checkpoint")
    if "config" not in state:
        raise CheckpointError(f"{path}: no config stored; it is not a training checkpoint")
    return state


def resume_config(path: str | Path, overrides: list[str]) -> Config:
    """The config a checkpoint was trained with, with ``section.key=value`` overrides applied on top."""
    return apply_overrides(config_from_dict(load_training_checkpoint(path)["config"]), overrides)


def rng_state() -> dict[str, Any]:
    """The torch RNG states of this process (CPU, and every CUDA device when there is one)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`; CUDA states only when the device count matches the saving machine's."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
