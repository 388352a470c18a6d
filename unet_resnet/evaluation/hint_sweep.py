"""The hint sweep of ``evaluate --hints 0,1,2,5,10``: how much a few true colours help, and whether they are followed.

Zhang et al. (2017)'s protocol: each held-out photo gets ``n`` points sampled from its true colours with a fixed seed
and a fixed patch side, and is colorized as ``infer`` does it (the photo's full-resolution L, ab from the model at
its render size), then scored against the 8-bit photo like :mod:`~unet_resnet.evaluation.evaluate`. The points
depend only on the photo's index, the seed, the render size and the patch side, never on the model, so two models
at the same render size get the same points; the first ``n`` points of a photo are the same for every count (a
sweep adds points, it never moves them).

Hint fidelity: at each point, the distance in ab (Lab units) between the requested ab (the true mean ab over the
patch) and the mean ab of the written output over the same patch, both at the render size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_resnet.data.color import AB_SCALE, rgb_to_lab, to_uint8
from unet_resnet.data.files import write_atomic
from unet_resnet.data.hints import Patch, paint, patches_from_truth, sample_centres
from unet_resnet.data.imageio import ImageReadError, read_photo, read_rgb8, write_rgb8
from unet_resnet.evaluation.evaluate import EvalJob, contact_sheet, sheet_indices
from unet_resnet.hints.points import NO_HINTS, HintError
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.metrics import gray_baseline, image_scores, summarize

SWEEP = (0, 1, 2, 5, 10, 20)
HINT_LIGHTNESS = 60.0
"""Lightness at which a hint's colour is drawn on the contact sheet."""


def parse_counts(text: str) -> list[int]:
    """``"0,1,2,5"`` -> ``[0, 1, 2, 5]``; raises ValueError naming the bad item."""
    counts = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit():
            raise ValueError(f"--hints {text!r}: {item!r} is not a number of points; give e.g. 0,1,2,5,10,20")
        counts.append(int(item))
    return sorted(set(counts))


def ab_small(rgb8: np.ndarray, size: int) -> np.ndarray:
    """``ab / 128`` ``(2, size, size)`` of a uint8 RGB image area-resized to the render size."""
    small = cv2.resize(rgb8, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb_to_lab(small.astype(np.float32) / 255.0)[..., 1:].transpose(2, 0, 1)) / AB_SCALE


def sweep_patches(truth8: np.ndarray, index: int, count: int, size: int, side: int, seed: int = 0) -> list[Patch]:
    """``count`` hints of photo number ``index`` sampled from its true colours at the render size (gaussian
    positions around the centre, as in training)."""
    rng = np.random.default_rng([seed, index])
    centres = sample_centres(rng, count, size, size)
    return patches_from_truth(ab_small(truth8, size), centres, [side] * count)


def fidelity(pred8: np.ndarray, patches: Sequence[Patch], size: int) -> list[float]:
    """Per patch: ab distance (Lab units) between the hint and the output's mean ab over the patch."""
    out = ab_small(pred8, size)
    dists = []
    for p in patches:
        window = out[:, p.y0 : p.y0 + p.side, p.x0 : p.x0 + p.side].reshape(2, -1).mean(axis=1)
        dists.append(float(np.hypot(window[0] - p.a, window[1] - p.b)) * AB_SCALE)
    return dists


def draw_hints(rgb8: np.ndarray, patches: Sequence[Patch], size: int) -> np.ndarray:
    """A copy of ``rgb8`` with each hint drawn as a square of its colour (at a fixed lightness), outlined."""
    out = rgb8.copy()
    h, w = out.shape[:2]
    for p in patches:
        lab = np.array([[[HINT_LIGHTNESS, p.a * AB_SCALE, p.b * AB_SCALE]]], np.float32)
        colour = tuple(int(c) for c in to_uint8(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB))[0, 0])
        half = max(3.0, p.side * w / size / 2, max(h, w) / 80)
        cx, cy = (p.x0 + p.side / 2) * w / size, (p.y0 + p.side / 2) * h / size
        top, bottom = (round(cx - half), round(cy - half)), (round(cx + half), round(cy + half))
        cv2.rectangle(out, top, bottom, colour, thickness=-1)
        cv2.rectangle(out, top, bottom, (0, 0, 0), thickness=max(1, round(half / 4)))
    return out


