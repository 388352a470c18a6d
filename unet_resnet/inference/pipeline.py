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
from dataclasses import dataclass, field, replace
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
from unet_resnet.inference.hints import HintError, HintPoint, load_hints_file
from unet_resnet.models.checkpoint import CheckpointError

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
    hints: tuple[HintPoint, ...] = ()


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: int = 0
    conflicts: list[tuple[Path, str]] = field(default_factory=list)


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
    p.add_argument("--in", dest="inp", required=True, help="a folder of photos or one photo")
    p.add_argument("--out", required=True, help="output folder (or, when --in is a file, an output file)")
    p.add_argument("--ckpt", help="training checkpoint or exported generator (default: newest runs/**/best.pt)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    p.add_argument("--batch-size", type=_positive, default=8, help="photos per model call (default 8)")
    p.add_argument("--workers", type=_positive, default=min(4, os.cpu_count() or 1), help="decode/encode threads")
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
    p.add_argument(
        "--hints",
        metavar="FILE",
        help="colour hints: a JSON object mapping photos (paths relative to --in) to points, e.g. "
        '{"a.jpg": [{"x": 812, "y": 455, "color": "#2a5db0"}]}; needs a hint model (docs/hints.md)',
    )
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True, help="include sub-folders")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar; only problems and the summary")
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
            raise UsageError(f"--in {inp} is not a photo (expected one of {', '.join(IMAGE_SUFFIXES)})")
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
    for src, dst, cmp in _destinations(inp, out, fmt, compare, recursive):
        key = os.path.normcase(str(dst.resolve())).casefold()
        if key in owner:
            plan.conflicts.append((src, f"its output {dst} is also the output of {owner[key]}; rename one of them"))
            continue
        owner[key] = src
        keep_dst = dst.exists() and not overwrite
        keep_cmp = cmp is None or (cmp.exists() and not overwrite)
        if keep_dst and keep_cmp:
            plan.skipped += 1
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
    hint: np.ndarray | None = None

    @property
    def cost(self) -> int:
        """Bytes this photo holds until written: its pixels, plus a new output buffer for a gray photo."""
        return self.pixels.nbytes * (1 if self.pixels.ndim == 3 else 4)


def _decode(model: Colorizer, job: Job) -> _Item:
    pixels = read_photo(job.src).pixels
    preview = gray_preview(pixels, COMPARE_MAX_SIDE) if job.compare else None
    maps = model.hint_maps([job.hints], [(pixels.shape[1], pixels.shape[0])]) if job.hints else None
    return _Item(job, pixels, model.prepare(pixels), preview, None if maps is None else maps[0])


def _finish(model: Colorizer, item: _Item, predicted: np.ndarray, quality: int) -> None:
    pixels = item.pixels
    colour = model.finish(pixels, predicted, out=pixels if pixels.ndim == 3 else None)  # in place: no second copy
    if item.job.dst is not None:
        write_atomic(item.job.dst, encode_photo(colour, item.job.dst.suffix, quality))
    if item.job.compare is not None and item.preview is not None:
        pair = side_by_side(item.preview, colour)
        write_atomic(item.job.compare, encode_photo(pair, item.job.compare.suffix, quality))


class Pipeline:
    """Decode (pool) -> model (this thread, in batches) -> merge, encode, write (pool), within a memory budget.

    ``on_done(job)`` and ``on_fail(path, reason)`` are called from this thread for every job.
    """

    def __init__(
        self,
        model: Colorizer,
        options: Options,
        on_done: Callable[[Job], None],
        on_fail: Callable[[Path, str], None],
        budget: int = MEMORY_BUDGET,
    ) -> None:
        self.model, self.options, self.on_done, self.on_fail, self.budget = model, options, on_done, on_fail, budget
        self.decoding: deque[tuple[Job, Future[_Item]]] = deque()
        self.finishing: deque[tuple[_Item, Future[None]]] = deque()
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
                fut.result()
            except (OSError, ValueError, cv2.error) as exc:
                self.on_fail(item.job.src, f"cannot write the result ({exc})")
            else:
                self.on_done(item.job)
            block = False

    def _flush(self, pool: ThreadPoolExecutor) -> None:
        batch, self.batch = self.batch, []
        try:
            hints = None
            if any(item.hint is not None for item in batch):  # zeros: no hint, the photo is colorized automatically
                blank = np.zeros((3, *batch[0].L.shape), np.float32)
                hints = np.stack([blank if item.hint is None else item.hint for item in batch])
            predicted = self.model.predict(np.stack([item.L for item in batch]), hints)
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


def attach_hints(
    jobs: list[Job], hints_file: Path, inp: Path, recursive: bool, model: Colorizer, ckpt: Path
) -> list[Job]:
    """The jobs with the points ``hints_file`` gives each photo; everything checked before any photo is colorized."""
    if not model.takes_hints:
        raise HintError(
            f"--hints {hints_file}: the model {ckpt} does not take colour hints (trained without model.hints); "
            "drop --hints or use a hint model (docs/hints.md)"
        )
    if inp.is_file():
        photos = {inp.name: inp}
    else:
        photos = {src.relative_to(inp).as_posix(): src for src in list_images(inp, recursive)}
    points = load_hints_file(hints_file, photos)
    return [replace(job, hints=tuple(points.get(job.src, ()))) for job in jobs]


# --------------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # we report bad files ourselves, once
    try:
        plan = make_plan(Path(args.inp), Path(args.out), args.format, args.compare, args.recursive, args.overwrite)
        ckpt = Path(args.ckpt) if args.ckpt else newest_checkpoint()
        if not args.ckpt:
            log.info("using checkpoint %s", ckpt)
        model = Colorizer.load(ckpt, args.device, args.precision, args.size, restore=args.restore)
        if args.hints:
            plan.jobs = attach_hints(plan.jobs, Path(args.hints), Path(args.inp), args.recursive, model, ckpt)
    except (UsageError, CheckpointError, HintError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {"done": 0, "failed": 0}
    bar = tqdm(total=len(plan.jobs) + len(plan.conflicts), disable=args.quiet, unit="photo", file=sys.stderr)

    def fail(path: Path, reason: str) -> None:
        counts["failed"] += 1
        bar.update()
        tqdm.write(f"failed: {path}: {reason}", file=sys.stderr)

    def done(job: Job) -> None:
        counts["done"] += 1
        bar.update()

    for path, reason in plan.conflicts:
        fail(path, reason)
    start = time.perf_counter()
    options = Options(args.batch_size, args.workers, args.jpeg_quality)
    try:
        Pipeline(model, options, done, fail).run(plan.jobs)
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: {counts['done']} colorized so far; run again to resume (done photos are skipped)")
        return 130
    bar.close()
    seconds = time.perf_counter() - start
    rate = f", {counts['done'] / seconds:.2f} photos/s" if counts["done"] and seconds > 0 else ""
    print(
        f"{counts['done']} colorized, {plan.skipped} skipped (output exists; --overwrite replaces), "
        f"{counts['failed']} failed in {seconds:.1f}s{rate} -> {args.out}"
    )
    if counts["failed"]:
        print(f"{counts['failed']} photo(s) failed; the reasons are above", file=sys.stderr)
    return 1 if counts["failed"] else 0
