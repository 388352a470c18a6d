"""CPU time per photo of the training data path, one thread: what a loader worker spends, whatever else the machine
runs (``time.process_time`` counts this process's own CPU seconds, so a busy shared machine inflates it far less
than it inflates wall-clock rates).

Three figures per folder, over its first ``--limit`` photos at ``--size``, squash and flips as training does:

- ``decode_ms``: read the file and ``cv2.imdecode`` it in full (the floor of any JPEG pipeline);
- ``float_lab_ms``: the per-photo float pipeline (:class:`~unet_resnet.data.dataset.LabDataset`: decode, resize,
  flip, Lab, tensors), what a worker did before the loader handed uint8 over;
- ``uint8_ms``: what a worker of the training loader does now (:class:`~unet_resnet.data.dataset.PhotoDataset`:
  decode, resize, flip) plus collating batches of 16.

    python benchmarks/loader_cpu_cost.py PREPARED_FOLDER ../shared/data/train
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import cv2
import torch
from torch.utils.data import default_collate

from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.imageio import list_images, read_bytes

BATCH = 16


def cpu_ms(fn: Callable[[], int], repeats: int) -> float:
    """Smallest CPU milliseconds per photo of ``fn`` (which returns how many photos it handled)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        n = fn()
        best = min(best, (time.process_time() - start) * 1e3 / n)
    return best


def measure(folder: str, size: int, limit: int, repeats: int) -> dict[str, object]:
    paths = list_images(folder)[:limit]
    lab = LabDataset(paths, size, "squash", flip=True, seed=0)
    photos = lab.photos()
    whole = len(paths) // BATCH * BATCH

    def decode() -> int:
        for path in paths:
            cv2.imdecode(read_bytes(path), cv2.IMREAD_COLOR)
        return len(paths)

    def float_lab() -> int:
        for i in range(len(paths)):
            lab[(i, 0)]
        return len(paths)

    def uint8() -> int:
        for b in range(0, whole, BATCH):
            default_collate([photos[(i, 0)] for i in range(b, b + BATCH)])
        return whole

    res = {k: cpu_ms(f, repeats) for k, f in (("decode", decode), ("float_lab", float_lab), ("uint8", uint8))}
    out: dict[str, object] = {"folder": folder, "photos": len(paths)}
    out |= {f"{k}_ms": round(v, 3) for k, v in res.items()}
    out |= {"uint8_vs_decode": round(res["decode"] / res["uint8"], 3)}
    return out | {"uint8_vs_float_lab": round(res["float_lab"] / res["uint8"], 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    for folder in args.folders:
        print(json.dumps(measure(folder, args.size, args.limit, args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
