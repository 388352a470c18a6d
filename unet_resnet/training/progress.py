"""Where a run is (stage, epoch, position in the epoch, time spent) and why it stops (Ctrl-C, time up, NaN)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

STAGES = ("pretrain", "gan")
"""``pretrain``: the generator alone on L1; ``gan``: discriminator + generator, adversarial + lambda x L1."""


class TrainingError(RuntimeError):
    """A run that cannot start or go on; the message says why and what to do."""


class NonFiniteLoss(TrainingError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


@dataclass
class Progress:
    """Where a run is: the stage, the epoch within it, samples of that epoch already consumed on this rank.

    Saved in every checkpoint as a plain dict; resuming continues from the next sample of the same epoch.
    ``samples_done`` counts one rank's samples, so it is only meaningful with the ``world_size`` that wrote it
    (see :meth:`rescale`).
    """

    stage: str = "pretrain"
    epoch: int = 0
    samples_done: int = 0
    step: int = 0
    elapsed: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    best: dict[str, float] = field(default_factory=dict)
    world_size: int = 1

    def rescale(self, world_size: int) -> int:
        """Move the position in the epoch to ``world_size`` processes; returns how many photos will be seen twice.

        The epoch's order is one permutation that the ranks take in turn (rank ``r`` gets positions ``r``,
        ``r + W``, ...), so after ``samples_done`` per rank the first ``samples_done x W`` photos of the permutation
        are done, whatever ``W``. With ``W'`` processes the epoch goes on from the same point when ``W'`` divides
        it; otherwise from the last point before it that ``W'`` divides (fewer than ``W'`` photos again).
        """
        done = self.samples_done * self.world_size
        self.samples_done, self.world_size = done // world_size, world_size
        return done - self.samples_done * world_size

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "epoch": self.epoch,
            "samples_done": self.samples_done,
            "step": self.step,
            "elapsed": dict(self.elapsed),
            "best": dict(self.best),
            "world_size": self.world_size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], world_size: int = 1) -> Progress:
        """A saved progress; ``world_size`` is assumed for checkpoints that did not record theirs."""
        return cls(
            d["stage"],
            int(d["epoch"]),
            int(d["samples_done"]),
            int(d["step"]),
            dict(d["elapsed"]),
            dict(d.get("best", {})),
            int(d.get("world_size", world_size)),
        )


@dataclass(frozen=True)
class StepReport:
    """Where a run is, sent to the progress callback every ``log.every`` steps (the command line draws a bar).

    ``losses`` are the means over the steps since the last report and over the ranks; ``images_per_s`` counts
    every rank's images."""

    stage: str
    epoch: int  # 1-based, the epoch being trained
    epochs: int
    step_in_epoch: int  # optimizer steps of this epoch done
    steps_in_epoch: int
    step: int  # optimizer steps of the run
    losses: dict[str, float]
    images_per_s: float
    lr: float


ProgressCallback = Callable[[StepReport], None]


class StopFlags:
    """Ctrl-C, noted by a signal handler; the loop reads it (with the time budget and the losses) every
    ``log.every`` steps, agreed on by all ranks, so no rank is left waiting in a collective."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once
