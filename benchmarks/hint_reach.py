#!/usr/bin/env python3
"""How far a colour hint carries: ab error against the truth at 0, 10, 20 and 40 px from a true-colour hint and
over the region the hint falls in.

Each photo of each ``--data`` folder gets ``--points`` hints sampled from its true colours exactly as the hint
sweep samples them (``evaluate --hints``: gaussian positions around the centre, a ``--hint-size`` square, hint seed
0, the photo's index); each hint is given **alone**, and the model's output at its render size is compared with the
truth area-resized to that size. Everything is measured at the render size (distances are pixels there):

- **ring d px**: the mean ab error (Euclidean, Lab units) over the pixels of the hint's segment whose distance to
  the hint's square is within 2.5 px of ``d`` (0: the square itself);
- **segment**: the mean over the whole segment; **outside**: over every pixel outside it (where a hint's colour
  should not go, or only where the truth agrees);
- the **segment** of a hint: the 4-connected flood region of the truth (Lab at the render size) around the hint's
  centre pixel whose L is within ``--seg-l`` and whose a and b are each within ``--seg-ab`` of that pixel's
  (``cv2.floodFill`` with a fixed range), plus the hint's square; a reproducible "region of similar L and colour".

A ring is averaged over the hints whose segment reaches it (the count is printed). Rows: the model alone (no hint;
a hint model sees the hint, unspread), and the model with the spreading of the code on the path (``PYTHONPATH``):
run it once per version of the code to compare them.

    PYTHONPATH=. python benchmarks/hint_reach.py --ckpt runs/x/best.pt                    # ../shared/data/val
    PYTHONPATH=. python benchmarks/hint_reach.py --ckpt runs/x/best.pt --data ../shared/data/faces --limit 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.data.color import AB_SCALE, rgb_to_lab
from unet_resnet.data.hints import paint
from unet_resnet.data.imageio import read_photo, read_rgb8
from unet_resnet.data.photos import read_list
from unet_resnet.evaluation.hint_sweep import sweep_patches
from unet_resnet.inference.colorizer import Colorizer

try:  # the spreading's home; the older layout's too, so that this script can measure the code before a change
    from unet_resnet.hints.spread import spread_hints
except ImportError:
    from unet_resnet.inference.spread import spread_hints  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
RINGS = (0, 10, 20, 40)
RING_HALF_WIDTH = 2.5


def segment(truth_lab: np.ndarray, cx: int, cy: int, tol_l: float, tol_ab: float) -> np.ndarray:
    """bool ``(H, W)``: the 4-connected region around ``(cx, cy)`` of ``truth_lab (H, W, 3)`` (Lab units) within
    ``tol_l`` in L and ``tol_ab`` in a and b of the seed pixel."""
    h, w = truth_lab.shape[:2]
    mask = np.zeros((h + 2, w + 2), np.uint8)
    tol = (tol_l, tol_ab, tol_ab)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(np.ascontiguousarray(truth_lab, np.float32), mask, (cx, cy), 0, tol, tol, flags)
    return mask[1:-1, 1:-1] > 0


def measure(
    model: Colorizer, paths: list[Path], points: int, side: int, tol_l: float, tol_ab: float
) -> tuple[dict[str, dict[str, list[float]]], float]:
    """Per system (``alone``, ``spread``), per column, the per-hint mean errors; and the seconds spent spreading."""
    size = model.size
    alone_model = Colorizer(model.G, model.spec, model.device, size=size, hint_spread=0.0)
    columns = [f"{d} px" for d in RINGS] + ["segment", "outside"]
    errors: dict[str, dict[str, list[float]]] = {s: {c: [] for c in columns} for s in ("alone", "spread")}
    spread_seconds = 0.0
    for index, path in enumerate(paths):
        rgb = read_photo(path).rgb
        truth8 = read_rgb8(path)
        small = cv2.resize(truth8, (size, size), interpolation=cv2.INTER_AREA)
        truth_lab = rgb_to_lab(small.astype(np.float32) / 255.0)
        truth_ab = truth_lab[..., 1:].transpose(2, 0, 1)
        L_small = model.model_input(rgb)[None]
        auto = alone_model.predict(L_small)[0, -2:]
        for p in sweep_patches(truth8, index, points, size, side):
            maps = paint([p], size, size)[None]
            square = maps[0, 2] > 0.5
            ring_distance = cv2.distanceTransform((~square).astype(np.uint8), cv2.DIST_L2, 5)
            region = segment(truth_lab, p.x0 + p.side // 2, p.y0 + p.side // 2, tol_l, tol_ab) | square
            # a hint model sees the hint (one forward pass per hint); a plain model's output is the same for all
            alone = alone_model.predict(L_small, maps)[0, -2:] if model.takes_hints else auto
            start = time.perf_counter()
            spread = spread_hints(alone, L_small[0], maps[0], model.hint_spread) * AB_SCALE
            spread_seconds += time.perf_counter() - start
            alone = alone * AB_SCALE
            for name, ab in (("alone", alone), ("spread", spread)):
                err = np.hypot(*(ab - truth_ab))
                for d in RINGS:
                    ring = region & (np.abs(ring_distance - d) <= RING_HALF_WIDTH) if d else square
                    if ring.any():
                        errors[name][f"{d} px"].append(float(err[ring].mean()))
                errors[name]["segment"].append(float(err[region].mean()))
                if (~region).any():
                    errors[name]["outside"].append(float(err[~region].mean()))
    return errors, spread_seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True, help="the model to measure")
    ap.add_argument("--data", type=Path, action="append", help="photo folders (default ../shared/data/val)")
    ap.add_argument("--limit", type=int, default=0, help="first N photos of each folder (0: all)")
    ap.add_argument("--points", type=int, default=4, help="hints per photo, each measured alone (default 4)")
    ap.add_argument("--hint-size", type=int, default=3, help="side of a hint's square at the render size")
    ap.add_argument("--size", type=int, help="render size (default: the model's)")
    ap.add_argument("--hint-spread", type=float, help="spreading reach in image sides (default: the code's)")
    ap.add_argument("--seg-l", type=float, default=8.0, help="segment tolerance in L, Lab units (default 8)")
    ap.add_argument("--seg-ab", type=float, default=6.0, help="segment tolerance in a and in b (default 6)")
    args = ap.parse_args()
    folders = args.data or [ROOT.parent / "shared" / "data" / "val"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"hint_reach: no photo folder {', '.join(missing)}; nothing to measure")
        return 0
    model = Colorizer.load(args.ckpt, "cpu", size=args.size, hint_spread=args.hint_spread)
    print(
        f"# hint reach: {args.ckpt.name}, render size {model.size}, spread {model.hint_spread:g}, {args.points} "
        f"hints per photo, each alone, square {args.hint_size} px, segment L +-{args.seg_l:g} ab +-{args.seg_ab:g}; "
        "ab error against the truth, Lab units, distances in px at the render size"
    )
    columns = [f"{d} px" for d in RINGS] + ["segment", "outside"]
    print("\n| data | system | " + " | ".join(columns) + " | spreading s/hint |")
    print("|---|---|" + "---|" * (len(columns) + 1))
    for folder in folders:
        paths = read_list(folder)[: args.limit or None]
        errors, seconds = measure(model, paths, args.points, args.hint_size, args.seg_l, args.seg_ab)
        hints = len(errors["spread"]["segment"])
        for name in ("alone", "spread"):
            cells = [f"{np.mean(errors[name][c]):.2f}" if errors[name][c] else "–" for c in columns]
            label = "model alone" if name == "alone" else f"with spreading ({hints} hints)"
            timing = f"{seconds / max(hints, 1):.3f}" if name == "spread" else "–"
            print(f"| {folder.name} | {label} | " + " | ".join(cells) + f" | {timing} |")
    counts = {c: len(errors["spread"][c]) for c in columns}
    reach = ", ".join(f"{c} {n}" for c, n in counts.items())
    print(f"\nhints whose segment reaches each column (last folder): {reach}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
