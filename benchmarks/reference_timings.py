#!/usr/bin/env python3
"""Times the seed reference's own functions where its ``speed`` command has no figure; prints one JSON line.

Run it with the reference's Python (the venv of ``setup_reference.sh``), never with ours: it imports
``seed_reference.py`` from ``--reference`` and uses the notebook's libraries (PIL, scikit-image, fastai).

- ``data_images_per_s``: ``load_rgb`` + ``to_lab_tensors`` (decode, bicubic resize, flip, skimage Lab, tensors),
  one thread, over the photos of ``--data``: the reference's training data pipeline.
- ``postprocess_images_per_s``: the full-resolution half of its ``colorize`` on a 1024x768 photo (skimage Lab of
  the photo, ab upsampled bilinearly, skimage back to RGB, 8-bit).
- ``generator_images_per_s``: its generator alone (eval, no grad) at ``--infer-batch``.
- ``e2e_images_per_s``: its ``colorize`` command over ``--infer-data`` with random weights, model loading
  included, after one warm-up run on the first photo.

Medians over ``--iters`` timed repetitions after ``--warmup`` untimed ones, as in ``unet-resnet bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

POSTPROCESS_SIZE = (1024, 768)


def median_seconds(fn: Callable[[], object], iters: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, iters)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_reference(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_reference", path)
    if spec is None or spec.loader is None:
        sys.exit(f"error: cannot import the seed reference from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def photos(ref: ModuleType, folder: str, limit: int) -> list[Path]:
    found = ref.list_images(Path(folder))
    if not found:
        sys.exit(f"error: no photos in {folder}")
    return found[:limit] if limit > 0 else found


def data_rate(ref: ModuleType, paths: list[Path], size: int, iters: int, warmup: int) -> float:
    rng = random.Random(0)

    def one_pass() -> None:
        for p in paths:
            ref.to_lab_tensors(ref.load_rgb(p), size, rng.random() < 0.5)

    return len(paths) / median_seconds(one_pass, iters, min(warmup, 1))


def postprocess_rate(ref: ModuleType, photo: Path, size: int, iters: int, warmup: int) -> float:
    """The lines of the reference's ``cmd_colorize`` after the generator, on a 1024x768 photo."""
    import numpy as np
    import torch
    from PIL import Image
    from skimage.color import lab2rgb, rgb2lab

    rgb = ref.load_rgb(photo).resize(POSTPROCESS_SIZE, Image.BICUBIC)
    w, h = rgb.size
    ab_small = torch.rand(2, size, size) - 0.5

    def merge() -> None:
        L_full = rgb2lab(np.asarray(rgb))[..., 0]
        ab = torch.nn.functional.interpolate(ab_small[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        lab = np.concatenate([L_full[..., None], ab.permute(1, 2, 0).numpy() * 128.0], axis=2)
        (np.clip(lab2rgb(lab), 0, 1) * 255.0 + 0.5).astype(np.uint8)

    return 1.0 / median_seconds(merge, iters, warmup)


def generator_rate(ref: ModuleType, size: int, batch: int, iters: int, warmup: int) -> float:
    import torch

    torch.manual_seed(0)
    G = ref.build_generator(size).eval()
    L = torch.rand(batch, 1, size, size)
    with torch.no_grad():
        return batch / median_seconds(lambda: G(L), iters, warmup)


def e2e_rate(ref: ModuleType, paths: list[Path], size: int, repeats: int) -> float:
    import torch

    with tempfile.TemporaryDirectory(prefix="seed_reference_e2e_") as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        weights = root / "G.pt"
        torch.save({"G": ref.build_generator(size).state_dict(), "size": size, "steps": 0}, weights)
        for name, chosen in (("warm", paths[:1]), ("in", paths)):
            (root / name).mkdir()
            for i, src in enumerate(chosen):
                (root / name / f"{i:05d}_{src.name}").symlink_to(src.resolve())

        def run(folder: str) -> None:
            ns = argparse.Namespace(weights=str(weights), inp=str(root / folder), out=str(root / f"{folder}_out"),
                                    size=size)  # fmt: skip
            with contextlib.redirect_stdout(io.StringIO()):
                ref.cmd_colorize(ns)

        run("warm")
        return len(paths) / median_seconds(lambda: run("in"), repeats, 0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", required=True, help="path of seed_reference.py")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--infer-batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", required=True)
    p.add_argument("--data-limit", type=int, default=0)
    p.add_argument("--infer-data", required=True)
    p.add_argument("--infer-limit", type=int, default=0)
    p.add_argument("--e2e-repeats", type=int, default=1)
    p.add_argument("--skip", default="", help="comma-separated: data,postprocess,generator,e2e")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    ref = load_reference(Path(args.reference))
    skip = set(args.skip.split(","))
    out: dict[str, Any] = {"system": "seed-reference", "size": args.size, "threads": torch.get_num_threads()}
    if "data" not in skip:
        paths = photos(ref, args.data, args.data_limit)
        torch.set_num_threads(1)  # one worker, as ours is measured
        out["data_images_per_s"] = data_rate(ref, paths, args.size, args.iters, args.warmup)
        out["data_photos"] = len(paths)
        torch.set_num_threads(args.threads)
    infer_paths = photos(ref, args.infer_data, args.infer_limit)
    if "postprocess" not in skip:
        out["postprocess_images_per_s"] = postprocess_rate(ref, infer_paths[0], args.size, args.iters, args.warmup)
    if "generator" not in skip:
        out["generator_images_per_s"] = generator_rate(ref, args.size, args.infer_batch, args.iters, args.warmup)
    if "e2e" not in skip:
        out["e2e_images_per_s"] = e2e_rate(ref, infer_paths, args.size, args.e2e_repeats)
        out["e2e_photos"] = len(infer_paths)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
