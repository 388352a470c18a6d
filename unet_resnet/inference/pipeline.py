"""``python infer.py --in DIR --out DIR``: colorize every photo of a folder (or one file) with a trained model.

Everything that can be checked is checked before any work starts (paths, checkpoint, options). Then a small thread
pool decodes and prepares photos while the model runs on batches at ``--size``, and merges, encodes and writes the
results (OpenCV releases the GIL). A file that cannot be read or written is reported on one line and counted; the
others go on. Outputs are written through a temporary name, and existing ones are kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from unet_resnet.data.imageio import (
    IMAGE_SUFFIXES,
    ImageReadError,
    encode_photo,
    is_image_file,
    list_images,
    read_photo,
    write_atomic,
)
from unet_resnet.inference.colorizer import Colorizer, gray_preview, newest_checkpoint, side_by_side
from unet_resnet.inference.manifest import ManifestWriter, fold_parts, manifest_format
from unet_resnet.inference.photo_list import PhotoListError, is_photo_list, read_photo_list
from unet_resnet.inference.ranks import (
    GROUP_TIMEOUT_MIN,
    default_workers,
    gather_counts,
    my_share,
    stop_on_sigterm,
)
from unet_resnet.models.checkpoint import CheckpointError
from unet_resnet.runtime.distributed import barrier, cleanup, init_distributed

log = logging.getLogger(__name__)

FORMATS = {"jpg": ".jpg", "jpeg": ".jpg", "png": ".png", "webp": ".webp", "tif": ".tif", "tiff": ".tif", "bmp": ".bmp"}
COMPARE_MAX_SIDE = 2048
"""Each half of a ``--compare`` image is at most this many pixels on its long side."""
MEMORY_BUDGET = 1 << 30
"""Bytes of decoded photos the pipeline keeps in flight (at least one photo, however large)."""


class UsageError(ValueError):
    """A command line that cannot work; raised before any photo is touched."""


@dataclass(frozen=True)
class Job:
    """One photo to colorize: where it comes from and what to write (None: already there, kept)."""

    src: Path
    dst: Path | None
    compare: Path | None


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: int = 0
    conflicts: list[tuple[Path, str]] = field(default_factory=list)
    kept: list[tuple[Path, Path]] = field(default_factory=list)
    """``(source, existing output)`` of every skipped photo."""


@dataclass(frozen=True)
class Written:
    """What the pipeline reports for a photo it wrote: its size and the seconds from decoding to written."""

    width: int
    height: int
    seconds: float


@dataclass
class Options:
    batch_size: int = 8
    workers: int = 2
    jpeg_quality: int = 95


# ------------------------------------------------------------------------------------------------ command line
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="infer.py",
        description="Colorize black-and-white (or colour) photos. Outputs keep each input's size, name, "
        "sub-folder, bit depth and alpha; L comes from the full-resolution input, ab from the model at --size. "
        "See docs/inference.md.",
    )
    p.add_argument("--in", dest="inp", required=True, help="a folder of photos, one photo, or a list (.txt)")
    p.add_argument("--out", required=True, help="output folder (or, when --in is a file, an output file)")
    p.add_argument("--ckpt", help="training checkpoint or exported generator (default: newest runs/**/best.pt)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    p.add_argument("--batch-size", type=_positive, default=8, help="photos per model call (default 8)")
    p.add_argument("--workers", type=_positive, default=default_workers(), help="decode/encode threads")
    p.add_argument("--format", choices=sorted(FORMATS), help="output format (default: the input's own)")
    p.add_argument("--jpeg-quality", type=_quality, default=95, help="JPEG and WebP quality, 1-100 (default 95)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also write gray | colour side by side into OUT-compare/ (beside OUT; for a file, NAME-compare.EXT)",
    )
    p.add_argument(
        "--restore",
        action="store_true",
        help="also repair scratches, dust and fading (needs a model trained with restore.enabled; docs/restoration.md)",
    )
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True, help="include sub-folders")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar; only problems and the summary")
    p.add_argument("--manifest", help="append one row per input to this .csv or .jsonl file (docs/inference.md)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------------- planning
def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


Target = tuple[Path, Path, "Path | None"]
"""``(source, output, compare output or None)``."""


def _compare_root(out: Path) -> Path:
    """Where ``--compare`` images of an output folder go: ``OUT-compare`` beside it."""
    out = out.resolve()
    return out.parent / f"{out.name}-compare"


def _check_folders(inp: Path, out: Path, compare: bool) -> None:
    """Refuse output folders inside (or equal to, or containing) the input folder."""
    src = inp.resolve()
    folders = [("--out", out.resolve())] + ([("the --compare folder", _compare_root(out))] if compare else [])
    for name, folder in folders:
        if _inside(folder, src):
            raise UsageError(
                f"{name} {folder} is inside --in {inp} (or equal to it): outputs would mix with the photos "
                "and be read back as inputs on the next run; choose an output folder outside the input folder"
            )
        if _inside(src, folder):
            raise UsageError(f"--in {inp} is inside {name} {folder}; choose an output folder outside it")


def _destinations(inp: Path, out: Path, fmt: str | None, compare: bool, recursive: bool) -> list[Target]:
    """``(source, output, compare output or None)`` for every photo; raises :class:`UsageError`."""
    suffix = FORMATS[fmt] if fmt else None
    if inp.is_file():
        if not is_image_file(inp):
            raise UsageError(
                f"--in {inp} is not a photo (expected one of {', '.join(IMAGE_SUFFIXES)}) nor a list of photos (.txt)"
            )
        if is_image_file(out) and not out.is_dir():  # --out names the output file
            if suffix and FORMATS.get(out.suffix.lower()[1:]) != suffix:
                raise UsageError(f"--format {fmt} contradicts --out {out}; drop one of them")
            if out.resolve() == inp.resolve():
                raise UsageError(f"--out {out} is the input photo itself; choose another output")
            return [(inp, out, out.with_name(f"{out.stem}-compare{out.suffix}") if compare else None)]
        name = inp.name if suffix is None else inp.stem + suffix
        if (out / name).resolve() == inp.resolve():
            raise UsageError(f"--out {out} would replace the input photo itself; choose another output folder")
        return [(inp, out / name, _compare_root(out) / name if compare else None)]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but --in {inp} is a folder; give an output folder")
    _check_folders(inp, out, compare)
    triples = []
    for src in list_images(inp, recursive):
        rel = src.relative_to(inp)
        if suffix:
            rel = rel.with_suffix(suffix)
        triples.append((src, out / rel, _compare_root(out) / rel if compare else None))
    return triples


def _listed(inp: Path, out: Path, fmt: str | None, compare: bool, plan: Plan) -> list[Target]:
    """Targets of the photos of a list (``--in list.txt``); lines that cannot be used become ``plan.conflicts``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but --in {inp} is a list of photos; give an output folder")
    try:
        listed = read_photo_list(inp)
    except PhotoListError as exc:
        raise UsageError(str(exc)) from None
    suffix = FORMATS[fmt] if fmt else None
    targets: list[Target] = []
    for item in listed:
        rel = Path(item.rel).with_suffix(suffix) if suffix else Path(item.rel)
        if item.problem:
            plan.conflicts.append((item.src, item.problem))
        elif (out / rel).resolve() == item.src.resolve():
            plan.conflicts.append((item.src, f"its output {out / rel} is the photo itself; choose another --out"))
        else:
            targets.append((item.src, out / rel, _compare_root(out) / rel if compare else None))
    return targets


