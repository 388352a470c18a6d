"""``unet-resnet export``."""

from __future__ import annotations


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    from unet_resnet.inference.export import main as run

    return run(argv)
