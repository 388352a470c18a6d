"""``unet-resnet evaluate``."""

from __future__ import annotations


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    from unet_resnet.evaluation.evaluate import main as run

    return run(argv)
