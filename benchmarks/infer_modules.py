"""How many project modules one ``infer.py`` call on a folder of photos passes through below ``cli/``.

Runs ``unet_resnet.cli.infer.main`` on a folder of small photos under :func:`sys.setprofile` (and
:func:`threading.setprofile` for the decode/encode threads) and prints, as JSON:

- ``direct``: the library modules whose functions ``cli/`` calls itself (the caller's frame is in ``unet_resnet.cli``,
  the callee's is not), with how many such calls ("stays") each received: what a reader follows from ``main``;
- ``below_cli``: every project module outside ``cli/`` that ran a Python function during the call (all depths;
  what a module runs as it is imported, its own code and class bodies, does not count).

A module is named by the ``__name__`` of the globals of the function entered (dataclass-generated methods count for
the module that defines the class). Without ``--ckpt`` a small random generator is exported and used::

    python benchmarks/infer_modules.py --photos 6
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGE = "unet_resnet."
CLI = "unet_resnet.cli"


def _module(frame: FrameType | None) -> str:
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


def _importing(frame: FrameType) -> bool:
    """A module's own code, or code it runs as it is imported (class bodies, the methods a dataclass writes): run
    once, not per call."""
    if frame.f_code.co_name in ("<module>", "__create_fn__"):
        return True
    return frame.f_back is not None and frame.f_back.f_code.co_name == "<module>"


def _library(name: str) -> bool:
    return name.startswith(PACKAGE) and not (name == CLI or name.startswith(CLI + "."))


def trace_infer(argv: list[str]) -> dict[str, Any]:
    """Run ``infer`` with ``argv`` under the profiler; its exit code, the direct modules with their stays, and every
    library module entered."""
    from unet_resnet.cli.infer import main

    direct: Counter[str] = Counter()
    below: set[str] = set()
    lock = threading.Lock()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or _importing(frame):
            return
        callee = _module(frame)
        if not _library(callee):
            return
        caller = _module(frame.f_back)
        with lock:
            below.add(callee)
            if caller == CLI or caller.startswith(CLI + "."):
                direct[callee] += 1

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the command's summary; stdout is this script's JSON
            code = main(argv)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return {"exit_code": code, "direct": dict(sorted(direct.items())), "below_cli": sorted(below)}


def _tiny_generator(path: Path) -> Path:
    import torch

    from unet_resnet.export.formats import export_pt
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(0)
    decoder = (32, 16, 16, 8, 8)
    export_pt(UNetGenerator("none", decoder, 2), model_spec(decoder, 2, 64), path)
    return path


def _photos(folder: Path, count: int) -> Path:
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        name = folder / (f"sub/{i}.png" if i % 2 else f"{i}.jpg")
        name.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(name), cv2.resize(small, (96, 72), interpolation=cv2.INTER_LINEAR))
    return folder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=int, default=6, help="photos in the folder (default 6)")
    p.add_argument("--ckpt", type=Path, help="a checkpoint to use (default: a small random generator)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ckpt = args.ckpt or _tiny_generator(work / "tiny.pt")
        inp = _photos(work / "in", args.photos)
        result = trace_infer(["--in", str(inp), "--out", str(work / "out"), "--ckpt", str(ckpt), "--quiet"])
    result["direct_count"] = len(result["direct"])
    result["below_cli_count"] = len(result["below_cli"])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
