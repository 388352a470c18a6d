"""``unet-resnet train``."""

from __future__ import annotations


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    from unet_resnet.training.run import main as run

    return run(argv)
