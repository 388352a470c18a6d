"""``unet-resnet evaluate --ckpt PATH --data DIR_OR_LIST``: how good is a model on held-out photos?

Each photo is colorized exactly as ``infer.py`` does it (decoded with its depth, the model run at its render size,
the photo's own full-resolution L kept) and rounded to 8 bits as ``infer.py`` writes an 8-bit photo. The prediction
and the grayscale baseline (the photo's L with ``a = b = 0``) are both scored against the 8-bit photo with
:mod:`unet_resnet.metrics`, so every report shows what the model adds over no colour at all. Writes to ``--out``:

- ``metrics.json``: means for the model and the baseline, the photo-by-photo comparison with gray
  (``against_gray``: on how many photos the model beats it, and its largest losses), then every image's figures;
- ``metrics.md``: the same as markdown tables;
- ``contact_sheet.png``: rows of gray | predicted | truth for a fixed, evenly spaced subset of the photos.

``--save-predictions DIR`` writes each prediction as PNG (lossless, so other scorers see the scored pixels) at the
photo's relative path. ``--fid-weights PATH`` adds FID (:mod:`~unet_resnet.evaluation.fid`); without it FID is skipped.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch.nn as nn

from unet_resnet.data.color import to_uint8
from unet_resnet.data.files import write_atomic
from unet_resnet.data.imageio import ImageReadError, read_photo, read_rgb8, write_rgb8
from unet_resnet.data.photos import DataError, read_list
from unet_resnet.evaluation.fid import fid_from_features, inception_features, load_inception
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.inference.model_options import ModelOptions
from unet_resnet.metrics import gray_baseline, image_scores, summarize
from unet_resnet.models.default_model import default_checkpoint
from unet_resnet.models.provenance import weights_digest

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
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Score ``model`` and the grayscale baseline on ``paths``; returns ``(results, contact sheet uint8 RGB)``.

    ``on_progress(done, total)`` is called after each batch with the photos scored so far (the command draws a bar).

    ``results`` holds ``"model"`` and ``"gray"`` summaries (:func:`unet_resnet.metrics.summarize` plus ``fid``,
    None when skipped) and ``"per_image"`` rows.
    """
    keys = photo_keys(paths, root)
    on_sheet = set(sheet_indices(len(paths), sheet_rows))
    per_image: list[dict[str, Any]] = []
    triples: list[tuple[np.ndarray, ...]] = []
    feats: dict[str, list[np.ndarray]] = {"model": [], "gray": [], "truth": []}
    for start in range(0, len(paths), batch_size):
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
        if on_progress is not None:
            on_progress(len(per_image), len(paths))
    results: dict[str, Any] = {}
    for system in SYSTEMS:
        results[system] = summarize([row[system] for row in per_image]) | {"fid": None}
    if fid_model is not None and len(paths) >= 2:
        truth_feats = np.concatenate(feats["truth"])
        for system in SYSTEMS:
            results[system]["fid"] = fid_from_features(np.concatenate(feats[system]), truth_feats)
    results["per_image"] = per_image
    results["against_gray"] = against_gray(per_image)
    return results, contact_sheet(triples)


def against_gray(per_image: list[dict[str, Any]], worst: int = 5) -> dict[str, Any]:
    """How the model's PSNR compares with the grayscale baseline photo by photo.

    A mean PSNR below gray can come from a few photos coloured badly wrong (a nearly neutral scene painted in
    colour loses several dB: docs/quality.md, "Where val is lost") or from many small losses; this tells which.
    ``above``: photos whose PSNR is higher than gray's; ``mean_psnr_difference``: model minus gray, averaged over
    photos with a finite PSNR; ``worst``: up to ``worst`` photos with the largest losses (only losses), by path;
    ``mean_psnr_difference_without_worst``: the mean over the other photos (None when none is left).
    """
    deltas = [(row["model"]["psnr"] - row["gray"]["psnr"], row["path"]) for row in per_image]
    finite = [(d, p) for d, p in deltas if math.isfinite(d)]
    finite.sort()
    total = sum(d for d, _ in finite)
    worst_rows = [(d, p) for d, p in finite[:worst] if d < 0]
    return {
        "images": len(deltas),
        "above": sum(d > 0 for d, _ in deltas),
        "mean_psnr_difference": total / len(finite) if finite else None,
        "worst": [{"path": p, "psnr_difference": d} for d, p in worst_rows],
        "mean_psnr_difference_without_worst": (
            (total - sum(d for d, _ in worst_rows)) / (len(finite) - len(worst_rows))
            if len(finite) > len(worst_rows)
            else None
        ),
    }


def fmt(value: Any, decimals: int) -> str:
    if value is None:
        return "–"
    return "inf" if isinstance(value, float) and math.isinf(value) else f"{value:.{decimals}f}"


