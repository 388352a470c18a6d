"""One ``infer`` run in one process or many (torchrun): each rank's share of the plan, its manifest rows, and
the counts of the whole run.

Every rank plans on its own (lists ``--in``, checks which outputs exist) and takes its share of the photos still to
do (:mod:`unet_resnet.batch.shard`, balanced by file size). The shares only agree when the plans do, so the
ranks compare a fingerprint of their plans before any photo is written; that collective is also the barrier that
keeps one rank's first outputs out of another rank's plan. Without torchrun the share is the whole plan.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import torch

from unet_resnet.batch.manifest import ManifestWriter, fold_parts
from unet_resnet.batch.pipeline import Options, Summary, Written, run_plan
from unet_resnet.batch.plan import Job, Plan
from unet_resnet.batch.shard import file_weight, share_of
from unet_resnet.runtime.distributed import DistInfo, all_reduce_sum

if TYPE_CHECKING:
    from unet_resnet.inference.colorizer import Colorizer

GROUP_TIMEOUT_MIN = 24 * 60.0
"""Process-group timeout of an inference run: a rank done with its share waits this long for the slowest one."""
MAX_DEFAULT_WORKERS = 16


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers() -> int:
    """Decode/encode threads of one process: the machine's CPUs shared among torchrun's processes on it."""
    local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, min(MAX_DEFAULT_WORKERS, usable_cpus() // local_processes))


def my_share(plan: Plan, info: DistInfo) -> Plan:
    """This rank's part of ``plan`` once every rank has planned the same (a collective: every rank calls it)."""
    weights = [file_weight(job.src) for job in plan.jobs]
    check_same_plan(plan, weights, info)
    return share_plan(plan, weights, info.rank, info.world_size)


def plan_fingerprint(plan: Plan, weights: list[int]) -> int:
    """48 bits of a hash of everything that decides the shares: the jobs, their weights, the rest's counts."""
    h = hashlib.sha256()
    for job, weight in zip(plan.jobs, weights, strict=True):
        h.update(f"{job.src}\0{job.dst}\0{job.compare}\0{weight}\n".encode())
    h.update(f"{plan.skipped} {len(plan.conflicts)}".encode())
    return int.from_bytes(h.digest()[:6], "little")


def check_same_plan(plan: Plan, weights: list[int], info: DistInfo) -> None:
    """Raise ``RuntimeError`` on every rank unless all ranks planned the same work (a collective: all must call)."""
    mine = plan_fingerprint(plan, weights)
    total = all_reduce_sum(torch.tensor([mine], dtype=torch.int64, device=info.device))
    if int(total.item()) != mine * info.world_size:
        raise RuntimeError(
            f"rank {info.rank}: the {info.world_size} processes see different photos or outputs (rank "
            f"{info.rank} plans {len(plan.jobs)} photos); every machine must see the same --in and --out (a shared "
            "folder) and nothing may change them while the run starts: run the command again"
        )


def share_plan(plan: Plan, weights: list[int], rank: int, world_size: int) -> Plan:
    """``rank``'s part of the plan: its share of the jobs (``weights``: one per job, :func:`file_weight`);
    rank 0 also reports the skipped and conflicting photos."""
    mine = share_of(weights, rank, world_size)
    jobs = [plan.jobs[i] for i in mine]
    if rank == 0:
        return replace(plan, jobs=jobs)
    return replace(plan, jobs=jobs, skipped=0, conflicts=[], kept=[])


def gather_counts(counts: dict[str, int], info: DistInfo) -> dict[str, int]:
    """``counts`` summed over all ranks (a collective: every rank calls it with the same keys, in the same order)."""
    keys = sorted(counts)
    summed = all_reduce_sum(torch.tensor([counts[k] for k in keys], dtype=torch.int64, device=info.device))
    return {k: int(v) for k, v in zip(keys, summed.tolist(), strict=True)}


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within this block SIGTERM raises ``KeyboardInterrupt``: torchrun stopping the other ranks when one dies (or
    a job scheduler's stop) ends the run as Ctrl-C does, with the photos in flight written and the manifest
    closed. Only the main thread can install it; elsewhere the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def start_share(plan: Plan, info: DistInfo, manifest: str | Path | None = None) -> Plan:
    """This rank's part of the run, fixed before any photo is written (a collective under torchrun).

    Rank 0 first checks the manifest (creating it if needed) and folds into it the parts a killed run left.
    """
    if manifest is not None and info.is_main:
        fold_parts(manifest)
    return my_share(plan, info) if info.distributed else plan


def run_share(
    share: Plan,
    model: Colorizer,
    options: Options,
    info: DistInfo,
    manifest: str | Path | None = None,
    on_done: Callable[[Job, Written], None] | None = None,
    on_fail: Callable[[Path, str], None] | None = None,
) -> Summary:
    """Colorize this rank's share with a manifest row for each of its photos; returns the counts of the whole run
    (summed over ranks: a collective, unless interrupted) and the seconds until the last rank was done.

    SIGTERM and Ctrl-C stop the run with the photos in flight written; the summary says ``interrupted`` (this
    rank's counts only, no collective: the other ranks are being stopped too).
    """
    writer = ManifestWriter(manifest, info.rank, info.world_size) if manifest is not None else None
    outputs = {job.src: job.dst or job.compare for job in share.jobs}

    def done(job: Job, written: Written) -> None:
        if writer:
            writer.written(job.src, job.dst or job.compare, written.width, written.height, written.seconds)
        if on_done is not None:
            on_done(job, written)

    def fail(path: Path, reason: str) -> None:
        if writer:
            writer.failed(path, outputs.get(path), reason)
        if on_fail is not None:
            on_fail(path, reason)

    start = time.perf_counter()
    try:
        if writer:
            for src, dst in share.kept:
                writer.skipped(src, dst, "output exists; --overwrite replaces")
        with stop_on_sigterm():  # torchrun stops the other ranks with SIGTERM when one dies
            summary = run_plan(share, model, options, done, fail)
    finally:
        if writer:
            writer.close()
    if summary.interrupted:
        return summary
    totals = gather_counts({"done": summary.done, "skipped": summary.skipped, "failed": summary.failed}, info)
    if manifest is not None and info.distributed and info.is_main:
        fold_parts(manifest)  # every rank has closed its part: the collective above waited for all
    seconds = time.perf_counter() - start
    return Summary(done=totals["done"], skipped=totals["skipped"], failed=totals["failed"], seconds=seconds)
