#!/usr/bin/env python3
"""The restoration measurement: train restoration mode on a CPU budget, then repair damaged held-out photos.

Trains ``configs/restore_cpu.yaml`` on ``../shared/data/train`` for ``--minutes`` (default 10), then damages every
photo of ``../shared/data/val`` (squashed to ``--size`` x ``--size``, the damage drawn from a fixed seed per photo)
and reports, against the clean L: PSNR and SSIM of the damaged input's L and of the restored L (the gain in dB is
what the model adds), plus the colour metrics of the restored photos against the true colour photos. Writes
``results.json``, ``results.md`` and ``examples.png`` (damaged | restored | truth of the bundled sample photos,
which may be shown publicly) under ``--out``.

    python benchmarks/restoration.py                                # about 12 minutes on 2 cores
    python benchmarks/restoration.py --minutes 0.05 --limit 3       # a smoke run

Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from budget_training import train_under_budget

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unet_resnet.config import load_config  # noqa: E402
from unet_resnet.data.color import colorfulness, lab_to_rgb, rgb_to_lab, to_uint8  # noqa: E402
from unet_resnet.data.damage import damage  # noqa: E402
from unet_resnet.data.dataset import fit_to_square  # noqa: E402
from unet_resnet.data.imageio import list_images, read_rgb8, write_rgb8  # noqa: E402
from unet_resnet.inference.colorizer import Colorizer  # noqa: E402
from unet_resnet.inference.restore import restore_lightness  # noqa: E402
from unet_resnet.metrics import ab_l1, psnr, ssim  # noqa: E402


def restore(model: Colorizer, rgb8: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(clean L, damaged L, restored RGB uint8, infer's L)`` for one square photo; L as uint8-scale floats.

    The restored RGB uses the model's L as it is; infer's L is what ``infer.py --restore`` keeps
    (:func:`~unet_resnet.inference.restore.restore_lightness`: the input's own L where the model repaired nothing).
    """
    config = load_config(ROOT / "configs" / "restore_cpu.yaml").restore.damage_config()
    L_clean = rgb_to_lab(rgb8.astype(np.float32) / 255.0)[..., 0] / 100.0
    L_damaged = damage(L_clean, np.random.default_rng([seed, 7]), config)
    out = model.predict(L_damaged[None])[0]  # the photo is already at the render size
    lab = np.stack([(out[0] + 1.0) * 50.0, out[1] * 128.0, out[2] * 128.0], axis=-1)
    restored = to_uint8(lab_to_rgb(lab.astype(np.float32)))
    L_infer = restore_lightness(L_damaged.astype(np.float32), (out[0] + 1.0) / 2.0)
    return L_clean * 255.0, L_damaged * 255.0, restored, L_infer * 255.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "restoration")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N validation photos")
    ap.add_argument("--ckpt", type=Path, help="skip training and measure this restoration checkpoint")
    args = ap.parse_args()
    data = args.shared / "data"
    if not (data / "train").is_dir():
        print(f"restoration: {args.shared} (the real photos) is not available; nothing to do")
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = args.ckpt
    if ckpt is None:
        ckpt = train_under_budget("configs/restore_cpu.yaml", data, out, args.minutes, args.threads, "restoration")
    model = Colorizer.load(ckpt, "cpu")
    if model.out_channels != 3:
        sys.exit(f"restoration: {ckpt} is not a restoration model (it predicts {model.out_channels} channels)")
    size = model.size

    rows = []
    paths = list_images(data / "val")[: args.limit or None]
    for i, path in enumerate(paths):
        truth = fit_to_square(read_rgb8(path), size, "squash", None)
        L_clean, L_damaged, restored, L_infer = restore(model, truth, i)
        L_restored = rgb_to_lab(restored.astype(np.float32) / 255.0)[..., 0] / 100.0 * 255.0
        rows.append(
            {
                "photo": path.name,
                "psnr_L_damaged": psnr(L_damaged, L_clean),
                "psnr_L_restored": psnr(L_restored, L_clean),
                "psnr_L_infer": psnr(L_infer, L_clean),
                "ssim_L_damaged": ssim(L_damaged, L_clean),
                "ssim_L_restored": ssim(L_restored, L_clean),
                "ab_l1": ab_l1(restored, truth),
                "psnr_rgb": psnr(restored, truth),
                "cf_pred": colorfulness(restored),
                "cf_truth": colorfulness(truth),
            }
        )
    keys = [k for k in rows[0] if k != "photo"]
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    mean["psnr_L_gain_db"] = mean["psnr_L_restored"] - mean["psnr_L_damaged"]
    mean["psnr_L_infer_gain_db"] = mean["psnr_L_infer"] - mean["psnr_L_damaged"]
    summary = {"checkpoint": str(ckpt), "size": size, "photos": len(rows), "mean": mean, "per_photo": rows}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = [
        "| figure | damaged input | restored (model's L) |",
        "|---|---|---|",
        f"| PSNR of L (dB) | {mean['psnr_L_damaged']:.2f} | {mean['psnr_L_restored']:.2f} |",
        f"| PSNR of L as infer.py --restore keeps it (dB) | | {mean['psnr_L_infer']:.2f} |",
        f"| SSIM of L | {mean['ssim_L_damaged']:.4f} | {mean['ssim_L_restored']:.4f} |",
        f"| ab L1 (Lab units) | | {mean['ab_l1']:.2f} |",
        f"| RGB PSNR (dB) | | {mean['psnr_rgb']:.2f} |",
        f"| colorfulness (truth {mean['cf_truth']:.1f}) | | {mean['cf_pred']:.1f} |",
    ]
    (out / "results.md").write_text("\n".join(table) + "\n")

    # Before/after pictures from the bundled, freely licensed sample photos.
    examples = []
    for j, path in enumerate(list_images(ROOT / "data" / "samples")[:4]):
        truth = fit_to_square(read_rgb8(path), size, "squash", None)
        _, L_damaged, restored, _ = restore(model, truth, 1000 + j)
        gray_lab = np.stack([L_damaged / 255.0 * 100.0, *(np.zeros_like(L_damaged),) * 2], axis=-1)
        damaged = to_uint8(lab_to_rgb(gray_lab.astype(np.float32)))
        examples.append(np.concatenate([damaged, restored, truth], axis=1))
    write_rgb8(out / "examples.png", np.concatenate(examples, axis=0))
    print("\n".join(table))
    print(f"PSNR gain on L: {mean['psnr_L_gain_db']:+.2f} dB over {len(rows)} photos; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
