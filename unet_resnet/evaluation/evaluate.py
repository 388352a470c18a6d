"""``unet-resnet evaluate --ckpt PATH --data DIR_OR_LIST``: how good is a model on held-out photos?

Each photo is colorized exactly as ``infer.py`` does it (decoded with its depth, the model run at its render size,
the photo's own full-resolution L kept) and rounded to 8 bits as ``infer.py`` writes an 8-bit photo. The prediction
and the grayscale baseline (the photo's L with ``a = b = 0``) are both scored against the 8-bit photo with
:mod:`unet_resnet.metrics`, so every report shows what the model adds over no colour at all. Writes to ``--out``:

- ``metrics.json``: means for the model and the baseline, then every image's figures;
- ``metrics.md``: the same as markdown tables;
- ``contact_sheet.png``: rows of gray | predicted | truth for a fixed, evenly spaced subset of the photos.

``--save-predictions DIR`` writes each prediction as PNG (lossless, so other scorers see the scored pixels) at the
photo's relative path. ``--fid-weights PATH`` adds FID (:mod:`~unet_resnet.evaluation.fid`); without it FID is skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch.nn as nn
from tqdm import tqdm

from unet_resnet.data.color import to_uint8
from unet_resnet.data.dataset import DataError, read_list
from unet_resnet.data.imageio import ImageReadError, read_photo, read_rgb8, write_atomic, write_rgb8
from unet_resnet.evaluation.fid import FIDWeightsError, fid_from_features, inception_features, load_inception
from unet_resnet.inference.colorizer import Colorizer, newest_checkpoint
from unet_resnet.metrics import gray_baseline, image_scores, summarize
from unet_resnet.models.checkpoint import CheckpointError

log = logging.getLogger(__name__)

SYSTEMS = ("model", "gray")
COLUMNS = (  # summary key, header, decimals
    ("psnr_rgb", "PSNR (dB) ↑", 2),
    ("ssim_rgb", "SSIM ↑", 4),
    ("ab_l1", "ab L1 ↓", 2),
    ("cf_pred", "CF pred", 2),
    ("cf_truth", "CF truth", 2),
    ("delta_cf", "ΔCF ↓", 2),
    ("l_max_err", "L max err ↓", 3),
    ("fid", "FID ↓", 2),
)


def photo_keys(paths: list[Path], root: Path) -> list[Path]:
    """Each photo's path relative to ``root`` (its name when outside it); two photos may not share one."""
    keys = []
    for p in paths:
        try:
            keys.append(p.relative_to(root))
        except ValueError:
            keys.append(Path(p.name))
    seen: dict[Path, Path] = {}
    for key, p in zip(keys, paths, strict=True):
        stem = key.with_suffix("")
        if stem in seen:
            raise DataError(f"{seen[stem]} and {p} would both be saved as {stem}.png; rename one of them")
        seen[stem] = p
    return keys


def sheet_indices(n: int, rows: int) -> list[int]:
    """``rows`` evenly spaced indices of ``n`` photos (all of them when there are fewer)."""
    return sorted({round(i) for i in np.linspace(0, n - 1, min(rows, n))}) if n else []


