"""``unet-resnet prepare --src RAW --out data/NAME``: a clean, resized, split copy of a folder of photos.

What is dropped and why, and how re-runs reuse earlier work: :mod:`unet_resnet.data.prepare`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet prepare",
        description="Copy a raw folder of photos into a clean training set: drops unreadable, truncated, tiny, "
        "duplicate and grayscale files (reasons in report.json), writes upright resized copies and train/val lists. "
        "The source folder is only read.",
    )
    p.add_argument("--src", required=True, type=Path, help="folder of raw photos (searched recursively)")
    p.add_argument("--out", required=True, type=Path, help="output folder, outside --src (e.g. data/coco)")
    p.add_argument("--size", type=int, default=256, help="shorter side of the copies; 0 keeps full size (default 256)")
    p.add_argument("--min-side", type=int, default=128, help="drop photos whose shorter side is smaller (default 128)")
    p.add_argument("--min-colorfulness", type=float, default=10.0, help="drop less colourful photos (default 10)")
    p.add_argument("--limit", type=int, default=0, help="keep at most this many photos, chosen with --seed")
    p.add_argument("--val", default="0.1", help="held-out photos: a count (500) or a fraction (0.1, the default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit choice and of the split (default 0)")
    p.add_argument("--jpeg-quality", type=int, default=95, help="quality of re-encoded JPEGs (default 95)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="processes (default: cores, <=8)")
    p.add_argument("--rescan", action="store_true", help="examine every source again, ignoring the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    if args.size < 0 or args.min_side < 0 or args.limit < 0 or not 1 <= args.jpeg_quality <= 100:
        p.error("--size, --min-side and --limit must be >= 0 and --jpeg-quality in 1..100")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")

    from unet_resnet.cli.progress import ProgressBar
    from unet_resnet.data.prepare import REASONS, prepare
    from unet_resnet.data.sources import PrepareError, Settings

    settings = Settings(args.size, args.min_side, args.min_colorfulness, args.jpeg_quality)
    try:
        with ProgressBar("prepare", "photo", enabled=not args.quiet) as bar:
            report = prepare(
                args.src, args.out, settings, args.limit, args.val, args.seed, args.workers, args.rescan,
                on_progress=bar,
            )  # fmt: skip
    except PrepareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: progress is saved in {args.out}/; run the same command to carry on", file=sys.stderr)
        return 130
    c, w = report["counts"], report["work"]
    dropped = ", ".join(f"{c[r]} {r}" for r in REASONS if c[r])
    print(f"{c['kept']} kept of {c['images_found']} ({c['train']} train, {c['val']} val); dropped: {dropped or 'none'}")
    print(f"{w['analyzed']} examined, {w['reused']} unchanged since the last run, {w['written']} copies written")
    print(f"lists and report in {args.out}/ (train.txt, val.txt, report.json)")
    return 0
