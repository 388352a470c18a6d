"""``python infer.py --in DIR --out DIR``: colorize every photo of a folder (or one file) with a trained model."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from tqdm import tqdm

from .checkpoint import CheckpointError
from .colorize import Colorizer, newest_checkpoint
from .imageio import ImageReadError, encode_image, list_images, read_photo, write_atomic

log = logging.getLogger(__name__)


class UsageError(ValueError):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="infer.py",
        description="Colorize black-and-white (or colour) photos. Outputs keep each input's size, name and "
        "sub-folder; L comes from the full-resolution input, ab from the model at --size.",
    )
    p.add_argument("--in", dest="inp", required=True, help="a folder of photos (searched recursively) or one file")
    p.add_argument("--out", required=True, help="output folder (or file, when --in is a file)")
    p.add_argument("--ckpt", help="training checkpoint or exported generator (default: newest runs/**/best.pt)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def plan(inp: Path, out: Path) -> list[tuple[Path, Path]]:
    """(source, destination) pairs, checked before any work starts."""
    if not inp.exists():
        raise UsageError(f"--in {inp} does not exist")
    if inp.is_file():
        dest = out / inp.name if out.is_dir() or not out.suffix else out
        return [(inp, dest)]
    src, dst = inp.resolve(), out.resolve()
    if dst == src or src in dst.parents:
        raise UsageError(
            f"--out {out} is inside --in {inp}: outputs would be read back as inputs; "
            "choose an output folder outside the input folder"
        )
    return [(p, out / p.relative_to(inp)) for p in list_images(inp)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        jobs = plan(Path(args.inp), Path(args.out))
        ckpt = Path(args.ckpt) if args.ckpt else newest_checkpoint()
        if not args.ckpt:
            log.info("using checkpoint %s", ckpt)
        model = Colorizer.load(ckpt, args.device, args.precision, args.size)
    except (UsageError, CheckpointError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = skipped = failed = 0
    start = time.perf_counter()
    todo = []
    for src, dst in jobs:
        if dst.exists() and not args.overwrite:
            skipped += 1
        else:
            todo.append((src, dst))
    for i in tqdm(range(0, len(todo), args.batch_size), disable=args.quiet, unit="batch"):
        batch = []
        for src, dst in todo[i : i + args.batch_size]:
            try:
                batch.append((src, dst, read_photo(src)))
            except ImageReadError as exc:
                print(f"failed: {exc}", file=sys.stderr)
                failed += 1
        colours = model.colorize([photo.rgb for _, _, photo in batch])
        for (_src, dst, photo), rgb in zip(batch, colours, strict=False):
            write_atomic(dst, encode_image(rgb, dst.suffix, photo.alpha, photo.bit_depth))
            done += 1
    seconds = time.perf_counter() - start
    print(
        f"{done} colorized, {skipped} skipped (output exists; --overwrite replaces), {failed} failed "
        f"in {seconds:.1f}s -> {args.out}"
    )
    return 1 if failed else 0
