"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse


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