def make_plan(
    inp: Path, out: Path, fmt: str | None = None, compare: bool = False, recursive: bool = True, overwrite: bool = False
) -> Plan:
    """Every photo's job, checked before any work: bad paths raise :class:`UsageError`.

    Two photos that would write the same output (``a.png`` and ``a.PNG``, or ``a.png`` and ``a.jpg`` with
    ``--format``; compared case-insensitively, as on macOS and Windows) are not both written: the first in name
    order is, the others become conflicts (reported as failed). Existing outputs are kept unless ``overwrite``.
    """
    if not inp.exists():
        raise UsageError(f"--in {inp} does not exist")
    plan = Plan()
    owner: dict[str, Path] = {}
    if inp.is_file() and is_photo_list(inp):
        targets = _listed(inp, out, fmt, compare, plan)
    else:
        targets = _destinations(inp, out, fmt, compare, recursive)
    for src, dst, cmp in targets:
        key = os.path.normcase(str(dst.resolve())).casefold()
        if key in owner:
            plan.conflicts.append((src, f"its output {dst} is also the output of {owner[key]}; rename one of them"))
            continue
        owner[key] = src
        keep_dst = dst.exists() and not overwrite
        keep_cmp = cmp is None or (cmp.exists() and not overwrite)
        if keep_dst and keep_cmp:
            plan.skipped += 1
            plan.kept.append((src, dst))
        else:
            plan.jobs.append(Job(src, None if keep_dst else dst, None if keep_cmp else cmp))
    return plan