def contact_sheet(triples: list[tuple[np.ndarray, ...]], height: int = 160) -> np.ndarray:
    """uint8 RGB sheet: one row per ``(gray, predicted, truth)`` triple (or any number of tiles), each tile
    ``height`` pixels high."""
    if not triples:
        return np.full((1, 1, 3), 255, np.uint8)
    rows = []
    for triple in triples:
        h, w = triple[0].shape[:2]
        size = (max(1, round(w * height / h)), height)
        tiles = [cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in triple]
        gap = np.full((height, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([tiles[0], *(part for t in tiles[1:] for part in (gap, t))], axis=1))
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(padded, axis=0)


def evaluate(
    model: Colorizer,
    paths: list[Path],
    root: Path,
    batch_size: int = 8,
    save_predictions: Path | None = None,
    sheet_rows: int = 6,
    fid_model: nn.Module | None = None,
    progress: bool = False,
) -> tuple[dict[str, Any], np.ndarray]:
    """Score ``model`` and the grayscale baseline on ``paths``; returns ``(results, contact sheet uint8 RGB)``.

    ``results`` holds ``"model"`` and ``"gray"`` summaries (:func:`unet_resnet.metrics.summarize` plus ``fid``,
    None when skipped) and ``"per_image"`` rows.
    """
    keys = photo_keys(paths, root)
    on_sheet = set(sheet_indices(len(paths), sheet_rows))
    per_image: list[dict[str, Any]] = []
    triples: list[tuple[np.ndarray, ...]] = []
    feats: dict[str, list[np.ndarray]] = {"model": [], "gray": [], "truth": []}
    for start in tqdm(range(0, len(paths), batch_size), disable=not progress, unit="batch", desc="evaluate"):
        batch = paths[start : start + batch_size]
        photos = [read_photo(p) for p in batch]
        colours = model.colorize([ph.rgb for ph in photos])
        images: dict[str, list[np.ndarray]] = {"model": [], "gray": [], "truth": []}
        for i, (path, rgb) in enumerate(zip(batch, colours, strict=True)):
            truth = read_rgb8(path)
            pred = to_uint8(rgb)
            if pred.shape != truth.shape:
                raise ImageReadError(path, f"decodes as {truth.shape} and {pred.shape}: check its EXIF orientation")
            gray = gray_baseline(truth)
            key = keys[start + i]
            per_image.append(
                {"path": key.as_posix(), "model": image_scores(pred, truth), "gray": image_scores(gray, truth)}
            )
            if save_predictions is not None:
                write_rgb8(save_predictions / key.with_suffix(".png"), pred)
            if start + i in on_sheet:
                triples.append((gray, pred, truth))
            for name, im in (("model", pred), ("gray", gray), ("truth", truth)):
                images[name].append(im)
        if fid_model is not None:
            for name, ims in images.items():
                feats[name].append(inception_features(fid_model, ims, batch_size))
    results: dict[str, Any] = {}
    for system in SYSTEMS:
        results[system] = summarize([row[system] for row in per_image]) | {"fid": None}
    if fid_model is not None and len(paths) >= 2:
        truth_feats = np.concatenate(feats["truth"])
        for system in SYSTEMS:
            results[system]["fid"] = fid_from_features(np.concatenate(feats[system]), truth_feats)
    results["per_image"] = per_image
    return results, contact_sheet(triples)


def _fmt(value: Any, decimals: int) -> str:
    if value is None:
        return "–"
    return "inf" if isinstance(value, float) and math.isinf(value) else f"{value:.{decimals}f}"


def markdown(results: dict[str, Any], title: str, fid_note: str) -> str:
    """The summary table (model and grayscale baseline) and the per-image table, as markdown."""
    names = {"model": "model", "gray": "grayscale baseline (ab = 0)"}
    lines = [f"# {title}", "", "| | " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for system in SYSTEMS:
        cells = [_fmt(results[system][k], d) for k, _, d in COLUMNS]
        lines.append(f"| {names[system]} | " + " | ".join(cells) + " |")
    lines += ["", fid_note, "", "## Per image", ""]
    lines += [
        "| photo | PSNR model | PSNR gray | SSIM model | SSIM gray | ab L1 model | ab L1 gray | CF pred | CF truth |"
    ]
    lines += ["|---" * 9 + "|"]
    for row in results["per_image"]:
        m, g = row["model"], row["gray"]
        cells = [m["psnr"], g["psnr"], m["ssim"], g["ssim"], m["ab_l1"], g["ab_l1"], m["cf_pred"], m["cf_truth"]]
        decimals = [2, 2, 4, 4, 2, 2, 2, 2]
        lines.append(
            f"| {row['path']} | " + " | ".join(_fmt(c, d) for c, d in zip(cells, decimals, strict=True)) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="unet-resnet evaluate",
        description="Colorize held-out colour photos as infer.py does and score the results against the photos "
        "(PSNR, SSIM, ab L1, colorfulness, optional FID), beside the grayscale baseline. Definitions: docs/metrics.md.",
    )
    p.add_argument("--ckpt", help="training checkpoint or exported generator (default: newest runs/**/best.pt)")
    p.add_argument("--data", required=True, help="held-out colour photos: a folder or a list file (e.g. val.txt)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--out", type=Path, help="report folder (default: eval-<data name> beside the checkpoint)")
    p.add_argument("--save-predictions", type=Path, metavar="DIR", help="also write each prediction here as PNG")
    p.add_argument("--fid-weights", type=Path, metavar="PATH", help="local InceptionV3 state dict: adds FID")
    p.add_argument("--sheet", type=int, default=6, help="photos on the contact sheet (default 6)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--hints",
        metavar="COUNTS",
        help="hint sweep, e.g. 0,1,2,5,10,20: colorize with that many points sampled from the true colours "
        "(fixed seed and patch side) and score each count; writes hints.json, hints.md, hints_sheet.png",
    )
    p.add_argument("--hint-size", type=int, default=3, help="patch side of the sweep's points at the render size")
    p.add_argument("--hint-seed", type=int, default=0, help="seed of the sweep's points (default 0)")
    args = p.parse_args(argv)
    if args.hints is not None:
        return sweep_main(args)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    data = Path(args.data)
    try:
        paths = read_list(data)
        ckpt = Path(args.ckpt) if args.ckpt else newest_checkpoint()
        model = Colorizer.load(ckpt, args.device, args.precision, args.size)
        fid_model = load_inception(args.fid_weights, model.device) if args.fid_weights else None
        out = args.out or ckpt.parent / f"eval-{data.stem}"
        results, sheet = evaluate(
            model, paths, data if data.is_dir() else data.parent, args.batch_size, args.save_predictions,
            args.sheet, fid_model, progress=not args.quiet,
        )  # fmt: skip
    except (DataError, CheckpointError, FIDWeightsError, ImageReadError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if fid_model is None:
        fid_note = "FID skipped: no --fid-weights given (a local InceptionV3 state dict; nothing is downloaded)."
    elif len(paths) < 2:
        fid_note = "FID skipped: it needs at least 2 images."
    else:
        fid_note = f"FID with {args.fid_weights.name} on {len(paths)} images (comparable only at equal set sizes)."
    header = {"checkpoint": str(ckpt), "data": str(data), "render_size": model.size, "images": len(paths)}
    report = header | {"fid_note": fid_note} | results
    write_atomic(out / "metrics.json", (json.dumps(report, indent=1) + "\n").encode())
    title = f"{ckpt.name} on {data.name} ({len(paths)} images, render size {model.size})"
    write_atomic(out / "metrics.md", markdown(results, title, fid_note).encode())
    write_rgb8(out / "contact_sheet.png", sheet)
    m, g = results["model"], results["gray"]
    for name, r in (("model", m), ("gray ", g)):
        print(
            f"{name}  psnr {r['psnr_rgb']:.3f} dB  ssim {r['ssim_rgb']:.4f}  ab_l1 {r['ab_l1']:.3f}  "
            f"cf {r['cf_pred']:.2f} (truth {r['cf_truth']:.2f}, delta {r['delta_cf']:.2f})  "
            f"l_max_err {r['l_max_err']:.3f}  fid {_fmt(r['fid'], 2)}"
        )
    print(f"report in {out}/ (metrics.json, metrics.md, contact_sheet.png)")
    return 0


def sweep_main(args: argparse.Namespace) -> int:
    """``evaluate --hints COUNTS``: the hint sweep instead of the plain report."""
    from unet_resnet.evaluation.hint_sweep import hint_sweep, parse_counts, sweep_markdown
    from unet_resnet.inference.hints import HintError

    data = Path(args.data)
    try:
        counts = parse_counts(args.hints)
        paths = read_list(data)
        ckpt = Path(args.ckpt) if args.ckpt else newest_checkpoint()
        model = Colorizer.load(ckpt, args.device, args.precision, args.size)
        results, sheet = hint_sweep(
            model, paths, counts, args.hint_size, args.hint_seed, args.sheet, progress=not args.quiet
        )
    except (DataError, CheckpointError, HintError, ImageReadError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or ckpt.parent / f"eval-{data.stem}"
    header = {"checkpoint": str(ckpt), "data": str(data), "render_size": model.size, "images": len(paths)}
    header |= {"hint_size": args.hint_size, "hint_seed": args.hint_seed}
    write_atomic(out / "hints.json", (json.dumps(header | results, indent=1) + "\n").encode())
    title = f"{ckpt.name} on {data.name}: hint sweep ({len(paths)} images, render size {model.size}, " \
        f"patch {args.hint_size} px, seed {args.hint_seed})"  # fmt: skip
    table = sweep_markdown(results, title)
    write_atomic(out / "hints.md", table.encode())
    write_rgb8(out / "hints_sheet.png", sheet)
    print(table, end="")
    print(f"report in {out}/ (hints.json, hints.md, hints_sheet.png: gray | each count with its points | truth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
