"""The command front: ``unet-resnet <command>`` and ``python -m unet_resnet <command>``.

Each command lives in a module of this package with a ``main(argv) -> int``; this front imports only the one that
runs, so ``unet-resnet --help`` and argument errors answer without importing torch. Library modules never import
from this package: it is the top layer (argument parsing, printing, exit codes).
"""

from __future__ import annotations

import importlib
import sys

# name -> (module under unet_resnet.cli, one line for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train a colorizer from a YAML config (under torchrun: DDP)"),
    "infer": ("infer", "colorize a photo, a folder of photos or a list of paths"),
    "prepare": ("prepare", "turn a raw photo folder into a clean, split dataset"),
    "evaluate": ("evaluate", "score a checkpoint and the grayscale baseline on held-out photos"),
    "export": ("export", "export a model folder (from_pretrained), or a generator to safetensors, ONNX, .pt, .pt2"),
    "push": ("push", "publish a model folder on the Hugging Face Hub (needs the hub extra and a login)"),
    "bench": ("bench", "measure speed and memory on this machine"),
    "damage": ("damage", "preview the synthetic damage the restoration mode trains on"),
    "config": ("config", "print the resolved config of a YAML file and overrides, or the key reference"),
    "keyframes": (
        "keyframes",
        "write the first frame of every shot of a film, to colour and give to infer --keyframes",
    ),
    "app": ("app", "a local web page: drop a photo, compare, place colour hints, download (needs the app extra)"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: unet-resnet <command> [options]   (also: python -m unet_resnet <command>)",
        "",
        "Pix2Pix colorization of black-and-white photos. Commands:",
        *(f"  {name:<{width}}  {line}" for name, (_, line) in COMMANDS.items()),
        "",
        "'unet-resnet <command> --help' shows a command's options.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from unet_resnet import __version__

        print(f"unet-resnet {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        print(f"unet-resnet: unknown command '{name}'{hint}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"unet_resnet.cli.{COMMANDS[name][0]}")
    return int(module.main(rest, prog=f"unet-resnet {name}"))