# ----------------------------------------------------------------------------------------------------- pipeline
@dataclass
class _Item:
    job: Job
    pixels: np.ndarray
    L: np.ndarray
    preview: np.ndarray | None
    started: float

    @property
    def cost(self) -> int:
        """Bytes this photo holds until written: its pixels, plus a new output buffer for a gray photo."""
        return self.pixels.nbytes * (1 if self.pixels.ndim == 3 else 4)


def _decode(model: Colorizer, job: Job) -> _Item:
    started = time.perf_counter()
    pixels = read_photo(job.src).pixels
    preview = gray_preview(pixels, COMPARE_MAX_SIDE) if job.compare else None
    return _Item(job, pixels, model.prepare(pixels), preview, started)


def _finish(model: Colorizer, item: _Item, predicted: np.ndarray, quality: int) -> Written:
    h, w = item.pixels.shape[:2]
    pixels = item.pixels
    colour = model.finish(pixels, predicted, out=pixels if pixels.ndim == 3 else None)  # in place: no second copy
    if item.job.dst is not None:
        write_atomic(item.job.dst, encode_photo(colour, item.job.dst.suffix, quality))
    if item.job.compare is not None and item.preview is not None:
        pair = side_by_side(item.preview, colour)
        write_atomic(item.job.compare, encode_photo(pair, item.job.compare.suffix, quality))
    return Written(w, h, time.perf_counter() - item.started)


