"""Training from Python: ``unet_resnet.train(cfg)``, the same run as ``python train.py`` without the command line."""

from __future__ import annotations

from pathlib import Path

from unet_resnet.config import Config
from unet_resnet.runtime.distributed import cleanup
from unet_resnet.training import loop
from unet_resnet.training.progress import ProgressCallback
from unet_resnet.training.setup import setup


def train(
    cfg: Config, stage: str = "both", resume: str | Path | None = None, on_progress: ProgressCallback | None = None
) -> Path:
    """Train a colorizer as ``cfg`` says; returns the run folder's ``best.pt``.

    ``stage``: ``both`` (L1 pretraining, then the GAN stage), ``pretrain`` or ``gan``; ``resume``: a run's
    ``last.pt`` to continue (pass the config stored in it, e.g. from
    :func:`unet_resnet.training.state.resume_config`). Progress goes to the ``logging`` module (configure it to
    see it) and, every ``log.every`` steps, to ``on_progress`` (a
    :class:`~unet_resnet.training.progress.StepReport`; the command line draws its bar from it). Under
    torchrun, every process calls this; the process group is closed on return.
    Raises ``ConfigError``, ``DataError``, ``CheckpointError``, ``EncoderWeightsError`` or ``TrainingError``
    with what to change, and ``KeyboardInterrupt`` after Ctrl-C has saved ``last.pt``.
    """
    try:
        run = setup(cfg, stage, str(resume) if resume is not None else None)
        loop.fit(run, on_progress)
    finally:
        cleanup()
    return run.run_dir / "best.pt"
