#!/usr/bin/env python3
"""The cost of spreading colour hints alone, at the app's render sizes, for this code and (optionally) another.

Spreading runs once per preview after every hint change in the app, on the model's ``(2, size, size)`` output, so
its time adds to what a person waits for after each click. This times ``spread_hints`` on a bundled sample's L at
each ``--sizes`` with 1, 5 and 20 hints (3-pixel squares at seeded random places, random colours, a smooth random
model output), ``--repeats`` times each; with ``--compare FILE`` (another version's ``spread.py``, e.g. one taken
from an older commit with ``git show COMMIT:unet_resnet/hints/spread.py > /tmp/old_spread.py``) both are timed
alternately in the same run, so a busy machine slows both alike. Prints the median milliseconds of wall clock and,
beside it, of this process's CPU time (which a machine shared with other jobs inflates less).

    PYTHONPATH=. python benchmarks/hint_spread_speed.py
    PYTHONPATH=. python benchmarks/hint_spread_speed.py --compare /tmp/old_spread.py --sizes 128,256 --repeats 7
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

try:  # the spreading's home; the older layout's too
    from unet_resnet.hints.spread import spread_hints
except ImportError:
    from unet_resnet.inference.spread import spread_hints  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "kodak24_kodim01.png"
HINTS = (1, 5, 20)


def load_spread(path: Path) -> Callable[..., np.ndarray]:
    """``spread_hints`` of the module file ``path``."""
    spec = importlib.util.spec_from_file_location("compared_spread", path)
    if spec is None or spec.loader is None:
        sys.exit(f"hint_spread_speed: {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.spread_hints  # type: ignore[no-any-return]


def inputs(size: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ab, L, hint_map)`` at ``size``: the sample's L, a smooth random ab, ``count`` random 3-pixel hints."""
    rng = np.random.default_rng(count)
    gray = cv2.imread(str(SAMPLE), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        sys.exit(f"hint_spread_speed: cannot read {SAMPLE}")
    L = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    ab = np.stack([cv2.GaussianBlur(c, (0, 0), 4) for c in rng.uniform(-0.3, 0.3, (2, size, size))]).astype(np.float32)
    hint_map = np.zeros((3, size, size), np.float32)
    for x, y in rng.integers(0, size - 3, (count, 2)):
        hint_map[:, y : y + 3, x : x + 3] = np.array([*rng.uniform(-0.5, 0.5, 2), 1.0], np.float32)[:, None, None]
    return ab, L, hint_map


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="128,256", help="render sizes (default 128,256)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compare", type=Path, help="another version's spread.py, timed alternately with this one")
    args = ap.parse_args()
    systems: dict[str, Callable[..., np.ndarray]] = {"this code": spread_hints}
    if args.compare:
        systems[f"compared ({args.compare.name})"] = load_spread(args.compare)
    print(f"median ms of {args.repeats} calls of spread_hints: wall clock / CPU time\n")
    print("| system | size | " + " | ".join(f"{n} hint{'s' * (n > 1)}" for n in HINTS) + " |")
    print("|---|---|" + "---|" * len(HINTS))
    for size in (int(s) for s in args.sizes.split(",")):
        times: dict[str, list[str]] = {}
        for count in HINTS:
            ab, L, hint_map = inputs(size, count)
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
            for _ in range(args.repeats):
                for name, fn in systems.items():
                    start, cpu = time.perf_counter(), time.process_time()
                    fn(ab, L, hint_map)
                    runs[name].append((time.perf_counter() - start, time.process_time() - cpu))
            for name in systems:
                wall = statistics.median(t[0] for t in runs[name]) * 1000
                cpu_ms = statistics.median(t[1] for t in runs[name]) * 1000
                times.setdefault(name, []).append(f"{wall:.0f} / {cpu_ms:.0f}")
        for name, row in times.items():
            print(f"| {name} | {size} | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