class Pipeline:
    """Decode (pool) -> model (this thread, in batches) -> merge, encode, write (pool), within a memory budget.

    ``on_done(job, written)`` or ``on_fail(path, reason)`` is called from this thread for every job.
    """

    def __init__(
        self,
        model: Colorizer,
        options: Options,
        on_done: Callable[[Job, Written], None],
        on_fail: Callable[[Path, str], None],
        budget: int = MEMORY_BUDGET,
    ) -> None:
        self.model, self.options, self.on_done, self.on_fail, self.budget = model, options, on_done, on_fail, budget
        self.decoding: deque[tuple[Job, Future[_Item]]] = deque()
        self.finishing: deque[tuple[_Item, Future[Written]]] = deque()
        self.batch: list[_Item] = []
        self.held = 0  # bytes of decoded photos not yet written
        self.largest = 0  # the largest photo seen so far, the estimate for the next ones

    def _over_budget(self) -> bool:
        return self.held + self.largest > self.budget

    def _may_submit(self) -> bool:
        if not self.decoding and self.held == 0:
            return True  # always at least one photo, however large
        if not self.largest:  # nothing decoded yet: sizes unknown, one photo per worker
            return len(self.decoding) < self.options.workers
        pending = self.held + (len(self.decoding) + 1) * self.largest
        return len(self.decoding) < self.options.batch_size + self.options.workers and pending <= self.budget

    def _reap(self, block: bool) -> None:
        while self.finishing and (block or self.finishing[0][1].done()):
            item, fut = self.finishing.popleft()
            self.held -= item.cost
            try:
                written = fut.result()
            except (OSError, ValueError, cv2.error) as exc:
                self.on_fail(item.job.src, f"cannot write the result ({exc})")
            else:
                self.on_done(item.job, written)
            block = False

    def _flush(self, pool: ThreadPoolExecutor) -> None:
        batch, self.batch = self.batch, []
        try:
            predicted = self.model.predict(np.stack([item.L for item in batch]))
        except RuntimeError as exc:  # e.g. CUDA out of memory: these photos fail, the run goes on
            for item in batch:
                self.held -= item.cost
                self.on_fail(item.job.src, f"model error ({str(exc)[:200]}); try a smaller --batch-size or --size")
            return
        for item, y in zip(batch, predicted, strict=True):
            self.finishing.append((item, pool.submit(_finish, self.model, item, y, self.options.jpeg_quality)))

    def _take_decoded(self) -> None:
        job, fut = self.decoding.popleft()
        try:
            item = fut.result()
        except ImageReadError as exc:
            self.on_fail(job.src, exc.reason)
        except (OSError, ValueError, MemoryError, cv2.error) as exc:
            self.on_fail(job.src, f"cannot be decoded ({type(exc).__name__}: {str(exc)[:200]})")
        else:
            self.batch.append(item)
            self.held += item.cost
            self.largest = max(self.largest, item.cost)

    def run(self, jobs: list[Job]) -> None:
        todo: Iterator[Job] = iter(jobs)
        upcoming = next(todo, None)
        pool = ThreadPoolExecutor(self.options.workers, thread_name_prefix="infer-io")
        try:
            while True:
                self._reap(block=False)
                while upcoming is not None and self._may_submit():
                    self.decoding.append((upcoming, pool.submit(_decode, self.model, upcoming)))
                    upcoming = next(todo, None)
                full = len(self.batch) >= self.options.batch_size
                if self.batch and (full or not self.decoding or self._over_budget()):
                    self._flush(pool)
                elif self.decoding:
                    self._take_decoded()
                elif self.finishing and upcoming is not None:
                    self._reap(block=True)  # the budget is spent on photos being written: wait for one
                else:
                    break
            while self.finishing:
                self._reap(block=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # we report bad files ourselves, once
    tag = ""  # names the rank in messages under torchrun
    try:
        if args.manifest:
            manifest_format(args.manifest)
        info = init_distributed(args.device, GROUP_TIMEOUT_MIN)  # one process (rank 0 of 1) without torchrun
        tag = f"rank {info.rank}: " if info.distributed else ""
        plan = make_plan(Path(args.inp), Path(args.out), args.format, args.compare, args.recursive, args.overwrite)
        ckpt = Path(args.ckpt) if args.ckpt else newest_checkpoint()
        if not args.ckpt and info.is_main:
            log.info("using checkpoint %s", ckpt)
        model = Colorizer.load(ckpt, str(info.device), args.precision, args.size, restore=args.restore)
        if args.manifest and info.is_main:
            fold_parts(args.manifest)  # checks the file; the rows of a killed torchrun run join it
        if info.distributed:
            plan = my_share(plan, info)  # a collective: no rank writes before every rank has planned
        manifest = ManifestWriter(args.manifest, info.rank, info.world_size) if args.manifest else None
    except (UsageError, CheckpointError, ValueError, RuntimeError, OSError) as exc:
        print(f"error: {tag}{exc}", file=sys.stderr)
        return 2
    counts = {"done": 0, "failed": 0}
    outputs = {job.src: job.dst or job.compare for job in plan.jobs}
    quiet = args.quiet or not info.is_main  # under torchrun, rank 0's bar shows its own share
    bar = tqdm(total=len(plan.jobs) + len(plan.conflicts), disable=quiet, unit="photo", file=sys.stderr)

    def fail(path: Path, reason: str) -> None:
        counts["failed"] += 1
        bar.update()
        tqdm.write(f"failed: {path}: {reason}", file=sys.stderr)
        if manifest:
            manifest.failed(path, outputs.get(path), reason)

    def done(job: Job, written: Written) -> None:
        counts["done"] += 1
        bar.update()
        if manifest:
            manifest.written(job.src, job.dst or job.compare, written.width, written.height, written.seconds)

    start = time.perf_counter()
    try:
        if manifest:
            for src, dst in plan.kept:
                manifest.skipped(src, dst, "output exists; --overwrite replaces")
        for path, reason in plan.conflicts:
            fail(path, reason)
        with stop_on_sigterm():  # torchrun stops the other ranks with SIGTERM when one dies
            Pipeline(model, Options(args.batch_size, args.workers, args.jpeg_quality), done, fail).run(plan.jobs)
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: {tag}{counts['done']} colorized so far; run again to resume (done photos are skipped)")
        return 130
    finally:
        if manifest:
            manifest.close()
    bar.close()
    totals = gather_counts(counts | {"skipped": plan.skipped}, info)  # waits for the slowest rank
    seconds = time.perf_counter() - start
    if info.is_main:
        if args.manifest and info.distributed:
            fold_parts(args.manifest)
        _summary(totals, seconds, info.world_size, args.out, args.manifest)
    barrier()  # the others exit after rank 0: torchrun stops every rank once one has exited with an error
    cleanup()
    return 1 if totals["failed"] else 0


def _summary(totals: dict[str, int], seconds: float, processes: int, out: str, manifest: str | None) -> None:
    rate = f", {totals['done'] / seconds:.2f} photos/s" if totals["done"] and seconds > 0 else ""
    over = f" over {processes} processes" if processes > 1 else ""
    print(
        f"{totals['done']} colorized, {totals['skipped']} skipped (output exists; --overwrite replaces), "
        f"{totals['failed']} failed in {seconds:.1f}s{rate}{over} -> {out}"
    )
    if totals["failed"]:
        where = f" and in {manifest}" if manifest else ""
        print(f"{totals['failed']} photo(s) failed; the reasons are above{where}", file=sys.stderr)
