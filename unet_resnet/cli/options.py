"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def _spread(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give e.g. 0.5, or 0 for off") from None
    if not 0.0 <= value <= 4.0:
        raise argparse.ArgumentTypeError(f"must be between 0 (off) and 4 image sides, got {value}")
    return value


def add_hint_spread(p: argparse.ArgumentParser) -> None:
    """``--hint-spread``: how far each colour hint's correction reaches (docs/hints.md)."""
    p.add_argument(
        "--hint-spread",
        type=_spread,
        metavar="SIDES",
        help="how far a colour hint's correction spreads along a flat region, in image sides (default 2; it "
        "stops at edges); 0: the hint model alone follows the hints (docs/hints.md)",
    )


PRECISION_HELP = (
    "arithmetic of the model: fp32 (default, any device), bf16 (about half the memory; on a CPU only fast where "
    "it supports bf16) or fp16 (CUDA only); the full-resolution merge is always float32"
)


def add_model(p: argparse.ArgumentParser) -> None:
    """``--ckpt`` and ``-c/--config``: which model a command uses (:mod:`unet_resnet.models.default_model`)."""
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--ckpt",
        help="training checkpoint, exported generator, model folder or Hub id user/name[@revision] (default: the "
        "demo's model, runs/demo/best.pt, or with --config the best.pt of the run that config names)",
    )
    which.add_argument(
        "-c",
        "--config",
        metavar="CONFIG",
        help="without --ckpt: use the best.pt of the run this training config names (log.dir/log.name)",
    )


def chosen_checkpoint(ckpt: str | None, config: str | None) -> str | Path:
    """The model a command was asked for: ``--ckpt`` as given, else the default of ``--config`` or the demo's.

    Raises ``CheckpointError`` when the default is missing and ``ConfigError`` for a config that cannot be read."""
    from unet_resnet.models.default_model import default_checkpoint

    return ckpt if ckpt else default_checkpoint(config)