def hint_sweep(
    model: Colorizer,
    paths: list[Path],
    counts: Sequence[int] = SWEEP,
    side: int = 3,
    seed: int = 0,
    sheet_rows: int = 6,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Colorize and score ``paths`` with each count of hints; returns ``(results, contact sheet uint8 RGB)``.

    ``on_progress(done, total)`` is called after each photo (the command draws a bar).

    ``results``: ``"gray"`` (the baseline's summary) and ``"counts"`` (per count: the summary of
    :func:`unet_resnet.metrics.summarize` plus ``hint_ab_mean`` / ``hint_ab_p95`` over all points, None at 0).
    """
    if any(n > 0 for n in counts) and not model.follows_hints:
        raise HintError(f"{NO_HINTS}; or evaluate it with --hints 0, or without --hints")
    if not 1 <= side <= model.size:
        raise ValueError(f"--hint-size must be between 1 and the render size {model.size}, got {side}")
    on_sheet = set(sheet_indices(len(paths), sheet_rows))
    rows: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    dists: dict[int, list[float]] = {n: [] for n in counts}
    gray_rows, sheet = [], []
    for index, path in enumerate(paths):
        rgb = read_photo(path).rgb
        truth = read_rgb8(path)
        L_small = model.model_input(rgb)[None]
        patches_all = sweep_patches(truth, index, max(counts), model.size, side, seed)
        gray = gray_baseline(truth)
        gray_rows.append(image_scores(gray, truth))
        tiles = [gray]
        for n in counts:
            patches = patches_all[:n]
            maps = paint(patches, model.size, model.size)[None] if n else None
            pred = to_uint8(model.finish(np.asarray(rgb, np.float32), model.predict(L_small, maps)[0], order="rgb"))
            if pred.shape != truth.shape:
                raise ImageReadError(path, f"decodes as {truth.shape} and {pred.shape}: check its EXIF orientation")
            rows[n].append(image_scores(pred, truth))
            dists[n] += fidelity(pred, patches, model.size)
            tiles.append(draw_hints(pred, patches, model.size) if index in on_sheet else pred)
        if index in on_sheet:
            sheet.append((*tiles, truth))
        if on_progress is not None:
            on_progress(index + 1, len(paths))
    results: dict[str, Any] = {"gray": summarize(gray_rows), "counts": {}}
    for n in counts:
        d = np.asarray(dists[n])
        results["counts"][str(n)] = summarize(rows[n]) | {
            "hint_points": int(d.size),
            "hint_ab_mean": float(d.mean()) if d.size else None,
            "hint_ab_p95": float(np.percentile(d, 95)) if d.size else None,
        }
    return results, contact_sheet(sheet)


def _cell(value: Any, decimals: int) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


def sweep_markdown(results: dict[str, Any], title: str) -> str:
    """The sweep as a markdown table: one row per count, the grayscale baseline last."""
    lines = [
        f"# {title}",
        "",
        "| points | PSNR (dB) ↑ | SSIM ↑ | ab L1 ↓ | hint ab distance, mean ↓ | hint ab distance, p95 ↓ |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in results["counts"].items():
        cells = [_cell(r["psnr_rgb"], 2), _cell(r["ssim_rgb"], 4), _cell(r["ab_l1"], 2)]
        cells += [_cell(r["hint_ab_mean"], 2), _cell(r["hint_ab_p95"], 2)]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    g = results["gray"]
    lines.append(f"| grayscale baseline | {g['psnr_rgb']:.2f} | {g['ssim_rgb']:.4f} | {g['ab_l1']:.2f} | – | – |")
    return "\n".join(lines) + "\n"


def sweep_checkpoint(
    job: EvalJob, counts: Sequence[int], side: int = 3, seed: int = 0
) -> tuple[dict[str, Any], str, Path]:
    """Sweep the model of ``job`` on its photos and write ``hints.json``, ``hints.md`` and ``hints_sheet.png`` to its
    report folder. Returns ``(report, markdown table, out)``; errors are raised before anything is written."""
    paths, ckpt, model, out = job.open()
    results, sheet = hint_sweep(model, paths, counts, side, seed, job.sheet_rows, job.on_progress)
    header = job.header(ckpt, model, len(paths)) | {"takes_hints": model.takes_hints, "hint_spread": model.hint_spread}
    report = header | {"hint_size": side, "hint_seed": seed} | results
    write_atomic(out / "hints.json", (json.dumps(report, indent=1) + "\n").encode())
    title = f"{Path(str(ckpt)).name} on {job.data.name}: hint sweep ({len(paths)} images, render size {model.size}, "
    title += f"hint spread {model.hint_spread:g}, "
    table = sweep_markdown(results, title + f"patch {side} px, seed {seed})")
    write_atomic(out / "hints.md", table.encode())
    write_rgb8(out / "hints_sheet.png", sheet)
    return report, table, out
