"""``unet-resnet export --ckpt PATH --out DIR/|G.onnx|G.safetensors|G.pt2|G.pt``: a model folder, or the generator
alone.

``--help`` and argument errors answer before torch is imported. See :mod:`unet_resnet.export.formats` for the
formats.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from unet_resnet.cli.options import add_model, chosen_checkpoint


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Export the generator of a checkpoint: a model folder (weights, config.json and a model card "
        "quoting the training record and evaluate's reports; loads with Colorizer.from_pretrained and --ckpt DIR), "
        "or the generator alone as ONNX, safetensors (spec in the metadata), torch.export .pt2, or a small .pt. "
        "See docs/inference.md.",
    )
    add_model(p)
    p.add_argument("--out", required=True, help="DIR/ (a model folder), G.onnx, G.safetensors, G.pt2 or G.pt")
    p.add_argument("--half", action="store_true", help="model folder: float16 weights (half the size)")
    p.add_argument(
        "--eval",
        action="append",
        default=[],
        type=Path,
        metavar="REPORT",
        help="model folder: an evaluate report (folder or metrics.json) for the card, besides the eval-*/ reports "
        "found beside the checkpoint; repeatable",
    )
    p.add_argument("--overwrite", action="store_true", help="model folder: replace the model files already in DIR")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime comparison after an ONNX export")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from unet_resnet.config import ConfigError
    from unet_resnet.export.formats import (
        ONNX_CHECK_SHAPES,
        ONNX_TOLERANCE,
        ExportError,
        export,
        is_folder_target,
        max_onnx_difference,
    )
    from unet_resnet.models.checkpoint import CheckpointError

    out = Path(args.out)
    try:
        ckpt = chosen_checkpoint(args.ckpt, args.config)
        print(f"model: {ckpt}", file=sys.stderr)
        G, spec = export(ckpt, args.out, args.half, args.overwrite, args.eval)
    except (CheckpointError, ConfigError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if is_folder_target(args.out):
        files = sorted(p for p in out.iterdir() if p.name in ("model.safetensors", "config.json", "README.md"))
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"wrote model folder {out}/ ({', '.join(p.name for p in files)}; {size:.1f} MB; spec {json.dumps(spec)})")
        print(f'load it with: Colorizer.from_pretrained("{args.out.rstrip("/")}") or --ckpt {args.out}')
        return 0
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; spec {json.dumps(spec)})")
    if out.suffix.lower() == ".onnx" and not args.no_check:
        try:
            diff = max_onnx_difference(G, out, ONNX_CHECK_SHAPES)
        except ImportError:
            print("onnxruntime is not installed: the ONNX file was not checked (pip install onnxruntime)")
        else:
            print(f"onnxruntime vs PyTorch on random inputs of two sizes: max |difference| = {diff:.2e}")
            if diff > ONNX_TOLERANCE:
                print(f"error: {out} does not match PyTorch (max difference {diff:.2e} > 1e-4)", file=sys.stderr)
                return 1
    return 0
