"""``unet-resnet evaluate --ckpt PATH --data DIR_OR_LIST``: how good is a model on held-out photos?

What is scored and how: :mod:`unet_resnet.evaluation.evaluate`; definitions in ``docs/metrics.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from unet_resnet.cli.options import PRECISION_HELP, add_hint_spread, add_model, chosen_checkpoint


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet evaluate",
        description="Colorize held-out colour photos as infer.py does and score the results against the photos "
        "(PSNR, SSIM, ab L1, colorfulness, optional FID), beside the grayscale baseline. Definitions: docs/metrics.md.",
    )
    add_model(p)
    p.add_argument("--data", required=True, type=Path, help="held-out colour photos: a folder or a list file (val.txt)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument(
        "--out",
        type=Path,
        help="report folder (default: eval-<data name> beside the checkpoint, or inside a model folder)",
    )
    p.add_argument("--save-predictions", type=Path, metavar="DIR", help="also write each prediction here as PNG")
    p.add_argument("--fid-weights", type=Path, metavar="PATH", help="local InceptionV3 state dict: adds FID")
    p.add_argument("--sheet", type=int, default=6, help="photos on the contact sheet (default 6)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"), help=PRECISION_HELP)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--hints",
        metavar="COUNTS",
        help="hint sweep, e.g. 0,1,2,5,10,20: colorize with that many points sampled from the true colours "
        "(fixed seed and patch side) and score each count; writes hints.json, hints.md, hints_sheet.png "
        "(docs/hints.md)",
    )
    p.add_argument("--hint-size", type=int, default=3, help="patch side of the sweep's points at the render size")
    p.add_argument("--hint-seed", type=int, default=0, help="seed of the sweep's points (default 0)")
    add_hint_spread(p)
    return p


def sweep(args: argparse.Namespace) -> int:
    """``evaluate --hints COUNTS``: the hint sweep instead of the plain report."""
    from unet_resnet.cli.progress import ProgressBar
    from unet_resnet.data.imageio import ImageReadError
    from unet_resnet.evaluation.evaluate import EvalJob
    from unet_resnet.evaluation.hint_sweep import parse_counts, sweep_checkpoint
    from unet_resnet.inference.model_options import ModelOptions

    try:
        counts = parse_counts(args.hints)
        ckpt = chosen_checkpoint(args.ckpt, args.config)
        print(f"model: {ckpt}", file=sys.stderr)
        model = ModelOptions(args.device, args.precision, args.size, hint_spread=args.hint_spread)
        with ProgressBar("hint sweep", "photo", enabled=not args.quiet) as bar:
            job = EvalJob(args.data, ckpt, args.out, model, args.sheet, on_progress=bar)
            _, table, out = sweep_checkpoint(job, counts, args.hint_size, args.hint_seed)
    except (ImageReadError, ValueError, RuntimeError) as exc:  # hint, data and checkpoint errors included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table, end="")
    print(f"report in {out}/ (hints.json, hints.md, hints_sheet.png: gray | each count with its points | truth)")
    return 0


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.hints is not None:
        return sweep(args)

    from unet_resnet.cli.progress import ProgressBar
    from unet_resnet.data.imageio import ImageReadError
    from unet_resnet.evaluation.evaluate import EvalJob, evaluate_checkpoint, fmt
    from unet_resnet.inference.model_options import ModelOptions

    try:
        ckpt = chosen_checkpoint(args.ckpt, args.config)
        print(f"model: {ckpt}", file=sys.stderr)
        model = ModelOptions(args.device, args.precision, args.size)
        with ProgressBar("evaluate", "photo", enabled=not args.quiet) as bar:
            job = EvalJob(args.data, ckpt, args.out, model, args.sheet, on_progress=bar)
            report, out = evaluate_checkpoint(job, args.batch_size, args.save_predictions, args.fid_weights)
    except (ImageReadError, ValueError, RuntimeError) as exc:  # data, checkpoint and FID weights errors included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, r in (("model", report["model"]), ("gray ", report["gray"])):
        print(
            f"{name}  psnr {r['psnr_rgb']:.3f} dB  ssim {r['ssim_rgb']:.4f}  ab_l1 {r['ab_l1']:.3f}  "
            f"cf {r['cf_pred']:.2f} (truth {r['cf_truth']:.2f}, delta {r['delta_cf']:.2f})  "
            f"l_max_err {r['l_max_err']:.3f}  fid {fmt(r['fid'], 2)}"
        )
    print(f"model: {report['model_name']} (trained on {report['trained_on']})")
    print(f"report in {out}/ (metrics.json, metrics.md, contact_sheet.png)")
    return 0
