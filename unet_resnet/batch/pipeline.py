"""Colorizing a planned run: decode (thread pool) -> model (in batches) -> merge, encode, write (thread pool).

OpenCV releases the GIL, so a small pool decodes and prepares photos while the model runs on batches at its
``size``, and merges, encodes and writes the results, within a memory budget. A file that cannot be read or
written is reported to ``on_fail`` and counted; the others go on. Outputs are written through a temporary name.
The command line (``unet_resnet.cli.infer``) plans the run (:mod:`unet_resnet.batch.plan`), shows progress and
prints the summary.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.batch.plan import Job, Plan, make_plan
from unet_resnet.data.files import write_atomic
from unet_resnet.data.imageio import ImageReadError, encode_photo, read_photo
from unet_resnet.hints.points import hint_batch
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.inference.model_options import ModelOptions
from unet_resnet.inference.preview import colour_original, gray_preview, side_by_side

log = logging.getLogger(__name__)

COMPARE_MAX_SIDE = 2048
"""Each part of a ``--compare`` image is at most this many pixels on its long side."""
MEMORY_BUDGET = 1 << 30
"""Bytes of decoded photos the pipeline keeps in flight (at least one photo, however large)."""


@dataclass
class Options:
    batch_size: int = 8
    workers: int = 2
    jpeg_quality: int = 95


@dataclass
class Summary:
    """What a run did: photos written, kept (output existed), failed; seconds of the pipeline; Ctrl-C or not."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    interrupted: bool = False


@dataclass(frozen=True)
class Written:
    """What the pipeline reports for a photo it wrote: its size and the seconds from decoding to written."""

    width: int
    height: int
    seconds: float


@dataclass
class _Item:
    job: Job
    pixels: np.ndarray
    L: np.ndarray
    preview: np.ndarray | None
    started: float
    hint: np.ndarray | None = None
    original: np.ndarray | None = None  # a colour photo's own colours, for --compare

    @property
    def cost(self) -> int:
        """Bytes this photo holds until written: its pixels, plus a new output buffer for a gray photo."""
        return self.pixels.nbytes * (1 if self.pixels.ndim == 3 else 4)


def _decode(model: Colorizer, job: Job) -> _Item:
    started = time.perf_counter()
    pixels = read_photo(job.src).pixels
    preview = gray_preview(pixels, COMPARE_MAX_SIDE) if job.compare else None
    original = colour_original(pixels, COMPARE_MAX_SIDE) if job.compare else None
    size = (pixels.shape[1], pixels.shape[0])
    maps = hint_batch([job.hints], [size], model.size, model.follows_hints) if job.hints else None
    return _Item(job, pixels, model.prepare(pixels), preview, started, None if maps is None else maps[0], original)


def _finish(model: Colorizer, item: _Item, predicted: np.ndarray, quality: int) -> Written:
    h, w = item.pixels.shape[:2]
    pixels = item.pixels
    colour = model.finish(pixels, predicted, out=pixels if pixels.ndim == 3 else None)  # in place: no second copy
    if item.job.dst is not None:
        write_atomic(item.job.dst, encode_photo(colour, item.job.dst.suffix, quality))
    if item.job.compare is not None and item.preview is not None:
        pair = side_by_side(item.preview, colour, item.original)
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


def run_plan(
    plan: Plan,
    model: Colorizer,
    options: Options,
    on_done: Callable[[Job, Written], None] | None = None,
    on_fail: Callable[[Path, str], None] | None = None,
) -> Summary:
    """Colorize ``plan``'s jobs; conflicts count as failures. Ctrl-C stops the run and returns what was done.

    ``on_fail(path, reason)`` is told of every failure (without it, failures are logged as warnings).
    """
    summary = Summary(skipped=plan.skipped)

    def fail(path: Path, reason: str) -> None:
        summary.failed += 1
        if on_fail is None:
            log.warning("failed: %s: %s", path, reason)
        else:
            on_fail(path, reason)

    def done(job: Job, written: Written) -> None:
        summary.done += 1
        if on_done is not None:
            on_done(job, written)

    for path, reason in plan.conflicts:
        fail(path, reason)
    start = time.perf_counter()
    try:
        Pipeline(model, options, done, fail).run(plan.jobs)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.seconds = time.perf_counter() - start
    return summary


def colorize_path(
    inp: str | Path,
    out: str | Path,
    ckpt: str | Path,
    model_options: ModelOptions | None = None,
    overwrite: bool = False,
    options: Options | None = None,
) -> Summary:
    """``infer --in inp --out out --ckpt ckpt`` as a function: plan, load the model, run; returns the summary."""
    plan = make_plan(Path(inp), Path(out), overwrite=overwrite)
    model = (model_options or ModelOptions()).load(Path(ckpt))
    return run_plan(plan, model, options or Options())
