"""``unet-resnet config``: the resolved config of ``-c FILE`` and overrides as readable YAML, or (``--markdown``)
the configuration reference that ``docs/configuration.md`` holds. Imports no torch: it answers at once."""

from __future__ import annotations

import argparse
import sys


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet config",
        description="Print the config a training run would use (the defaults, then -c FILE, then the overrides) as "
        "YAML that train.py -c reads back; or, with --markdown, the reference of every key.",
        epilog="examples:\n  unet-resnet config -c configs/coco.yaml train.lr=1e-4\n"
        "  unet-resnet config --markdown > docs/configuration.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-c", "--config", help="YAML config (see configs/); keys not in it keep their defaults")
    p.add_argument(
        "--markdown", action="store_true", help="print the configuration reference (every key, default, meaning)"
    )
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="config overrides")
    return p


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Exit codes: 0 printed, 2 a bad option, config file or key (the message names it)."""
    p = parser(prog)
    args = p.parse_args(argv)
    if args.markdown and (args.config or args.overrides):
        p.error("--markdown documents the schema's defaults; it takes no -c or overrides")

    from unet_resnet.config import ConfigError, load_config
    from unet_resnet.config.reference import config_yaml, reference_markdown

    if args.markdown:
        sys.stdout.write(reference_markdown())
        return 0
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(config_yaml(cfg))
    return 0
