"""``unet-resnet damage --in PHOTOS --out DIR``: preview the synthetic damage restoration training applies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=prog or "unet-resnet damage",
        description="Preview the synthetic damage of restoration training: each output row is the clean L "
        "followed by damaged variants.",
    )
    ap.add_argument("--in", dest="inp", required=True, type=Path, help="folder of photos")
    ap.add_argument("--out", required=True, type=Path, help="folder for the previews")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--count", type=int, default=3, help="damaged variants per photo")
    ap.add_argument("-c", "--config", help="a training config whose restore.* keys set the damage")
    return ap


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    if not args.inp.is_dir():
        print(f"error: --in {args.inp} is not a folder", file=sys.stderr)
        return 2

    from unet_resnet.config import ConfigError, DamageConfig, load_config
    from unet_resnet.data.damage_preview import preview

    cfg = DamageConfig()
    if args.config:
        try:
            cfg = load_config(args.config).restore.damage_config()
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    n = preview(args.inp, args.out, cfg, args.seed, args.size, args.count)
    print(f"{n} previews written to {args.out}")
    return 0