def markdown(results: dict[str, Any], title: str, fid_note: str) -> str:
    """The summary table (model and grayscale baseline) and the per-image table, as markdown."""
    names = {"model": "model", "gray": "grayscale baseline (ab = 0)"}
    lines = [f"# {title}", "", "| | " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for system in SYSTEMS:
        cells = [fmt(results[system][k], d) for k, _, d in COLUMNS]
        lines.append(f"| {names[system]} | " + " | ".join(cells) + " |")
    lines += ["", fid_note, ""]
    lines += against_gray_lines(results.get("against_gray"))
    lines += ["## Per image", ""]
    lines += [
        "| photo | PSNR model | PSNR gray | SSIM model | SSIM gray | ab L1 model | ab L1 gray | CF pred | CF truth |"
    ]
    lines += ["|---" * 9 + "|"]
    for row in results["per_image"]:
        m, g = row["model"], row["gray"]
        cells = [m["psnr"], g["psnr"], m["ssim"], g["ssim"], m["ab_l1"], g["ab_l1"], m["cf_pred"], m["cf_truth"]]
        decimals = [2, 2, 4, 4, 2, 2, 2, 2]
        lines.append(f"| {row['path']} | " + " | ".join(fmt(c, d) for c, d in zip(cells, decimals, strict=True)) + " |")
    return "\n".join(lines) + "\n"


def against_gray_lines(summary: dict[str, Any] | None) -> list[str]:
    """Two sentences on the photo-by-photo comparison with gray (nothing when it was not computed)."""
    if not summary or summary["mean_psnr_difference"] is None:
        return []
    line = (
        f"Against gray, photo by photo: the model's PSNR is higher on {summary['above']} of {summary['images']} "
        f"photos; mean difference {summary['mean_psnr_difference']:+.2f} dB."
    )
    if summary["worst"]:
        names = ", ".join(f"{w['path']} ({w['psnr_difference']:+.1f} dB)" for w in summary["worst"])
        rest = summary["mean_psnr_difference_without_worst"]
        line += f" Largest losses: {names}" + (f"; without them {rest:+.2f} dB." if rest is not None else ".")
    return [line, ""]


def fid_note(fid_weights: Path | None, images: int) -> str:
    """One sentence on whether FID was computed, and with what."""
    if fid_weights is None:
        return "FID skipped: no --fid-weights given (a local InceptionV3 state dict; nothing is downloaded)."
    if images < 2:
        return "FID skipped: it needs at least 2 images."
    return f"FID with {fid_weights.name} on {images} images (comparable only at equal set sizes)."


def default_report_dir(model: Colorizer, data: Path) -> Path:
    """``eval-<data name>`` beside the checkpoint file, inside a local model folder, or, for a Hub model, in the
    working folder (``eval-<repository name>-<data name>``): where a model card looks for the reports of its weights."""
    origin = model.provenance.origin
    if origin is None:
        return Path(f"eval-{model.provenance.name.split('@')[0].split('/')[-1]}-{data.stem}")
    return origin / f"eval-{data.stem}"


@dataclass(frozen=True)
class EvalJob:
    """What ``evaluate`` scores and where it reports: shared by the plain report and the hint sweep."""

    data: Path
    """Held-out photos: a folder or a list file."""
    ckpt: str | Path | None = None
    """The model (a file, a model folder or a Hub id); None: the demo's model, runs/demo/best.pt."""
    out: Path | None = None
    """Report folder; None: :func:`default_report_dir`."""
    model: ModelOptions = field(default_factory=ModelOptions)
    sheet_rows: int = 6
    """Photos on the contact sheet."""
    on_progress: Callable[[int, int], None] | None = None
    """Called with (photos done, photos in all) as the work goes; the command draws a bar."""

    def open(self) -> tuple[list[Path], str | Path, Colorizer, Path]:
        """The photos, the checkpoint, the loaded model and the report folder. Raises ``DataError`` or
        ``CheckpointError`` (naming the file and the fix) before anything is written."""
        paths = read_list(self.data)
        ckpt = self.ckpt or default_checkpoint()
        model = self.model.load(ckpt)
        return paths, ckpt, model, self.out or default_report_dir(model, self.data)

    def header(self, ckpt: str | Path, model: Colorizer, images: int) -> dict[str, Any]:
        """The first keys of a report: what was scored (the model's name, what it was trained on, the digest of its
        weights, which a model card checks before quoting the report), at which render size, on how many photos."""
        return {
            "checkpoint": str(ckpt),
            "model_name": model.provenance.name,
            "trained_on": model.provenance.trained_on(),
            "weights_sha256": weights_digest(model.G.state_dict()),
            "data": str(self.data),
            "render_size": model.size,
            "images": images,
        }


def evaluate_checkpoint(
    job: EvalJob, batch_size: int = 8, save_predictions: Path | None = None, fid_weights: Path | None = None
) -> tuple[dict[str, Any], Path]:
    """:func:`evaluate` the model of ``job`` on its photos and write the report to its folder.

    Returns ``(report, out)``: the report is what ``metrics.json`` holds. Raises ``DataError``, ``CheckpointError``,
    ``FIDWeightsError``, ``ImageReadError`` (each naming the file and the fix) before anything is written.
    """
    paths, ckpt, model, out = job.open()
    data = job.data
    fid_model = load_inception(fid_weights, model.device) if fid_weights else None
    results, sheet = evaluate(
        model, paths, data if data.is_dir() else data.parent, batch_size, save_predictions, job.sheet_rows, fid_model,
        on_progress=job.on_progress,
    )  # fmt: skip
    note = fid_note(fid_weights if fid_model is not None else None, len(paths))
    report = job.header(ckpt, model, len(paths)) | {"fid_note": note} | results
    write_atomic(out / "metrics.json", (json.dumps(report, indent=1) + "\n").encode())
    title = f"{model.title} on {data.name} ({len(paths)} images, render size {model.size})"
    write_atomic(out / "metrics.md", markdown(results, title, note).encode())
    write_rgb8(out / "contact_sheet.png", sheet)
    log.debug("report written to %s", out)
    return report, out
