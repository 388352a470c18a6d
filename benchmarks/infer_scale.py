#!/usr/bin/env python3
"""End-to-end photos/s of ``infer.py`` in 1 and N processes (``torchrun --nproc_per_node=N``) on the same photos.

Each run colorizes every photo of ``--photos`` (default ``../shared/data/val``, 48 full-size photos) into a fresh
folder with ``--manifest``; photos/s is photos / wall-clock seconds of the whole command (start-up, model loading,
process-group set-up included) and, beside it, the rate the command prints itself (from its first photo to the
last rank's end). The CPU threads of the machine (``--threads``, default all) are shared among the processes, as
torchrun does it (``OMP_NUM_THREADS`` = threads / processes; decode/encode workers likewise). Without ``--ckpt``
the model is a random generator with the default decoder (speed does not depend on the weights) and, with
``--tiny``, also a tiny one (the pipeline around the model: decoding, merging, encoding, writing).

    python benchmarks/infer_scale.py                                   # CPU, 1 and 2 processes
    python benchmarks/infer_scale.py --model-threads 1                 # on a machine shared with other work
    python benchmarks/infer_scale.py --device cuda --procs 1 2 4 8     # one process per GPU

Writes ``results.json`` and ``results.md`` under ``--out``. Exits 0 with a message when the photos are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DECODER = [256, 128, 64, 32, 16]
TINY_DECODER = [32, 16, 16, 8, 8]


def make_generator(path: Path, decoder: list[int], size: int) -> None:
    import torch

    from unet_resnet.export.formats import export_pt
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(0)
    export_pt(UNetGenerator("none", decoder, 2).eval(), model_spec(decoder, 2, size), path)


def run_once(
    procs: int, threads: int, ckpt: Path, photos: Path, out: Path, device: str, size: int, model_threads: int | None
) -> tuple[float, float]:
    """(wall-clock seconds of the command, the photos/s it printed)."""
    shutil.rmtree(out, ignore_errors=True)
    per_process = max(1, threads // procs)
    args = [str(ROOT / "infer.py"), "--in", str(photos), "--out", str(out / "photos"), "--ckpt", str(ckpt),
            "--device", device, "--size", str(size), "--manifest", str(out / "manifest.csv"), "--quiet",
            "--workers", str(per_process)]  # fmt: skip
    if procs == 1:
        cmd = [sys.executable, *args]
    else:
        torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
        cmd = [torchrun, "--standalone", f"--nproc_per_node={procs}", *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(model_threads or per_process), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        sys.exit(f"infer_scale: {' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    found = re.search(r"([\d.]+) photos/s", proc.stdout)
    return seconds, float(found.group(1)) if found else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "val")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "infer_scale")
    ap.add_argument("--ckpt", type=Path, help="a generator to time (default: random ones, see above)")
    ap.add_argument("--tiny", action="store_true", help="also time a tiny random generator (the pipeline alone)")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to compare (default 1 2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads shared by the processes")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (one GPU per process: LOCAL_RANK)")
    ap.add_argument("--size", type=int, default=256, help="render size")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--model-threads",
        type=int,
        help="OMP_NUM_THREADS of every process (default: threads / processes); 1 is fairer on a machine shared "
        "with other work, where OpenMP threads that wait for a busy core spin",
    )
    args = ap.parse_args()

    if not args.photos.is_dir():
        print(f"infer_scale: {args.photos} is not available; nothing to do")
        return 0
    from unet_resnet.data.imageio import list_images

    count = len(list_images(args.photos))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    models: dict[str, Path] = {}
    if args.ckpt:
        models[args.ckpt.name] = args.ckpt.resolve()
    else:
        models["default decoder, random weights"] = out / "G_default.pt"
        make_generator(models["default decoder, random weights"], DEFAULT_DECODER, args.size)
        if args.tiny:
            models["tiny decoder, random weights"] = out / "G_tiny.pt"
            make_generator(models["tiny decoder, random weights"], TINY_DECODER, args.size)

    results: list[dict[str, object]] = []
    for name, ckpt in models.items():
        walls: dict[int, list[float]] = {p: [] for p in args.procs}
        printed: dict[int, list[float]] = {p: [] for p in args.procs}
        for r in range(args.repeats):  # process counts alternate, so a change of the machine's load hits all alike
            for procs in args.procs:
                wall, rate = run_once(procs, args.threads, ckpt, args.photos, out / f"run_{procs}", args.device,
                                      args.size, args.model_threads)  # fmt: skip
                walls[procs].append(wall)
                printed[procs].append(rate)
                print(f"{name}, {procs} process(es), repeat {r + 1}: {count / wall:.2f} photos/s end to end, "
                      f"{rate:.2f} photos/s as printed", flush=True)  # fmt: skip
        for procs in args.procs:
            results.append({"model": name, "processes": procs, "seconds": walls[procs],
                            "printed_photos_per_s": printed[procs],
                            "photos_per_s": count / statistics.median(walls[procs]),
                            "printed_median": statistics.median(printed[procs])})  # fmt: skip

    info = {"photos": count, "device": args.device, "threads": args.threads, "cpus": os.cpu_count(), "size": args.size,
            "repeats": args.repeats, "model_threads": args.model_threads, "load_average": os.getloadavg(),
            "results": results}  # fmt: skip
    (out / "results.json").write_text(json.dumps(info, indent=1) + "\n")
    lines = [f"| model | processes | photos/s end to end (median of {args.repeats}) | photos/s as printed |",
             "|---|---|---|---|"]  # fmt: skip
    for res in results:
        lines.append(f"| {res['model']} | {res['processes']} | {res['photos_per_s']:.2f} | "
                     f"{res['printed_median']:.2f} |")  # fmt: skip
    table = "\n".join(lines) + "\n"
    (out / "results.md").write_text(table)
    print(table)
    model_threads = args.model_threads or "threads / processes"
    print(f"{count} photos, device {args.device}, {args.threads} threads, model threads {model_threads}, "
          f"load average {os.getloadavg()[0]:.1f}; results in {out}/")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
