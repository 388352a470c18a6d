"""Start-up against the length of the photo list: ``train.py`` on a prepared list of 500 and of 50,000 photos.

The photos of ``--photos`` are prepared once (``unet-resnet prepare``, 256 px short side) into a temporary folder;
lists of each ``--sizes`` length repeat them, each line with the colorfulness ``prepare`` measured, as a prepared
list of a large set looks. Each run is a fresh ``python train.py`` process that trains one step (one pretraining
step, no GAN stage, no precise BN, a fixed 8-photo validation list, one worker) and exits: what grows with the list
(reading it, choosing the photos, the sampler, handing the set to the worker) is in the figure; the rest (imports,
model, one step, a validation of 8 photos, one checkpoint) is the same for every length. Prints one JSON line per
run and then the ratio of the longest to the shortest list.

    python benchmarks/startup_scale.py --photos ../shared/data/train
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prepared(photos: Path, out: Path) -> list[str]:
    """``path<TAB>colorfulness`` lines (absolute paths) of ``photos`` prepared into ``out``."""
    cmd = [sys.executable, "-m", "unet_resnet", "prepare", "--src", str(photos), "--out", str(out), "--val", "0"]
    subprocess.run([*cmd, "--quiet"], check=True, capture_output=True)
    lines = [x for x in (out / "train.txt").read_text().splitlines() if x and not x.startswith("#")]
    return [f"{(out / x.split(chr(9))[0]).resolve()}\t{x.split(chr(9))[1]}" for x in lines]


def run_once(train_list: Path, val_list: Path, runs: Path) -> float:
    overrides = [
        f"data.train={train_list}", f"data.val={val_list}", "data.size=64", "data.batch_size=4", "data.workers=1",
        "model.encoder_weights=none", "train.pretrain_epochs=1", "train.gan_epochs=0", "train.max_steps_per_epoch=1",
        "train.precise_bn=0", "train.threads=1", "log.samples=0", f"log.dir={runs}", "log.name=startup",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"train.py failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 50_000])
    p.add_argument("--repeats", type=int, default=2, help="runs per length; the median is reported")
    args = p.parse_args()
    if not args.photos.is_dir():
        print(f"no photos at {args.photos}; pass --photos FOLDER", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="unet_resnet_startup_scale_") as tmp:
        root = Path(tmp)
        lines = prepared(args.photos, root / "prepared")
        (root / "val.txt").write_text("\n".join(x.split("\t")[0] for x in lines[:8]) + "\n")
        results = {}
        for n in args.sizes:
            listing = root / f"train_{n}.txt"
            listing.write_text("".join(lines[i % len(lines)] + "\n" for i in range(n)))
            times = [run_once(listing, root / "val.txt", root / "runs" / f"{n}_{r}") for r in range(args.repeats)]
            results[n] = statistics.median(times)
            print(json.dumps({"photos": n, "seconds": [round(t, 2) for t in times], "median_s": round(results[n], 2)}))
        longest, shortest = max(results), min(results)
        print(json.dumps({"ratio": round(results[longest] / results[shortest], 3), "of": [longest, shortest]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
