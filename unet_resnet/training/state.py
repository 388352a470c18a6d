"""What a training run holds (:class:`Run`), what its checkpoints save, and how a run comes back from one.

A training checkpoint (``last.pt``) is a plain dict (``torch.load(..., weights_only=True)`` opens it): both bare
networks, both optimizers and gradient scalers, the :class:`~unet_resnet.training.progress.Progress`, the RNG states,
the resolved config and the generator's spec. With an EMA (``train.ema_decay``), ``generator`` holds the EMA (what
export and inference load) and ``generator_train`` the training weights (what resume loads). ``best.pt`` holds only
what inference needs: the generator users get, its spec and the metrics that chose it. Only rank 0 writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from unet_resnet.config import Config, apply_overrides, config_from_dict
from unet_resnet.data.dataset import LabDataset
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.checkpoint import CheckpointError
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.training.bn_stats import PreciseBN
from unet_resnet.training.progress import STAGES, Progress
from unet_resnet.training.trainer import Pix2PixTrainer

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What the loop works with, built once by :func:`unet_resnet.training.setup.setup`: the config and process,
    the run folder, the :class:`~unet_resnet.training.trainer.Pix2PixTrainer`, the data, and where the run is."""

    cfg: Config
    info: DistInfo
    run_dir: Path
    trainer: Pix2PixTrainer
    spec: dict[str, Any]  # the generator's spec (what inference rebuilds it from)
    train_set: LabDataset
    val_set: LabDataset
    progress: Progress
    stages: list[str]
    precise_bn: PreciseBN | None = None  # train.precise_bn > 0
    writer: Any = None  # TensorBoard, rank 0 only
    train_loader: Any = None  # data.loader.TrainLoader, built once per run by loop.stage_loader
    record: dict[str, Any] = field(default_factory=dict)  # how the model was made (training.record), for model cards

    def checkpoint(self) -> dict[str, Any]:
        """The training checkpoint (``last.pt``): the trainer's state, the progress, RNG states, config and spec."""
        return {
            "format_version": ckpt_io.FORMAT_VERSION,
            "kind": "training",
            **self.trainer.state_dict(),
            "progress": self.progress.to_dict(),
            "epoch": self.progress.epoch,
            "step": self.progress.step,
            "stage": self.progress.stage,
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
            "model": self.spec,
            "record": self.record,
        }

    def inference_checkpoint(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """What inference needs (``best.pt``): the generator users get and its spec, with the validation metrics
        that chose it; an exported generator's format (``kind: generator``), a fraction of ``last.pt``'s size."""
        shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}
        return {
            "format_version": ckpt_io.FORMAT_VERSION,
            "kind": "generator",
            "generator": self.trainer.generator_state(),
            "model": self.spec,
            "metrics": shown,
            "record": self.record,
        }

    def save(self, name: str, metrics: dict[str, Any] | None = None) -> Path:
        """Write ``run_dir/name`` atomically on rank 0 (the other ranks only learn the path): the training
        checkpoint, or with ``metrics`` the inference checkpoint."""
        path = self.run_dir / name
        if self.info.is_main:
            state = self.checkpoint() if metrics is None else self.inference_checkpoint(metrics)
            ckpt_io.save_atomic(state, path)
        return path

    def refresh_bn_stats(self, max_batches: int) -> int:
        """Precise BN of the generator users get (at most ``max_batches`` forward passes per rank); returns the
        batches seen (0 when ``train.precise_bn`` is 0)."""
        if self.precise_bn is None:
            return 0
        t, info = self.trainer, self.info
        return self.precise_bn.refresh(t.user_G(), max_batches, info.device, t.autocast, info.rank, info.world_size)

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a training checkpoint: weights, optimizers, scalers, RNG, progress.

        When the checkpoint stopped in a stage this run was not asked for (``--stage pretrain`` resumed after the
        GAN stage began, say), the run goes on from that stage.
        """
        self.trainer.load_state_dict(state)
        set_rng_state(state["rng"])
        self.record = state.get("record") or self.record
        self.progress = Progress.from_dict(state["progress"], self.info.world_size)
        saved_world = self.progress.world_size
        if saved_world != self.info.world_size:
            again = self.progress.rescale(self.info.world_size)
            if self.info.is_main:
                log.warning(
                    "resuming with %d processes a checkpoint written by %d: the epoch goes on from its photo %d "
                    "(%d photos seen twice); the global batch is now %d",
                    self.info.world_size,
                    saved_world,
                    self.progress.samples_done * self.info.world_size,
                    again,
                    self.cfg.data.batch_size * self.info.world_size * self.cfg.train.accum_steps,
                )
        if self.progress.stage not in self.stages:
            self.stages = list(STAGES[STAGES.index(self.progress.stage) :])


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint (a run folder's ``last.pt``), opened safely; anything else is refused."""
    state = ckpt_io.load(path)
    if state["kind"] != "training":
        raise CheckpointError(
            f"{path}: holds a generator only (a run's best.pt or an exported model) and cannot be resumed; "
            "give the run's last.pt"
        )
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
